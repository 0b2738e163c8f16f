// The whole gateway stack in process: real gRPC listener on 127.0.0.1:0 -> api handlers ->
// operations -> stateful fake upstream ports, for every RPC of the acceptance list that does not
// need the real upstream wire (the emulator covers that).
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/api/access_service.h"
#include "server/api/customer_service.h"
#include "server/api/subscription_service.h"
#include "server/ops/gateway_operations.h"
#include "tests/unit/api/fake_operations.h"
#include "tests/unit/ops/fake_ports.h"

namespace partner {
namespace {

using ::testing::HasSubstr;

constexpr char kCustomer[] = "3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
constexpr char kPlan[] = "A1B2C3D4-0000-4000-8000-00000000AAAA";
constexpr char kAzure[] = "a1b2c3d4-0000-4000-8000-000000000001";
constexpr char kUserId[] = "e5a7c0de-0000-4000-8000-000000000001";
constexpr char kUpn[] = "mila.berg@fabrikam.onmicrosoft.com";
constexpr char kReader[] = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

class GatewayStackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 12; ++i) {
      pc_.customers.push_back({absl::StrFormat("3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e%02d", i),
                               absl::StrCat("Company ", i), absl::StrCat("c", i, ".onmicrosoft.com"), "reseller", {}});
    }
    pc_.customers[0].id = kCustomer;
    pc_.subscriptions[kCustomer] = {{kPlan, "DZH318Z0BPS6:0001:DZH318Z0BML6", "Azure plan", "Plan", 1, "active", {}}};
    pc_.entitlements[kPlan] = {{kAzure, "Production", "active"}};
    const std::string scope = absl::StrCat("/subscriptions/", kAzure);
    arm_.definitions[scope] = {{absl::StrCat(scope, "/providers/Microsoft.Authorization/roleDefinitions/", kReader),
                                "Reader", "BuiltInRole", "View"}};
    graph_.users[kCustomer] = {{kUserId, kUpn, "Mila Berg", ""}};
    // Deadlines come from the wall clock (the api layer), so the fake clock starts there.
    clock_.now = absl::Now();
    ops_ = ops::MakeGatewayOperations(pc_, arm_, graph_, clock_, {});

    config::v1::CallerPolicy policy;
    config::v1::Caller* admin = policy.add_callers();
    admin->set_name("admin");
    admin->add_permissions("*");
    admin->add_bearer_token_sha256(auth::Sha256Hex("admin"));
    config::v1::Caller* reader = policy.add_callers();
    reader->set_name("reader");
    reader->add_permissions("customers.read");
    reader->add_bearer_token_sha256(auth::Sha256Hex("reader"));
    api::ServiceDeps deps{ops_.get(), *auth::CallerPolicy::Create(policy), &audit_, &codec_, &metrics_};
    customers_ = std::make_unique<api::CustomerServiceImpl>(deps);
    subscriptions_ = std::make_unique<api::SubscriptionServiceImpl>(deps);
    access_ = std::make_unique<api::AccessServiceImpl>(deps);
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
    subscription_stub_ = v1::SubscriptionService::NewStub(channel);
    access_stub_ = v1::AccessService::NewStub(channel);
  }
  void TearDown() override { server_->Shutdown(); }

  static std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }
  static std::string Reason(const grpc::Status& status) {
    google::rpc::Status details;
    google::rpc::ErrorInfo info;
    details.ParseFromString(status.error_details());
    for (const auto& any : details.details()) {
      if (any.UnpackTo(&info)) return info.reason();
    }
    return "";
  }
  int UpstreamCalls() const { return pc_.calls + arm_.calls + graph_.calls; }

  v1::AssignRoleRequest Assign() {
    v1::AssignRoleRequest r;
    r.set_customer_id(kCustomer);
    r.set_azure_subscription_id(kAzure);
    r.mutable_principal()->set_user_principal_name(kUpn);
    r.mutable_role()->set_role_name("reader");
    return r;
  }

  ops::testing::FakePartnerCenter pc_;
  ops::testing::FakeArm arm_;
  ops::testing::FakeGraph graph_;
  ops::testing::FakeClock clock_;
  std::unique_ptr<ops::Operations> ops_;
  api::MemoryAuditLog audit_;
  api::PageTokenCodec codec_{std::string(32, 'k')};
  api::Metrics metrics_;
  std::unique_ptr<api::CustomerServiceImpl> customers_;
  std::unique_ptr<api::SubscriptionServiceImpl> subscriptions_;
  std::unique_ptr<api::AccessServiceImpl> access_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::CustomerService::Stub> customer_stub_;
  std::unique_ptr<v1::SubscriptionService::Stub> subscription_stub_;
  std::unique_ptr<v1::AccessService::Stub> access_stub_;
};

TEST_F(GatewayStackTest, WorkflowAssignIsIdempotentListsAndRevokes) {
  v1::ListAzureSubscriptionsRequest subs;
  subs.set_customer_id(kCustomer);
  v1::ListAzureSubscriptionsResponse azure;
  ASSERT_TRUE(subscription_stub_->ListAzureSubscriptions(As("admin").get(), subs, &azure).ok());
  ASSERT_EQ(azure.azure_subscriptions_size(), 1);

  v1::AssignRoleResponse first, again;
  ASSERT_TRUE(access_stub_->AssignRole(As("admin").get(), Assign(), &first).ok());
  EXPECT_FALSE(first.already_existed());
  EXPECT_EQ(first.role_assignment().role_name(), "Reader");
  ASSERT_TRUE(access_stub_->AssignRole(As("admin").get(), Assign(), &again).ok());
  EXPECT_TRUE(again.already_existed());
  EXPECT_EQ(again.role_assignment().role_assignment_id(), first.role_assignment().role_assignment_id());

  v1::ListRoleAssignmentsRequest list;
  list.set_customer_id(kCustomer);
  list.set_azure_subscription_id(kAzure);
  list.mutable_principal()->set_object_id(kUserId);
  v1::ListRoleAssignmentsResponse listed;
  ASSERT_TRUE(access_stub_->ListRoleAssignments(As("admin").get(), list, &listed).ok());
  ASSERT_EQ(listed.role_assignments_size(), 1);

  v1::RevokeRoleRequest revoke;
  revoke.set_customer_id(kCustomer);
  revoke.set_role_assignment_id(first.role_assignment().role_assignment_id());
  v1::RevokeRoleResponse revoked;
  ASSERT_TRUE(access_stub_->RevokeRole(As("admin").get(), revoke, &revoked).ok());
  EXPECT_FALSE(revoked.already_absent());
  ASSERT_TRUE(access_stub_->RevokeRole(As("admin").get(), revoke, &revoked).ok());
  EXPECT_TRUE(revoked.already_absent());
  EXPECT_TRUE(arm_.assignments.empty());
}

TEST_F(GatewayStackTest, PrincipalNotFoundWindowIsRidden) {
  arm_.principal_not_found_remaining = 2;
  v1::AssignRoleResponse r;
  ASSERT_TRUE(access_stub_->AssignRole(As("admin").get(), Assign(), &r).ok());
  EXPECT_EQ(arm_.puts, 3);
}

TEST_F(GatewayStackTest, ValidateOnlyLeavesStateUnchanged) {
  v1::AssignRoleRequest r = Assign();
  r.set_validate_only(true);
  v1::AssignRoleResponse response;
  ASSERT_TRUE(access_stub_->AssignRole(As("admin").get(), r, &response).ok());
  EXPECT_TRUE(arm_.assignments.empty());
  EXPECT_EQ(arm_.puts, 0);
}

TEST_F(GatewayStackTest, BadInputsAreInvalidArgumentWithoutAnyUpstreamCall) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"customer_id", "../../customers"},
      {"customer_id", "3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f%2F"},
      {"customer_id", "3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f\r\nX: y"},
      {"customer_id", std::string(5000, 'a')},
      {"resource_group", "rg/../../other"},
      {"resource_group", "r\xc3\xa9sum\xc3\xa9"},
      {"upn", "mila%2F@fabrikam.onmicrosoft.com"},
      {"upn", "mila\n@fabrikam.onmicrosoft.com"},
      {"object_id", "not-a-guid"},
  };
  for (const auto& [field, value] : bad) {
    v1::AssignRoleRequest r = Assign();
    if (field == "customer_id") r.set_customer_id(value);
    if (field == "resource_group") r.set_resource_group(value);
    if (field == "upn") r.mutable_principal()->set_user_principal_name(value);
    if (field == "object_id") r.mutable_principal()->set_object_id(value);
    v1::AssignRoleResponse response;
    grpc::Status status = access_stub_->AssignRole(As("admin").get(), r, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_EQ(Reason(status), "ERROR_REASON_INVALID_FIELD");
  }
  EXPECT_EQ(UpstreamCalls(), 0);
}

TEST_F(GatewayStackTest, PageTokensWalkEveryCustomerOnceAndRejectTampering) {
  std::vector<std::string> seen;
  std::string token;
  do {
    v1::ListCustomersRequest r;
    r.set_page_size(5);
    r.set_page_token(token);
    v1::ListCustomersResponse page;
    ASSERT_TRUE(customer_stub_->ListCustomers(As("reader").get(), r, &page).ok());
    for (const v1::Customer& c : page.customers()) seen.push_back(c.customer_id());
    token = page.next_page_token();
    if (!token.empty()) {
      EXPECT_NE(token, "5");
      EXPECT_NE(token, "10");
    }
  } while (!token.empty());
  EXPECT_EQ(seen.size(), 12u);

  v1::ListCustomersRequest first;
  first.set_page_size(5);
  v1::ListCustomersResponse page;
  ASSERT_TRUE(customer_stub_->ListCustomers(As("reader").get(), first, &page).ok());
  const int calls = UpstreamCalls();
  first.set_page_token(page.next_page_token() + "A");
  grpc::Status status = customer_stub_->ListCustomers(As("reader").get(), first, &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Reason(status), "ERROR_REASON_INVALID_PAGE_TOKEN");
  EXPECT_EQ(UpstreamCalls(), calls);
}

TEST_F(GatewayStackTest, CallersAreAuthenticatedAndAuthorized) {
  v1::AssignRoleResponse response;
  grpc::Status status = access_stub_->AssignRole(As("stranger").get(), Assign(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  status = access_stub_->AssignRole(As("reader").get(), Assign(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Reason(status), "ERROR_REASON_CALLER_NOT_PERMITTED");
  EXPECT_EQ(UpstreamCalls(), 0);
}

TEST_F(GatewayStackTest, UpstreamErrorsFollowTheErrorTable) {
  struct Row {
    absl::Status upstream;
    grpc::StatusCode code;
    std::string reason;
  };
  const std::vector<Row> rows = {
      {absl::InvalidArgumentError("400"), grpc::StatusCode::INVALID_ARGUMENT, "ERROR_REASON_INVALID_FIELD"},
      {ops::WithReason(absl::InternalError("401 after refresh"), v1::ERROR_REASON_GATEWAY_CREDENTIAL),
       grpc::StatusCode::INTERNAL, "ERROR_REASON_GATEWAY_CREDENTIAL"},
      {absl::FailedPreconditionError("AADSTS700016"), grpc::StatusCode::FAILED_PRECONDITION,
       "ERROR_REASON_APP_NOT_CONSENTED"},
      {absl::PermissionDeniedError("403"), grpc::StatusCode::PERMISSION_DENIED,
       "ERROR_REASON_UPSTREAM_PERMISSION_DENIED"},
      {absl::NotFoundError("404"), grpc::StatusCode::NOT_FOUND, "ERROR_REASON_NOT_FOUND"},
      {ops::WithRetryDelay(absl::ResourceExhaustedError("429"), absl::Seconds(7)),
       grpc::StatusCode::RESOURCE_EXHAUSTED, "ERROR_REASON_UPSTREAM_THROTTLED"},
      {absl::UnavailableError("503"), grpc::StatusCode::UNAVAILABLE, "ERROR_REASON_UPSTREAM_UNAVAILABLE"},
      {absl::DeadlineExceededError("deadline"), grpc::StatusCode::DEADLINE_EXCEEDED,
       "ERROR_REASON_DEADLINE_EXCEEDED"},
  };
  for (const Row& row : rows) {
    pc_.error = row.upstream;
    v1::GetCustomerRequest r;
    r.set_customer_id(kCustomer);
    v1::GetCustomerResponse response;
    grpc::Status status = customer_stub_->GetCustomer(As("reader").get(), r, &response);
    EXPECT_EQ(status.error_code(), row.code) << row.upstream;
    EXPECT_EQ(Reason(status), row.reason) << row.upstream;
  }
}

TEST_F(GatewayStackTest, BatchMixesGoodAndBadItems) {
  v1::BatchAssignRolesRequest request;
  *request.add_items() = Assign();
  *request.add_items() = Assign();
  v1::AssignRoleRequest bad = Assign();
  bad.set_azure_subscription_id("f0000000-0000-4000-8000-000000000009");
  *request.add_items() = bad;
  v1::AssignRoleRequest invalid = Assign();
  invalid.set_resource_group("a/b");
  *request.add_items() = invalid;
  auto context = As("admin");
  auto reader = access_stub_->BatchAssignRoles(context.get(), request);
  v1::BatchAssignRolesResponse message;
  std::map<int, v1::BatchAssignRoleResult> items;
  v1::BatchAssignRolesSummary summary;
  while (reader->Read(&message)) {
    if (message.has_item()) items[message.item().index()] = message.item();
    if (message.has_summary()) summary = message.summary();
  }
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[2].error_reason(), "ERROR_REASON_SUBSCRIPTION_NOT_OWNED_BY_CUSTOMER");
  EXPECT_EQ(items[3].error_code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(summary.created() + summary.already_existed(), 2);
  EXPECT_EQ(summary.failed(), 2);
  EXPECT_EQ(arm_.assignments.size(), 1u);
}

TEST_F(GatewayStackTest, CreateUserReturnsTheOneTimePasswordOnceAndAuditsWithoutIt) {
  v1::CreateCustomerUserRequest r;
  r.set_customer_id(kCustomer);
  r.set_user_principal_name("new.user@fabrikam.onmicrosoft.com");
  r.set_display_name("New User");
  v1::CreateCustomerUserResponse response;
  ASSERT_TRUE(customer_stub_->CreateCustomerUser(As("admin").get(), r, &response).ok());
  EXPECT_FALSE(response.one_time_password().empty());
  absl::MutexLock lock(&audit_.mu);
  ASSERT_FALSE(audit_.records.empty());
  for (const api::AuditRecord& record : audit_.records) {
    EXPECT_THAT(api::FormatAuditRecord(record), ::testing::Not(HasSubstr(response.one_time_password())));
  }
}

}  // namespace
}  // namespace partner
