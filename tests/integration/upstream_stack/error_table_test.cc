// Every row of the error table (shared/DESIGN.md "Errors") that the emulator can produce, through
// the real stack: the gRPC code a caller branches on and the rich details it decodes.
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/upstream_stack/stack_harness.h"

namespace partner::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kUnknownGuid[] = "0badc0de-0000-4000-8000-000000000404";
constexpr char kReaderRole[] = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
constexpr char kOwnerRole[] = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";

class ErrorTableTest : public StackTest {
 protected:
  static constexpr absl::Duration kSlow = absl::Milliseconds(1500);

  // Emulator::Impl::~Impl frees pending delayed replies but leaves them in delayed_, and
  // evhttp_free then runs OnConnectionClosed over the freed entries (heap corruption). Tear down
  // only after the emulator's timers have fired.
  static void OutwaitDelayedReplies(absl::Time sent) {
    absl::SleepFor(sent + kSlow + absl::Milliseconds(300) - absl::Now());
  }

  grpc::Status GetCustomer(const std::string& id, std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
    v1::GetCustomerRequest request;
    request.set_customer_id(id);
    v1::GetCustomerResponse response;
    return h_->customer_stub->GetCustomer(As(kReaderToken, deadline).get(), request, &response);
  }
  grpc::Status ListRoleDefinitions(const std::string& customer, const std::string& azure) {
    v1::ListRoleDefinitionsRequest request;
    request.set_customer_id(customer);
    request.set_azure_subscription_id(azure);
    v1::ListRoleDefinitionsResponse response;
    return h_->access_stub->ListRoleDefinitions(As(kReaderToken).get(), request, &response);
  }
  v1::AssignRoleRequest Assign(const emulator::Customer& c) {
    v1::AssignRoleRequest r;
    r.set_customer_id(c.id);
    r.set_azure_subscription_id(FirstAzure(c));
    r.mutable_principal()->set_object_id(c.users[0].id);
    r.mutable_role()->set_role_definition_id(kReaderRole);
    return r;
  }
};

TEST_F(ErrorTableTest, UpstreamValidation400IsInvalidArgument) {
  // Graph refuses a user outside the customer's verified domains; only the upstream knows that.
  const emulator::Customer c = Consented();
  v1::CreateCustomerUserRequest request;
  request.set_customer_id(c.id);
  request.set_user_principal_name("someone@not-their-domain.example.com");
  request.set_display_name("Someone");
  v1::CreateCustomerUserResponse response;
  grpc::Status status = h_->customer_stub->CreateCustomerUser(As(kAdminToken).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_TRUE(Details(status).has_error_info);
}

TEST_F(ErrorTableTest, NotFound404IsNotFound) {
  grpc::Status status = GetCustomer(kUnknownGuid);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  RichError details = Details(status);
  EXPECT_EQ(details.reason, "ERROR_REASON_NOT_FOUND");
  EXPECT_THAT(status.error_message(), HasSubstr(kUnknownGuid));

  const emulator::Customer c = Consented();
  v1::GetSubscriptionRequest get;
  get.set_customer_id(c.id);
  get.set_subscription_id(kUnknownGuid);
  v1::GetSubscriptionResponse subscription;
  status = h_->subscription_stub->GetSubscription(As(kReaderToken).get(), get, &subscription);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_EQ(Details(status).reason, "ERROR_REASON_NOT_FOUND");
}

TEST_F(ErrorTableTest, PartnerCenterRevokedRelationshipIsPermissionDenied) {
  const emulator::Customer c = Consented();
  ASSERT_TRUE(h_->services().SetRelationshipRevoked(c.id, true));
  auto context = As(kReaderToken);
  context->AddMetadata("x-correlation-id", "ticket-4711");
  v1::GetCustomerRequest request;
  request.set_customer_id(c.id);
  v1::GetCustomerResponse response;
  grpc::Status status = h_->customer_stub->GetCustomer(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  RichError details = Details(status);
  EXPECT_EQ(details.reason, "ERROR_REASON_UPSTREAM_PERMISSION_DENIED");
  EXPECT_FALSE(details.domain.empty());
  EXPECT_EQ(details.metadata["upstreamCode"], "20002");
  // The caller's correlation id comes back, so a support ticket can name the failed call.
  EXPECT_EQ(details.metadata["correlationId"], "ticket-4711");
  EXPECT_THAT(status.error_message(), HasSubstr("20002"));
}

TEST_F(ErrorTableTest, ArmAuthorizationFailedIsPermissionDenied) {
  const emulator::Customer c = Consented();
  ASSERT_TRUE(h_->services().SetAuthorizationDenied(FirstAzure(c), true));
  grpc::Status status = ListRoleDefinitions(c.id, FirstAzure(c));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  RichError details = Details(status);
  EXPECT_EQ(details.reason, "ERROR_REASON_UPSTREAM_PERMISSION_DENIED");
  EXPECT_EQ(details.metadata["upstreamCode"], "AuthorizationFailed");

  v1::AssignRoleResponse assigned;
  status = h_->access_stub->AssignRole(As(kAdminToken).get(), Assign(c), &assigned);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_TRUE(h_->services().role_assignments().empty());
}

TEST_F(ErrorTableTest, AppNotConsentedIsFailedPreconditionNamingTheCustomer) {
  emulator::Customer unconsented;
  for (const emulator::Customer& c : h_->services().customers()) {
    if (!c.app_consented) unconsented = c;
  }
  ASSERT_FALSE(unconsented.id.empty());
  grpc::Status status = ListRoleDefinitions(unconsented.id, FirstAzure(unconsented));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_EQ(Details(status).reason, "ERROR_REASON_APP_NOT_CONSENTED");
  EXPECT_THAT(Lower(status.error_message()), HasSubstr(unconsented.id));

  v1::ListCustomerUsersRequest users;
  users.set_customer_id(unconsented.id);
  v1::ListCustomerUsersResponse listed;
  status = h_->customer_stub->ListCustomerUsers(As(kReaderToken).get(), users, &listed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_THAT(Lower(status.error_message()), HasSubstr(unconsented.id));
}

TEST_F(ErrorTableTest, ThrottlingAfterRetriesIsResourceExhaustedWithRetryInfo) {
  const emulator::Customer c = Consented();
  ASSERT_TRUE(GetCustomer(c.id).ok());  // the token is cached; only the data call is throttled
  emulator::FaultOptions faults;
  faults.throttle_rate = 1;
  faults.throttle_retry_after = absl::Seconds(1);
  h_->emulator().SetFaults(faults);
  const absl::Time start = absl::Now();
  grpc::Status status = GetCustomer(c.id);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  RichError details = Details(status);
  EXPECT_EQ(details.reason, "ERROR_REASON_UPSTREAM_THROTTLED");
  ASSERT_TRUE(details.retry_delay.has_value());
  EXPECT_GT(*details.retry_delay, absl::ZeroDuration());
  EXPECT_LE(*details.retry_delay, absl::Seconds(60));
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));

  h_->emulator().SetFaults({});
  EXPECT_TRUE(GetCustomer(c.id).ok());
}

TEST_F(ErrorTableTest, ServerErrorsAndResetsAfterRetriesAreUnavailable) {
  const emulator::Customer c = Consented();
  ASSERT_TRUE(GetCustomer(c.id).ok());
  emulator::FaultOptions faults;
  faults.unavailable_rate = 1;
  h_->emulator().SetFaults(faults);
  grpc::Status status = GetCustomer(c.id);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(Details(status).reason, "ERROR_REASON_UPSTREAM_UNAVAILABLE");

  faults = {};
  faults.reset_rate = 1;
  h_->emulator().SetFaults(faults);
  status = GetCustomer(c.id);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(Details(status).reason, "ERROR_REASON_UPSTREAM_UNAVAILABLE");

  h_->emulator().SetFaults({});
  EXPECT_TRUE(GetCustomer(c.id).ok());
}

TEST_F(ErrorTableTest, AnIdenticalAssignmentUnderAnotherNameIsSuccess) {
  const emulator::Customer c = Consented();
  const std::string other_name = "5d1f0c9a-2e7b-48a6-b3c4-e1f0a9d8c7b2";
  h_->services().AddRoleAssignment({other_name, absl::StrCat("/subscriptions/", FirstAzure(c)), kReaderRole,
                                    c.users[0].id, "User", "made in the portal", absl::Now()});
  v1::AssignRoleResponse response;
  grpc::Status status = h_->access_stub->AssignRole(As(kAdminToken).get(), Assign(c), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.already_existed());
  EXPECT_EQ(Lower(response.role_assignment().name()), other_name);
  EXPECT_EQ(h_->services().role_assignments().size(), 1u);
}

TEST_F(ErrorTableTest, ADifferentAssignmentUnderOurNameIsAlreadyExists) {
  const emulator::Customer c = Consented();
  v1::AssignRoleRequest request = Assign(c);
  request.set_validate_only(true);
  v1::AssignRoleResponse would;
  ASSERT_TRUE(h_->access_stub->AssignRole(As(kAdminToken).get(), request, &would).ok());
  const std::string scope = absl::StrCat("/subscriptions/", FirstAzure(c));
  h_->services().AddRoleAssignment({would.role_assignment().name(), scope, kOwnerRole, c.users[0].id, "User", "", absl::Now()});

  request.set_validate_only(false);
  v1::AssignRoleResponse response;
  grpc::Status status = h_->access_stub->AssignRole(As(kAdminToken).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS) << status.error_message();
  EXPECT_EQ(Details(status).reason, "ERROR_REASON_CONFLICT");
  std::vector<emulator::RoleAssignment> stored = h_->services().role_assignments();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].role_definition_guid, kOwnerRole);
}

TEST_F(ErrorTableTest, RevokingByTripleNeverRemovesADifferentAssignmentUnderOurName) {
  const emulator::Customer c = Consented();
  v1::AssignRoleRequest would_assign = Assign(c);
  would_assign.set_validate_only(true);
  v1::AssignRoleResponse would;
  ASSERT_TRUE(h_->access_stub->AssignRole(As(kAdminToken).get(), would_assign, &would).ok());
  const std::string scope = absl::StrCat("/subscriptions/", FirstAzure(c));
  h_->services().AddRoleAssignment({would.role_assignment().name(), scope, kOwnerRole, c.users[0].id, "User", "", absl::Now()});

  v1::RevokeRoleRequest revoke;
  revoke.set_customer_id(c.id);
  v1::RoleAssignmentTriple& triple = *revoke.mutable_triple();
  triple.set_azure_subscription_id(FirstAzure(c));
  triple.mutable_principal()->set_object_id(c.users[0].id);
  triple.mutable_role()->set_role_definition_id(kReaderRole);
  v1::RevokeRoleResponse revoked;
  grpc::Status status = h_->access_stub->RevokeRole(As(kAdminToken).get(), revoke, &revoked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(revoked.already_absent());
  std::vector<emulator::RoleAssignment> stored = h_->services().role_assignments();
  ASSERT_EQ(stored.size(), 1u) << "the Owner assignment was removed by a Reader revoke";
  EXPECT_EQ(stored[0].role_definition_guid, kOwnerRole);
}

TEST_F(ErrorTableTest, TheCallersDeadlineEndsASlowUpstreamCall) {
  const emulator::Customer c = Consented();
  ASSERT_TRUE(GetCustomer(c.id).ok());
  emulator::FaultOptions faults;
  faults.latency = kSlow;
  h_->emulator().SetFaults(faults);
  const absl::Time start = absl::Now();
  grpc::Status status = GetCustomer(c.id, std::chrono::milliseconds(500));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1200));
  OutwaitDelayedReplies(start);
}

// Without a caller deadline the gateway's default applies, and the gateway itself says so.
class DefaultDeadlineTest : public ErrorTableTest {
 protected:
  HarnessOptions Options() override {
    HarnessOptions options;
    options.default_deadline = absl::Milliseconds(500);
    return options;
  }
};

TEST_F(DefaultDeadlineTest, TheGatewaysDefaultDeadlineIsDeadlineExceededWithDetails) {
  const emulator::Customer c = Consented();
  ASSERT_TRUE(GetCustomer(c.id).ok());
  emulator::FaultOptions faults;
  faults.latency = kSlow;
  h_->emulator().SetFaults(faults);
  const absl::Time start = absl::Now();
  grpc::Status status = GetCustomer(c.id, std::chrono::milliseconds(0));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  EXPECT_EQ(Details(status).reason, "ERROR_REASON_DEADLINE_EXCEEDED");
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1200));
  OutwaitDelayedReplies(start);
}

// A wrong client secret is the gateway's own problem, never the caller's (UNAUTHENTICATED).
class BrokenCredentialTest : public ErrorTableTest {
 protected:
  HarnessOptions Options() override {
    HarnessOptions options;
    options.client_secret = "not-the-secret";
    return options;
  }
};

TEST_F(BrokenCredentialTest, ARefusedGatewayCredentialIsInternalAndSaysWhatToFix) {
  grpc::Status status = GetCustomer(Consented().id);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("client secret"));
  EXPECT_THAT(status.error_message(), Not(HasSubstr("not-the-secret")));
}

TEST_F(BrokenCredentialTest, ARefusedGatewayCredentialHasTheGatewayCredentialReason) {
  grpc::Status status = GetCustomer(Consented().id);
  EXPECT_EQ(Details(status).reason, "ERROR_REASON_GATEWAY_CREDENTIAL") << status.error_message();
}

}  // namespace
}  // namespace partner::testing
