#include "server/api/reflection_service.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"

namespace partner::api {
namespace {

using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;

using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;

void SetError(grpc::StatusCode code, const std::string& message, ServerReflectionResponse& response) {
  response.mutable_error_response()->set_error_code(code);
  response.mutable_error_response()->set_error_message(message);
}

// The file first, then what it imports, depth first, each file once: the order libgrpc++'s
// reflection used, which clients resolve in any case by name.
void AddFileAndImports(const FileDescriptor& file, std::unordered_set<std::string>& added,
                       ServerReflectionResponse& response) {
  if (!added.insert(file.name()).second) return;
  google::protobuf::FileDescriptorProto proto;
  file.CopyTo(&proto);
  proto.SerializeToString(response.mutable_file_descriptor_response()->add_file_descriptor_proto());
  for (int i = 0; i < file.dependency_count(); ++i) AddFileAndImports(*file.dependency(i), added, response);
}

void AnswerWithFile(const FileDescriptor& file, ServerReflectionResponse& response) {
  std::unordered_set<std::string> added;
  AddFileAndImports(file, added, response);
}

// Every file compiled into the binary is in the generated pool, so the answers describe exactly
// the messages the server can parse.
void Answer(const ServerReflectionRequest& request, const std::vector<std::string>& listed_services,
            ServerReflectionResponse& response) {
  const DescriptorPool& pool = *DescriptorPool::generated_pool();
  switch (request.message_request_case()) {
    case ServerReflectionRequest::kFileByFilename: {
      const FileDescriptor* file = pool.FindFileByName(request.file_by_filename());
      if (file == nullptr) {
        SetError(grpc::StatusCode::NOT_FOUND, absl::StrCat("file \"", request.file_by_filename(), "\" not found"),
                 response);
        return;
      }
      AnswerWithFile(*file, response);
      return;
    }
    case ServerReflectionRequest::kFileContainingSymbol: {
      const FileDescriptor* file = pool.FindFileContainingSymbol(request.file_containing_symbol());
      if (file == nullptr) {
        SetError(grpc::StatusCode::NOT_FOUND,
                 absl::StrCat("symbol \"", request.file_containing_symbol(), "\" not found"), response);
        return;
      }
      AnswerWithFile(*file, response);
      return;
    }
    case ServerReflectionRequest::kFileContainingExtension: {
      const std::string& type_name = request.file_containing_extension().containing_type();
      const int number = request.file_containing_extension().extension_number();
      const google::protobuf::Descriptor* type = pool.FindMessageTypeByName(type_name);
      if (type == nullptr) {
        SetError(grpc::StatusCode::NOT_FOUND, absl::StrCat("message type \"", type_name, "\" not found"), response);
        return;
      }
      const google::protobuf::FieldDescriptor* extension = pool.FindExtensionByNumber(type, number);
      if (extension == nullptr) {
        SetError(grpc::StatusCode::NOT_FOUND,
                 absl::StrCat("extension ", number, " of message type \"", type_name, "\" not found"), response);
        return;
      }
      AnswerWithFile(*extension->file(), response);
      return;
    }
    case ServerReflectionRequest::kAllExtensionNumbersOfType: {
      const std::string& type_name = request.all_extension_numbers_of_type();
      const google::protobuf::Descriptor* type = pool.FindMessageTypeByName(type_name);
      if (type == nullptr) {
        SetError(grpc::StatusCode::NOT_FOUND, absl::StrCat("message type \"", type_name, "\" not found"), response);
        return;
      }
      std::vector<const google::protobuf::FieldDescriptor*> extensions;
      pool.FindAllExtensions(type, &extensions);
      grpc::reflection::v1alpha::ExtensionNumberResponse& numbers = *response.mutable_all_extension_numbers_response();
      numbers.set_base_type_name(type_name);
      for (const google::protobuf::FieldDescriptor* extension : extensions) {
        numbers.add_extension_number(extension->number());
      }
      return;
    }
    case ServerReflectionRequest::kListServices:
      for (const std::string& name : listed_services) {
        response.mutable_list_services_response()->add_service()->set_name(name);
      }
      return;
    case ServerReflectionRequest::MESSAGE_REQUEST_NOT_SET:
      break;
  }
  // Also what a newer client's request kind looks like to this server, hence UNIMPLEMENTED (as
  // libgrpc++'s reflection answered) rather than INVALID_ARGUMENT.
  SetError(grpc::StatusCode::UNIMPLEMENTED,
           "the request sets none of file_by_filename, file_containing_symbol, file_containing_extension, "
           "all_extension_numbers_of_type, list_services",
           response);
}

// One ServerReflectionInfo call. Reading and writing alternate: the next request is read only once
// the previous response is written, so one write at most is outstanding and a client that sends
// without reading is held back by flow control instead of growing a queue here. Nothing else runs
// concurrently with a read or write callback, so the reactor needs no lock.
class ReflectionStream final
    : public grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse> {
 public:
  explicit ReflectionStream(const std::vector<std::string>& listed_services) : listed_services_(listed_services) {
    StartRead(&request_);
  }

  // Not ok: the client half-closed, or the call was cancelled (client gone, server shutting down);
  // either way no request is left to answer.
  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    response_.Clear();
    Answer(request_, listed_services_, response_);
    response_.set_valid_host(request_.host());
    *response_.mutable_original_request() = request_;
    StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      // The call is already over for the client; this status never reaches it.
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the reflection client went away"));
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  const std::vector<std::string>& listed_services_;
  ServerReflectionRequest request_;
  ServerReflectionResponse response_;
};

}  // namespace

ServerReflectionService::ServerReflectionService(std::vector<std::string> other_services)
    : listed_services_(std::move(other_services)) {
  listed_services_.push_back(grpc::reflection::v1alpha::ServerReflection::service_full_name());
}

grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse>*
ServerReflectionService::ServerReflectionInfo(grpc::CallbackServerContext*) {
  return new ReflectionStream(listed_services_);
}

}  // namespace partner::api
