// The three services through a real in-process gRPC server on 127.0.0.1:0 over fake operations.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/api/access_service.h"
#include "server/api/customer_service.h"
#include "server/api/subscription_service.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/api/fake_operations.h"

namespace partner::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr char kCustomer[] = "3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
constexpr char kOtherCustomer[] = "11111111-2222-4333-8444-555555555555";
constexpr char kSub[] = "a1b2c3d4-0000-4000-8000-000000000001";

class ServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config::v1::CallerPolicy policy;
    config::v1::Caller* admin = policy.add_callers();
    admin->set_name("admin");
    admin->add_permissions("*");
    admin->add_bearer_token_sha256(auth::Sha256Hex("admin-token"));
    config::v1::Caller* reader = policy.add_callers();
    reader->set_name("reader");
    reader->add_permissions("customers.read");
    reader->add_permissions("access.read");
    reader->add_bearer_token_sha256(auth::Sha256Hex("reader-token"));
    config::v1::Caller* scoped = policy.add_callers();
    scoped->set_name("scoped");
    scoped->add_permissions("access.write");
    scoped->add_customer_allowlist(kCustomer);
    scoped->add_bearer_token_sha256(auth::Sha256Hex("scoped-token"));
    ServiceDeps deps;
    deps.operations = &ops_;
    deps.callers = *auth::CallerPolicy::Create(policy);
    deps.audit = &audit_;
    deps.page_tokens = &codec_;
    deps.metrics = &metrics_;
    deps.request_log = &request_log_;
    customers_ = std::make_unique<CustomerServiceImpl>(deps);
    subscriptions_ = std::make_unique<SubscriptionServiceImpl>(deps);
    access_ = std::make_unique<AccessServiceImpl>(deps);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(customers_.get());
    builder.RegisterService(subscriptions_.get());
    builder.RegisterService(access_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    customer_stub_ = v1::CustomerService::NewStub(channel);
    access_stub_ = v1::AccessService::NewStub(channel);
  }
  void TearDown() override { server_->Shutdown(); }

  static std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

  static google::rpc::ErrorInfo InfoOf(const grpc::Status& status) {
    google::rpc::Status details;
    google::rpc::ErrorInfo info;
    EXPECT_TRUE(details.ParseFromString(status.error_details()));
    for (const auto& any : details.details()) {
      if (any.UnpackTo(&info)) return info;
    }
    ADD_FAILURE() << "no ErrorInfo";
    return info;
  }

  FakeOperations ops_;
  MemoryAuditLog audit_;
  MemoryRequestLog request_log_;
  PageTokenCodec codec_{std::string(32, 'k')};
  Metrics metrics_;
  std::unique_ptr<CustomerServiceImpl> customers_;
  std::unique_ptr<SubscriptionServiceImpl> subscriptions_;
  std::unique_ptr<AccessServiceImpl> access_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::CustomerService::Stub> customer_stub_;
  std::unique_ptr<v1::AccessService::Stub> access_stub_;
};

TEST_F(ServicesTest, GetCustomerReturnsTheOperationsResult) {
  ops_.get_customer->mutable_customer()->set_company_name("Fabrikam");
  v1::GetCustomerRequest request;
  request.set_customer_id(kCustomer);
  v1::GetCustomerResponse response;
  auto context = As("reader-token");
  context->AddMetadata("x-correlation-id", "corr-123");
  grpc::Status status = customer_stub_->GetCustomer(context.get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.customer().company_name(), "Fabrikam");
  auto echoed = context->GetServerInitialMetadata().find("x-correlation-id");
  ASSERT_NE(echoed, context->GetServerInitialMetadata().end());
  EXPECT_EQ(std::string(echoed->second.data(), echoed->second.size()), "corr-123");
  absl::MutexLock lock(&request_log_.mu);
  ASSERT_EQ(request_log_.entries.size(), 1u);
  const RequestLogEntry& entry = request_log_.entries[0];
  EXPECT_EQ(entry.method, "GetCustomer");
  EXPECT_EQ(entry.code, "OK");
  EXPECT_EQ(entry.caller, "reader");
  EXPECT_EQ(entry.correlation_id, "corr-123");
  EXPECT_EQ(entry.request_id.size(), 36u);
  const std::string line = FormatRequestLogEntry(entry);
  EXPECT_THAT(line, HasSubstr("\"correlationId\":\"corr-123\""));
  EXPECT_THAT(line, ::testing::Not(HasSubstr("reader-token")));
}

TEST_F(ServicesTest, ACallWithoutACorrelationIdGetsAFreshGuidAsOneAndItsOwnRequestId) {
  ops_.get_customer->mutable_customer()->set_company_name("Fabrikam");
  v1::GetCustomerRequest request;
  request.set_customer_id(kCustomer);
  std::vector<std::string> correlations;
  for (int i = 0; i < 2; ++i) {
    v1::GetCustomerResponse response;
    auto context = As("reader-token");
    ASSERT_TRUE(customer_stub_->GetCustomer(context.get(), request, &response).ok());
    auto echoed = context->GetServerInitialMetadata().find("x-correlation-id");
    ASSERT_NE(echoed, context->GetServerInitialMetadata().end());
    correlations.emplace_back(echoed->second.data(), echoed->second.size());
  }
  const auto guid = ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  EXPECT_THAT(correlations, ElementsAre(guid, guid));
  EXPECT_NE(correlations[0], correlations[1]);
  absl::MutexLock lock(&request_log_.mu);
  ASSERT_EQ(request_log_.entries.size(), 2u);
  for (const RequestLogEntry& entry : request_log_.entries) {
    EXPECT_THAT(entry.request_id, guid);
    EXPECT_NE(entry.request_id, entry.correlation_id);
  }
}

TEST_F(ServicesTest, BadInputIsInvalidArgumentWithDetailsAndNoOperation) {
  v1::GetCustomerRequest request;
  request.set_customer_id("../../customers");
  v1::GetCustomerResponse response;
  auto context = As("reader-token");
  context->AddMetadata("x-correlation-id", "corr-9");
  grpc::Status status = customer_stub_->GetCustomer(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::ErrorInfo info = InfoOf(status);
  EXPECT_EQ(info.domain(), "partner-gateway.v1");
  EXPECT_EQ(info.reason(), "ERROR_REASON_INVALID_FIELD");
  EXPECT_EQ(info.metadata().at("field"), "customer_id");
  EXPECT_EQ(info.metadata().at("correlationId"), "corr-9");
  EXPECT_TRUE(ops_.calls.empty());
}

TEST_F(ServicesTest, UnauthenticatedAndUnauthorizedCallers) {
  v1::GetCustomerRequest request;
  request.set_customer_id(kCustomer);
  v1::GetCustomerResponse response;
  grpc::Status status = customer_stub_->GetCustomer(As("").get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(InfoOf(status).reason(), "ERROR_REASON_UNAUTHENTICATED");

  v1::AssignRoleRequest assign;
  assign.set_customer_id(kCustomer);
  assign.set_azure_subscription_id(kSub);
  assign.mutable_principal()->set_object_id(kSub);
  assign.mutable_role()->set_role_name("Reader");
  v1::AssignRoleResponse assigned;
  status = access_stub_->AssignRole(As("reader-token").get(), assign, &assigned);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(InfoOf(status).reason(), "ERROR_REASON_CALLER_NOT_PERMITTED");
  assign.set_customer_id(kOtherCustomer);
  status = access_stub_->AssignRole(As("scoped-token").get(), assign, &assigned);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(ops_.calls.empty());
  // Both denied mutations are in the audit log.
  ASSERT_EQ(audit_.records.size(), 2u);
  EXPECT_EQ(audit_.records[0].caller, "reader");
  EXPECT_EQ(audit_.records[0].outcome, "PERMISSION_DENIED");
  EXPECT_EQ(audit_.records[1].caller, "scoped");
}

TEST_F(ServicesTest, AssignRoleIsAuditedBeforeAndAfterAndFailsClosed) {
  ops_.assign_role->mutable_role_assignment()->set_role_assignment_id("/subscriptions/x/ra");
  v1::AssignRoleRequest assign;
  assign.set_customer_id(kCustomer);
  assign.set_azure_subscription_id(kSub);
  assign.mutable_principal()->set_user_principal_name("mila@fabrikam.com");
  assign.mutable_role()->set_role_name("Reader");
  v1::AssignRoleResponse assigned;
  grpc::Status status = access_stub_->AssignRole(As("scoped-token").get(), assign, &assigned);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(audit_.records.size(), 2u);
  EXPECT_EQ(audit_.records[0].outcome, "STARTED");
  EXPECT_EQ(audit_.records[1].outcome, "OK");
  EXPECT_EQ(audit_.records[1].principal, "mila@fabrikam.com");
  EXPECT_EQ(audit_.records[1].scope, std::string("/subscriptions/") + kSub);
  EXPECT_THAT(audit_.records[1].detail, HasSubstr("/subscriptions/x/ra"));
  EXPECT_FALSE(audit_.records[1].request_id.empty());

  audit_.fail = absl::UnavailableError("disk full");
  ops_.calls.clear();
  status = access_stub_->AssignRole(As("scoped-token").get(), assign, &assigned);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(ops_.calls.empty()) << "nothing may change when the audit log is down";
}

TEST_F(ServicesTest, OperationErrorsMapToCodesAndReasons) {
  ops_.get_customer = absl::NotFoundError("customer 3f2c... not found");
  v1::GetCustomerRequest request;
  request.set_customer_id(kCustomer);
  v1::GetCustomerResponse response;
  grpc::Status status = customer_stub_->GetCustomer(As("admin-token").get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(InfoOf(status).reason(), "ERROR_REASON_NOT_FOUND");
}

TEST_F(ServicesTest, PageTokensAreOpaqueBoundAndTamperProof) {
  ops_.list_customers->set_next_page_token("upstream-continuation");
  v1::ListCustomersRequest request;
  request.set_company_name_prefix("Fab");
  v1::ListCustomersResponse page;
  ASSERT_TRUE(customer_stub_->ListCustomers(As("reader-token").get(), request, &page).ok());
  const std::string token = page.next_page_token();
  EXPECT_NE(token, "upstream-continuation");
  EXPECT_FALSE(token.empty());

  request.set_page_token(token);
  ASSERT_TRUE(customer_stub_->ListCustomers(As("reader-token").get(), request, &page).ok());
  EXPECT_THAT(ops_.page_tokens_seen, ElementsAre("", "upstream-continuation"));

  v1::ListCustomersRequest other = request;
  other.set_company_name_prefix("Contoso");
  grpc::Status status = customer_stub_->ListCustomers(As("reader-token").get(), other, &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(InfoOf(status).reason(), "ERROR_REASON_INVALID_PAGE_TOKEN");
  std::string tampered = token;
  tampered[5] = tampered[5] == 'a' ? 'b' : 'a';
  request.set_page_token(tampered);
  status = customer_stub_->ListCustomers(As("reader-token").get(), request, &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ops_.page_tokens_seen.size(), 2u);
}

TEST_F(ServicesTest, UserSearchPageTokensStayBoundToTheSearchPrefixIgnoringCase) {
  ops_.list_customer_users->set_next_page_token("https://graph.example/v1.0/users?$skiptoken=1");
  v1::ListCustomerUsersRequest request;
  request.set_customer_id(kCustomer);
  request.set_search_prefix("O'Br");
  v1::ListCustomerUsersResponse page;
  ASSERT_TRUE(customer_stub_->ListCustomerUsers(As("reader-token").get(), request, &page).ok());
  ASSERT_FALSE(page.next_page_token().empty());

  request.set_page_token(page.next_page_token());
  request.set_search_prefix("o'bR");
  ASSERT_TRUE(customer_stub_->ListCustomerUsers(As("reader-token").get(), request, &page).ok());
  ASSERT_EQ(ops_.user_list_requests.size(), 2u);
  EXPECT_EQ(ops_.user_list_requests[0].search_prefix(), "O'Br");
  EXPECT_EQ(ops_.user_list_requests[0].page_token(), "");
  EXPECT_EQ(ops_.user_list_requests[1].page_token(), "https://graph.example/v1.0/users?$skiptoken=1");

  for (const char* other : {"O'Bra", ""}) {
    request.set_search_prefix(other);
    grpc::Status status = customer_stub_->ListCustomerUsers(As("reader-token").get(), request, &page);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << other;
    EXPECT_EQ(InfoOf(status).reason(), "ERROR_REASON_INVALID_PAGE_TOKEN") << other;
  }
  v1::ListCustomerUsersRequest unsearched;
  unsearched.set_customer_id(kCustomer);
  ASSERT_TRUE(customer_stub_->ListCustomerUsers(As("reader-token").get(), unsearched, &page).ok());
  unsearched.set_page_token(page.next_page_token());
  unsearched.set_search_prefix("O");
  EXPECT_EQ(customer_stub_->ListCustomerUsers(As("reader-token").get(), unsearched, &page).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT)
      << "a token of the unsearched list does not continue a search";
  EXPECT_EQ(ops_.user_list_requests.size(), 3u);
}

TEST_F(ServicesTest, BadUserSearchPrefixesAreRefusedNamingTheField) {
  v1::ListCustomerUsersRequest request;
  request.set_customer_id(kCustomer);
  v1::ListCustomerUsersResponse page;
  for (const std::string& bad : {std::string(257, 'a'), std::string("a\tb")}) {
    request.set_search_prefix(bad);
    grpc::Status status = customer_stub_->ListCustomerUsers(As("reader-token").get(), request, &page);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("search_prefix"));
  }
  EXPECT_TRUE(ops_.user_list_requests.empty());
  request.set_search_prefix(std::string(256, 'a'));
  EXPECT_TRUE(customer_stub_->ListCustomerUsers(As("reader-token").get(), request, &page).ok());
}

TEST_F(ServicesTest, BatchStreamsOneResultPerItemThenTheSummary) {
  v1::BatchAssignRolesRequest request;
  for (const char* description : {"", "existing", "fail", "invalid", "other-customer"}) {
    v1::AssignRoleRequest* item = request.add_items();
    item->set_customer_id(std::string(description) == "other-customer" ? kOtherCustomer : kCustomer);
    item->set_azure_subscription_id(std::string(description) == "invalid" ? "nope" : kSub);
    item->mutable_principal()->set_object_id(kSub);
    item->mutable_role()->set_role_name("Reader");
    item->set_description(description);
  }
  auto context = As("scoped-token");
  auto reader = access_stub_->BatchAssignRoles(context.get(), request);
  std::map<int, v1::BatchAssignRoleResult> results;
  v1::BatchAssignRolesSummary summary;
  int summaries = 0;
  v1::BatchAssignRolesResponse message;
  while (reader->Read(&message)) {
    if (message.has_item()) {
      results[message.item().index()] = message.item();
    } else {
      summary = message.summary();
      ++summaries;
    }
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(summaries, 1);
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0].error_code(), 0);
  EXPECT_FALSE(results[0].response().already_existed());
  EXPECT_TRUE(results[1].response().already_existed());
  EXPECT_EQ(results[2].error_code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(results[3].error_code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(results[3].error_message(), HasSubstr("items[3].azure_subscription_id"));
  EXPECT_EQ(results[3].error_reason(), "ERROR_REASON_INVALID_FIELD");
  EXPECT_EQ(results[4].error_code(), static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(summary.created(), 1);
  EXPECT_EQ(summary.already_existed(), 1);
  EXPECT_EQ(summary.failed(), 3);
  EXPECT_EQ(summary.not_started(), 0);
}

TEST_F(ServicesTest, BatchItemsDoNotHoldTheDeliveringThreadWhileTheirRecordsAreWritten) {
  v1::BatchAssignRolesRequest request;
  for (const char* description : {"", "existing", "fail"}) {
    v1::AssignRoleRequest* item = request.add_items();
    item->set_customer_id(kCustomer);
    item->set_azure_subscription_id(kSub);
    item->mutable_principal()->set_object_id(kSub);
    item->mutable_role()->set_role_name("Reader");
    item->set_description(description);
  }
  {
    absl::MutexLock lock(&audit_.mu);
    audit_.hold = true;
  }
  auto context = As("scoped-token");
  auto reader = access_stub_->BatchAssignRoles(context.get(), request);
  // The operations deliver items on a thread of theirs, as the transport's loop does: it must
  // go on to its other work while the records are still on their way to disk.
  const bool delivered = ops_.batch_delivered.WaitForNotificationWithTimeout(absl::Seconds(10));
  {
    absl::MutexLock lock(&audit_.mu);
    EXPECT_EQ(audit_.held.size(), 3u);
    EXPECT_TRUE(audit_.records.empty());
  }
  audit_.Release();
  ASSERT_TRUE(delivered) << "an item's audit record held the thread that delivered it";
  std::map<int, v1::BatchAssignRoleResult> results;
  std::optional<v1::BatchAssignRolesSummary> summary;
  v1::BatchAssignRolesResponse message;
  while (reader->Read(&message)) {
    if (message.has_item()) {
      EXPECT_FALSE(summary.has_value()) << "a result came after the summary";
      results[message.item().index()] = message.item();
    } else {
      summary = message.summary();
    }
  }
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[2].error_code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(summary->created(), 1);
  EXPECT_EQ(summary->already_existed(), 1);
  EXPECT_EQ(summary->failed(), 1);
  absl::MutexLock lock(&audit_.mu);
  EXPECT_EQ(audit_.records.size(), 3u);
}

TEST_F(ServicesTest, ABatchItemWhoseRecordCannotBeWrittenFailsClosed) {
  v1::BatchAssignRolesRequest request;
  v1::AssignRoleRequest* item = request.add_items();
  item->set_customer_id(kCustomer);
  item->set_azure_subscription_id(kSub);
  item->mutable_principal()->set_object_id(kSub);
  item->mutable_role()->set_role_name("Reader");
  {
    absl::MutexLock lock(&audit_.mu);
    audit_.fail = absl::UnavailableError("disk full");
  }
  auto context = As("scoped-token");
  auto reader = access_stub_->BatchAssignRoles(context.get(), request);
  std::vector<v1::BatchAssignRolesResponse> messages;
  for (v1::BatchAssignRolesResponse message; reader->Read(&message);) messages.push_back(message);
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].item().error_code(), static_cast<int>(grpc::StatusCode::UNAVAILABLE));
  EXPECT_THAT(messages[0].item().error_message(), HasSubstr("disk full"));
  EXPECT_EQ(messages[1].summary().created(), 0);
  EXPECT_EQ(messages[1].summary().failed(), 1);
}

TEST_F(ServicesTest, EmptyBatchIsInvalidArgument) {
  auto context = As("scoped-token");
  auto reader = access_stub_->BatchAssignRoles(context.get(), v1::BatchAssignRolesRequest());
  v1::BatchAssignRolesResponse message;
  EXPECT_FALSE(reader->Read(&message));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// proto3 cannot parse a string holding invalid UTF-8; the call still goes through authentication,
// the request log and metrics, and is refused naming the field.
TEST_F(ServicesTest, InvalidUtf8IsInvalidArgumentNamingTheField) {
  v1::GetCustomerRequest request;
  request.set_customer_id(std::string(kCustomer) + "\xFF");
  v1::GetCustomerResponse response;
  auto context = As("reader-token");
  context->AddMetadata("x-correlation-id", "corr-utf8");
  grpc::Status status = customer_stub_->GetCustomer(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "customer_id: not valid UTF-8");
  google::rpc::ErrorInfo info = InfoOf(status);
  EXPECT_EQ(info.reason(), "ERROR_REASON_INVALID_FIELD");
  EXPECT_EQ(info.metadata().at("field"), "customer_id");
  EXPECT_EQ(info.metadata().at("correlationId"), "corr-utf8");
  EXPECT_TRUE(ops_.calls.empty());
  absl::MutexLock lock(&request_log_.mu);
  ASSERT_EQ(request_log_.entries.size(), 1u);
  EXPECT_EQ(request_log_.entries[0].method, "GetCustomer");
  EXPECT_EQ(request_log_.entries[0].code, "INVALID_ARGUMENT");
  EXPECT_EQ(request_log_.entries[0].caller, "reader");
}

TEST_F(ServicesTest, InvalidUtf8FromAnUnauthenticatedCallerIsUnauthenticatedAndAudited) {
  v1::AssignRoleRequest request;
  request.set_customer_id(kCustomer);
  request.set_azure_subscription_id(kSub);
  request.mutable_principal()->set_user_principal_name("mila\xC0\xAF@fabrikam.com");
  request.mutable_role()->set_role_name("Reader");
  v1::AssignRoleResponse response;
  grpc::Status status = access_stub_->AssignRole(As("").get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(ops_.calls.empty());
  absl::MutexLock lock(&audit_.mu);
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(audit_.records[0].method, "AssignRole");
  EXPECT_EQ(audit_.records[0].caller, "unauthenticated");
  EXPECT_EQ(audit_.records[0].outcome, "UNAUTHENTICATED");
}

TEST_F(ServicesTest, InvalidUtf8InABatchItemRefusesTheStream) {
  v1::BatchAssignRolesRequest request;
  for (const char* role : {"Reader", "Rea\xED\xA0\x80"}) {
    v1::AssignRoleRequest* item = request.add_items();
    item->set_customer_id(kCustomer);
    item->set_azure_subscription_id(kSub);
    item->mutable_principal()->set_object_id(kSub);
    item->mutable_role()->set_role_name(role);
  }
  auto context = As("scoped-token");
  auto reader = access_stub_->BatchAssignRoles(context.get(), request);
  v1::BatchAssignRolesResponse message;
  EXPECT_FALSE(reader->Read(&message));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "items[1].role.role_name: not valid UTF-8");
  EXPECT_EQ(InfoOf(status).metadata().at("field"), "items[1].role.role_name");
  EXPECT_TRUE(ops_.calls.empty());
}

}  // namespace
}  // namespace partner::api
