// grpc.reflection.v1alpha as ServerReflectionService serves it, over a real in-process server on
// an ephemeral port, with the bidi client any reflection tool uses.
#include "server/api/reflection_service.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "partner/v1/access_service.pb.h"
#include "reflection_test_extensions.pb.h"

namespace partner::api {
namespace {

namespace reflection = grpc::reflection::v1alpha;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr int kNotFound = 5;
constexpr int kUnimplemented = 12;
const std::vector<std::string> kAccessServiceFiles = {
    "partner/v1/access_service.proto", "partner/v1/resources.proto", "google/protobuf/timestamp.proto"};

reflection::ServerReflectionRequest ListServices() {
  reflection::ServerReflectionRequest request;
  request.set_list_services("");
  return request;
}

reflection::ServerReflectionRequest FileContainingSymbol(const std::string& symbol) {
  reflection::ServerReflectionRequest request;
  request.set_file_containing_symbol(symbol);
  return request;
}

reflection::ServerReflectionRequest FileByFilename(const std::string& name) {
  reflection::ServerReflectionRequest request;
  request.set_file_by_filename(name);
  return request;
}

reflection::ServerReflectionRequest FileContainingExtension(const std::string& type, int number) {
  reflection::ServerReflectionRequest request;
  request.mutable_file_containing_extension()->set_containing_type(type);
  request.mutable_file_containing_extension()->set_extension_number(number);
  return request;
}

reflection::ServerReflectionRequest AllExtensionNumbersOf(const std::string& type) {
  reflection::ServerReflectionRequest request;
  request.set_all_extension_numbers_of_type(type);
  return request;
}

std::vector<std::string> FileNames(const reflection::ServerReflectionResponse& response) {
  std::vector<std::string> names;
  for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    EXPECT_TRUE(file.ParseFromString(bytes));
    names.push_back(file.name());
  }
  return names;
}

std::vector<std::string> ServiceNames(const reflection::ServerReflectionResponse& response) {
  std::vector<std::string> names;
  for (const reflection::ServiceResponse& service : response.list_services_response().service()) {
    names.push_back(service.name());
  }
  return names;
}

// One ServerReflectionInfo call, driven a message at a time.
class ReflectionCall {
 public:
  explicit ReflectionCall(reflection::ServerReflection::Stub& stub) {
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    stream_ = stub.ServerReflectionInfo(&context_);
  }

  bool Send(const reflection::ServerReflectionRequest& request) { return stream_->Write(request); }

  reflection::ServerReflectionResponse Receive() {
    reflection::ServerReflectionResponse response;
    EXPECT_TRUE(stream_->Read(&response)) << "the stream ended before answering";
    return response;
  }

  reflection::ServerReflectionResponse Ask(const reflection::ServerReflectionRequest& request) {
    EXPECT_TRUE(Send(request));
    return Receive();
  }

  // Half-closes, then expects no further response and the call's status.
  grpc::Status HalfCloseAndFinish() {
    EXPECT_TRUE(stream_->WritesDone());
    reflection::ServerReflectionResponse unexpected;
    EXPECT_FALSE(stream_->Read(&unexpected)) << unexpected.DebugString();
    return stream_->Finish();
  }

  // The call after the server ended it on its own.
  grpc::Status EndedByServer() {
    reflection::ServerReflectionResponse unexpected;
    EXPECT_FALSE(stream_->Read(&unexpected)) << unexpected.DebugString();
    return stream_->Finish();
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<reflection::ServerReflectionRequest, reflection::ServerReflectionResponse>>
      stream_;
};

class ReflectionServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    stub_ = reflection::ServerReflection::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  ServerReflectionService service_{{"partner.v1.AccessService", "grpc.health.v1.Health"}};
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<reflection::ServerReflection::Stub> stub_;
};

TEST_F(ReflectionServiceTest, ListServicesNamesTheGivenServicesThenItselfAndEchoesTheRequest) {
  ReflectionCall call(*stub_);
  reflection::ServerReflectionRequest request = ListServices();
  request.set_host("gateway.example:443");

  const reflection::ServerReflectionResponse response = call.Ask(request);

  EXPECT_THAT(ServiceNames(response), ElementsAre("partner.v1.AccessService", "grpc.health.v1.Health",
                                                  "grpc.reflection.v1alpha.ServerReflection"));
  EXPECT_EQ(response.valid_host(), "gateway.example:443");
  EXPECT_EQ(response.original_request().SerializeAsString(), request.SerializeAsString());
  EXPECT_TRUE(call.HalfCloseAndFinish().ok());
}

TEST_F(ReflectionServiceTest, FileContainingAServiceCarriesItsFileFirstThenEveryImport) {
  ReflectionCall call(*stub_);

  const reflection::ServerReflectionResponse response = call.Ask(FileContainingSymbol("partner.v1.AccessService"));

  ASSERT_EQ(response.message_response_case(), reflection::ServerReflectionResponse::kFileDescriptorResponse)
      << response.DebugString();
  EXPECT_EQ(FileNames(response), kAccessServiceFiles);
  google::protobuf::FileDescriptorProto compiled;
  v1::AssignRoleRequest::descriptor()->file()->CopyTo(&compiled);
  EXPECT_EQ(response.file_descriptor_response().file_descriptor_proto(0), compiled.SerializeAsString());
  EXPECT_TRUE(call.HalfCloseAndFinish().ok());
}

TEST_F(ReflectionServiceTest, FileContainingSymbolFindsMethodsMessagesFieldsEnumsAndEnumValues) {
  ReflectionCall call(*stub_);
  for (const char* symbol : {"partner.v1.AccessService.AssignRole", "partner.v1.AssignRoleRequest"}) {
    EXPECT_EQ(FileNames(call.Ask(FileContainingSymbol(symbol))), kAccessServiceFiles) << symbol;
  }
  for (const char* symbol : {"partner.v1.Customer", "partner.v1.Customer.company_name",
                             "partner.v1.CustomerRelationship", "partner.v1.CUSTOMER_RELATIONSHIP_RESELLER"}) {
    EXPECT_THAT(FileNames(call.Ask(FileContainingSymbol(symbol))),
                ElementsAre("partner/v1/resources.proto", "google/protobuf/timestamp.proto"))
        << symbol;
  }
  EXPECT_TRUE(call.HalfCloseAndFinish().ok());
}

TEST_F(ReflectionServiceTest, FileByFilenameCarriesEachImportOnceEvenWhenReachedTwice) {
  ReflectionCall call(*stub_);

  EXPECT_EQ(FileNames(call.Ask(FileByFilename("partner/v1/access_service.proto"))), kAccessServiceFiles);
  // api.proto imports source_context.proto both directly and through type.proto.
  const std::vector<std::string> api = FileNames(call.Ask(FileByFilename("google/protobuf/api.proto")));
  EXPECT_THAT(api, UnorderedElementsAre("google/protobuf/api.proto", "google/protobuf/source_context.proto",
                                        "google/protobuf/type.proto", "google/protobuf/any.proto"));
  ASSERT_FALSE(api.empty());
  EXPECT_EQ(api.front(), "google/protobuf/api.proto");
  EXPECT_TRUE(call.HalfCloseAndFinish().ok());
}

TEST_F(ReflectionServiceTest, ExtensionsAreFoundByContainingTypeAndNumber) {
  const int number = partner::testing::reflection::reflection_test_note.number();
  ReflectionCall call(*stub_);

  EXPECT_THAT(FileNames(call.Ask(FileContainingExtension("google.protobuf.MessageOptions", number))),
              ElementsAre("reflection_test_extensions.proto", "google/protobuf/descriptor.proto"));
  const reflection::ServerReflectionResponse numbers = call.Ask(AllExtensionNumbersOf("google.protobuf.MessageOptions"));
  EXPECT_EQ(numbers.all_extension_numbers_response().base_type_name(), "google.protobuf.MessageOptions");
  EXPECT_THAT(numbers.all_extension_numbers_response().extension_number(), Contains(number));
  const reflection::ServerReflectionResponse none = call.Ask(AllExtensionNumbersOf("partner.v1.Customer"));
  ASSERT_TRUE(none.has_all_extension_numbers_response()) << none.DebugString();
  EXPECT_EQ(none.all_extension_numbers_response().base_type_name(), "partner.v1.Customer");
  EXPECT_EQ(none.all_extension_numbers_response().extension_number_size(), 0);
  EXPECT_TRUE(call.HalfCloseAndFinish().ok());
}

TEST_F(ReflectionServiceTest, UnknownNamesAnswerNotFoundNamingThemAndTheStreamGoesOn) {
  struct Case {
    reflection::ServerReflectionRequest request;
    std::vector<std::string> named;
  };
  const std::vector<Case> cases = {
      {FileContainingSymbol("partner.v1.NoSuchService"), {"partner.v1.NoSuchService"}},
      {FileByFilename("partner/v1/no_such_file.proto"), {"partner/v1/no_such_file.proto"}},
      {AllExtensionNumbersOf("partner.v1.NoSuchMessage"), {"partner.v1.NoSuchMessage"}},
      {FileContainingExtension("partner.v1.NoSuchMessage", 7), {"partner.v1.NoSuchMessage"}},
      {FileContainingExtension("partner.v1.Customer", 999), {"999", "partner.v1.Customer"}},
  };
  ReflectionCall call(*stub_);
  for (const Case& c : cases) {
    const reflection::ServerReflectionResponse response = call.Ask(c.request);
    ASSERT_TRUE(response.has_error_response()) << response.DebugString();
    EXPECT_EQ(response.error_response().error_code(), kNotFound) << c.request.DebugString();
    for (const std::string& name : c.named) EXPECT_THAT(response.error_response().error_message(), HasSubstr(name));
    EXPECT_EQ(response.original_request().SerializeAsString(), c.request.SerializeAsString());
  }
  EXPECT_THAT(ServiceNames(call.Ask(ListServices())), Contains("partner.v1.AccessService"));
  EXPECT_TRUE(call.HalfCloseAndFinish().ok());
}

TEST_F(ReflectionServiceTest, ARequestOfNoKnownKindAnswersUnimplemented) {
  ReflectionCall call(*stub_);
  reflection::ServerReflectionRequest empty;
  empty.set_host("h");

  const reflection::ServerReflectionResponse response = call.Ask(empty);

  EXPECT_EQ(response.error_response().error_code(), kUnimplemented) << response.DebugString();
  EXPECT_THAT(response.error_response().error_message(), HasSubstr("list_services"));
  EXPECT_EQ(response.valid_host(), "h");
  EXPECT_TRUE(call.HalfCloseAndFinish().ok());
}

TEST_F(ReflectionServiceTest, RequestsSentAheadOfTheAnswersAreAnsweredInOrder) {
  ReflectionCall call(*stub_);
  std::vector<reflection::ServerReflectionRequest> requests;
  for (int i = 0; i < 20; ++i) {
    requests.push_back(i % 2 == 0 ? FileContainingSymbol(absl::StrCat("partner.v1.Missing", i)) : ListServices());
    ASSERT_TRUE(call.Send(requests.back()));
  }
  for (const reflection::ServerReflectionRequest& request : requests) {
    const reflection::ServerReflectionResponse response = call.Receive();
    EXPECT_EQ(response.original_request().SerializeAsString(), request.SerializeAsString());
    EXPECT_EQ(response.has_error_response(), request.has_file_containing_symbol());
  }
  EXPECT_TRUE(call.HalfCloseAndFinish().ok());
}

TEST_F(ReflectionServiceTest, HalfClosingWithoutARequestEndsTheCallOk) {
  ReflectionCall call(*stub_);
  EXPECT_TRUE(call.HalfCloseAndFinish().ok());
}

TEST_F(ReflectionServiceTest, ShutdownWithADeadlineEndsAnOpenStream) {
  ReflectionCall call(*stub_);
  ASSERT_TRUE(call.Ask(ListServices()).has_list_services_response());

  const auto started = std::chrono::steady_clock::now();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  server_->Wait();
  // Only "does not hang until the client gives up": the call's own deadline is 30 s.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_FALSE(call.EndedByServer().ok());
  server_.reset();
}

}  // namespace
}  // namespace partner::api
