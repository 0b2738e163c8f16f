#include "server/ops/gateway_operations.h"

#include <optional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ops/error_reason.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/ops/fake_ports.h"

namespace partner::ops {
namespace {

using ::partner::testing::IsOk;
using ::partner::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kCustomer[] = "3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
constexpr char kOther[] = "11111111-2222-4333-8444-555555555555";
constexpr char kPlan[] = "A1B2C3D4-0000-4000-8000-00000000AAAA";
constexpr char kAzure[] = "a1b2c3d4-0000-4000-8000-000000000001";
constexpr char kAzure2[] = "a1b2c3d4-0000-4000-8000-000000000002";
constexpr char kLegacy[] = "B1B2C3D4-0000-4000-8000-00000000BBBB";
constexpr char kForeign[] = "f0000000-0000-4000-8000-000000000009";
constexpr char kUserId[] = "e5a7c0de-0000-4000-8000-000000000001";
constexpr char kReader[] = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
constexpr char kUpn[] = "mila.berg@fabrikam.onmicrosoft.com";

template <class T>
absl::StatusOr<T> Sync(absl::AnyInvocable<void(Done<T>)> start) {
  std::optional<absl::StatusOr<T>> result;
  start([&](absl::StatusOr<T> r) { result = std::move(r); });
  EXPECT_TRUE(result.has_value()) << "the operation did not complete synchronously over ready fakes";
  return result.has_value() ? *std::move(result) : absl::InternalError("not completed");
}

class GatewayOperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* id : {kCustomer, kOther}) {
      pc_.customers.push_back({id, absl::StrCat("Company ", id), absl::StrCat(id, ".onmicrosoft.com"), "reseller", {}});
    }
    pc_.subscriptions[kCustomer] = {
        {kPlan, "DZH318Z0BPS6:0001:DZH318Z0BML6", "Azure plan", "Plan", 1, "active", absl::FromUnixSeconds(1600000000)},
        {kLegacy, "MS-AZR-0145P", "Microsoft Azure", "Legacy", 1, "active", {}},
        {"C0000000-0000-4000-8000-00000000CCCC", "CFQ7TTC0LH18:0001", "Microsoft 365 E3", "E3", 25, "active", {}}};
    pc_.subscriptions[kOther] = {};
    pc_.entitlements[kPlan] = {{kAzure, "Production", "active"}, {kAzure2, "Test", "active"}};
    for (const char* sub : {kAzure, kAzure2}) {
      const std::string scope = absl::StrCat("/subscriptions/", sub);
      arm_.definitions[scope] = {
          {absl::StrCat(scope, "/providers/Microsoft.Authorization/roleDefinitions/", kReader), "Reader",
           "BuiltInRole", "View all resources"},
          {absl::StrCat(scope, "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"),
           "Contributor", "BuiltInRole", "Manage everything"},
          {absl::StrCat(scope, "/providers/Microsoft.Authorization/roleDefinitions/0000000c-0000-4000-8000-00000000c0de"),
           "Backup reader", "CustomRole", "Custom"}};
    }
    graph_.users[kCustomer] = {{kUserId, kUpn, "Mila Berg", "mila@fabrikam.com"},
                               {"e5a7c0de-0000-4000-8000-000000000002", "jo@fabrikam.onmicrosoft.com", "Jo", ""}};
    OperationsOptions options;
    options.batch_concurrency = 3;
    options.batch_per_customer_concurrency = 2;
    ops_ = MakeGatewayOperations(pc_, arm_, graph_, clock_, options);
    ctx_.deadline = clock_.now + absl::Seconds(30);
  }

  v1::AssignRoleRequest Assign(const std::string& role = "reader") {
    v1::AssignRoleRequest r;
    r.set_customer_id(kCustomer);
    r.set_azure_subscription_id(kAzure);
    r.mutable_principal()->set_user_principal_name(kUpn);
    r.mutable_role()->set_role_name(role);
    r.set_description("test");
    return r;
  }

  absl::StatusOr<v1::AssignRoleResponse> RunAssign(v1::AssignRoleRequest r) {
    return Sync<v1::AssignRoleResponse>([&](Done<v1::AssignRoleResponse> d) { ops_->AssignRole(ctx_, r, std::move(d)); });
  }
  absl::StatusOr<v1::RevokeRoleResponse> RunRevoke(v1::RevokeRoleRequest r) {
    return Sync<v1::RevokeRoleResponse>([&](Done<v1::RevokeRoleResponse> d) { ops_->RevokeRole(ctx_, r, std::move(d)); });
  }

  testing::FakePartnerCenter pc_;
  testing::FakeArm arm_;
  testing::FakeGraph graph_;
  testing::FakeClock clock_;
  std::unique_ptr<Operations> ops_;
  OpContext ctx_;
};

TEST_F(GatewayOperationsTest, AssignRoleCreatesOnceThenReportsAlreadyExisted) {
  absl::StatusOr<v1::AssignRoleResponse> first = RunAssign(Assign());
  ASSERT_THAT(first, IsOk());
  EXPECT_FALSE(first->already_existed());
  const v1::RoleAssignment& a = first->role_assignment();
  EXPECT_EQ(a.principal_id(), kUserId);
  EXPECT_EQ(a.role_name(), "Reader");
  EXPECT_EQ(a.role_definition_id(), kReader);
  EXPECT_EQ(a.scope(), absl::StrCat("/subscriptions/", kAzure));
  EXPECT_EQ(a.principal_type(), v1::PRINCIPAL_TYPE_USER);
  EXPECT_EQ(a.role_assignment_id(),
            absl::StrCat(a.scope(), "/providers/Microsoft.Authorization/roleAssignments/", a.name()));
  EXPECT_EQ(arm_.puts, 1);

  absl::StatusOr<v1::AssignRoleResponse> again = RunAssign(Assign("READER"));
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->already_existed());
  EXPECT_EQ(again->role_assignment().role_assignment_id(), a.role_assignment_id());
  EXPECT_EQ(arm_.puts, 1) << "an existing assignment is not written again";
  EXPECT_EQ(arm_.assignments.size(), 1u);
}

TEST_F(GatewayOperationsTest, AnIdenticalAssignmentUnderAnotherNameIsAlreadyExisted) {
  arm_.Insert(absl::StrCat("/subscriptions/", kAzure), "77777777-7777-4777-8777-777777777777",
              {arm_.definitions[absl::StrCat("/subscriptions/", kAzure)][0].id, kUserId, "User", "portal"});
  absl::StatusOr<v1::AssignRoleResponse> r = RunAssign(Assign());
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->already_existed());
  EXPECT_EQ(r->role_assignment().name(), "77777777-7777-4777-8777-777777777777");
  EXPECT_EQ(arm_.puts, 0);
}

TEST_F(GatewayOperationsTest, RoleAssignmentExistsOnPutReturnsTheExistingAssignment) {
  arm_.conflict_next_put = true;
  absl::StatusOr<v1::AssignRoleResponse> r = RunAssign(Assign());
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->already_existed());
  EXPECT_EQ(r->role_assignment().name(), "99999999-9999-4999-8999-999999999999");
}

TEST_F(GatewayOperationsTest, AConflictNoLookupFindsIsAlreadyExistsWithArmsDetails) {
  arm_.unfindable_conflict_next_put = "88888888-8888-4888-8888-888888888888";
  absl::StatusOr<v1::AssignRoleResponse> r = RunAssign(Assign());
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("already exists")));
  EXPECT_EQ(GetReason(r.status()), v1::ERROR_REASON_CONFLICT);
  const std::map<std::string, std::string> details = GetUpstreamDetails(r.status());
  EXPECT_EQ(details.at("upstreamCode"), "RoleAssignmentExists");
  EXPECT_EQ(details.at("upstreamRequestId"), "req-1");
  EXPECT_EQ(details.at("existingAssignmentId"), "88888888-8888-4888-8888-888888888888");
}

TEST_F(GatewayOperationsTest, PrincipalNotFoundIsRetriedWithBackoffWithinTheDeadline) {
  arm_.principal_not_found_remaining = 3;
  absl::StatusOr<v1::AssignRoleResponse> r = RunAssign(Assign());
  ASSERT_THAT(r, IsOk());
  EXPECT_FALSE(r->already_existed());
  EXPECT_EQ(arm_.puts, 4);
  EXPECT_THAT(clock_.sleeps, ElementsAre(absl::Seconds(1), absl::Seconds(2), absl::Seconds(4)));
}

TEST_F(GatewayOperationsTest, PrincipalNotFoundPastTheDeadlineIsNotFound) {
  arm_.principal_not_found_remaining = 100;
  ctx_.deadline = clock_.now + absl::Seconds(5);
  absl::StatusOr<v1::AssignRoleResponse> r = RunAssign(Assign());
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kNotFound, HasSubstr("PrincipalNotFound")));
  EXPECT_EQ(GetReason(r.status()), v1::ERROR_REASON_PRINCIPAL_NOT_FOUND);
  EXPECT_LE(clock_.now, ctx_.deadline);
}

TEST_F(GatewayOperationsTest, SubscriptionOfAnotherCustomerIsRefusedBeforeAnyArmCall) {
  v1::AssignRoleRequest r = Assign();
  r.set_azure_subscription_id(kForeign);
  absl::StatusOr<v1::AssignRoleResponse> result = RunAssign(r);
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(kForeign)));
  EXPECT_EQ(GetReason(result.status()), v1::ERROR_REASON_SUBSCRIPTION_NOT_OWNED_BY_CUSTOMER);
  EXPECT_EQ(arm_.calls, 0);
  EXPECT_EQ(graph_.calls, 0);
}

TEST_F(GatewayOperationsTest, LegacyAzureSubscriptionIsOwnedToo) {
  v1::AssignRoleRequest r = Assign();
  r.set_azure_subscription_id(absl::AsciiStrToLower(kLegacy));
  const std::string scope = absl::StrCat("/subscriptions/", absl::AsciiStrToLower(kLegacy));
  arm_.definitions[scope] = arm_.definitions[absl::StrCat("/subscriptions/", kAzure)];
  EXPECT_THAT(RunAssign(r), IsOk());
}

TEST_F(GatewayOperationsTest, UnknownRoleAndUnknownUser) {
  absl::StatusOr<v1::AssignRoleResponse> r = RunAssign(Assign("Astronaut"));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kNotFound, HasSubstr("Astronaut")));
  EXPECT_EQ(GetReason(r.status()), v1::ERROR_REASON_ROLE_NOT_FOUND);
  // Custom role names match exactly.
  EXPECT_THAT(RunAssign(Assign("backup reader")), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(RunAssign(Assign("Backup reader")), IsOk());
  v1::AssignRoleRequest nobody = Assign();
  nobody.mutable_principal()->set_user_principal_name("nobody@fabrikam.onmicrosoft.com");
  r = RunAssign(nobody);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(GetReason(r.status()), v1::ERROR_REASON_PRINCIPAL_NOT_FOUND);
}

TEST_F(GatewayOperationsTest, UserSearchAsksGraphForThePrefixAndPagesWithinIt) {
  graph_.users[kCustomer].push_back({"e5a7c0de-0000-4000-8000-000000000003", "mia@fabrikam.onmicrosoft.com", "Zed", ""});
  auto list = [&](const v1::ListCustomerUsersRequest& r) {
    return Sync<v1::ListCustomerUsersResponse>(
        [&](Done<v1::ListCustomerUsersResponse> d) { ops_->ListCustomerUsers(ctx_, r, std::move(d)); });
  };
  v1::ListCustomerUsersRequest r;
  r.set_customer_id(kCustomer);
  r.set_page_size(1);
  r.set_search_prefix("mI");
  absl::StatusOr<v1::ListCustomerUsersResponse> first = list(r);
  ASSERT_THAT(first, IsOk());
  ASSERT_EQ(first->users_size(), 1);
  EXPECT_EQ(first->users(0).user_principal_name(), kUpn) << "display name Mila Berg";
  r.set_page_token(first->next_page_token());
  absl::StatusOr<v1::ListCustomerUsersResponse> second = list(r);
  ASSERT_THAT(second, IsOk());
  ASSERT_EQ(second->users_size(), 1);
  EXPECT_EQ(second->users(0).user_principal_name(), "mia@fabrikam.onmicrosoft.com") << "UPN mia@";
  EXPECT_EQ(second->next_page_token(), "");
  ASSERT_EQ(graph_.user_queries.size(), 2u);
  EXPECT_EQ(graph_.user_queries[0].search_prefix, std::optional<std::string>("mI"));
  EXPECT_EQ(graph_.user_queries[0].top, 1);

  v1::ListCustomerUsersRequest all;
  all.set_customer_id(kCustomer);
  absl::StatusOr<v1::ListCustomerUsersResponse> everyone = list(all);
  ASSERT_THAT(everyone, IsOk());
  EXPECT_EQ(everyone->users_size(), 3);
  EXPECT_EQ(graph_.user_queries.back().search_prefix, std::nullopt) << "no search is not an empty search";
}

TEST_F(GatewayOperationsTest, ValidateOnlyResolvesEverythingAndWritesNothing) {
  v1::AssignRoleRequest r = Assign();
  r.set_validate_only(true);
  absl::StatusOr<v1::AssignRoleResponse> result = RunAssign(r);
  ASSERT_THAT(result, IsOk());
  EXPECT_FALSE(result->already_existed());
  EXPECT_EQ(result->role_assignment().principal_id(), kUserId);
  EXPECT_FALSE(result->role_assignment().has_create_time());
  EXPECT_EQ(arm_.puts, 0);
  EXPECT_TRUE(arm_.assignments.empty());
  // The dry run names the assignment the real call makes.
  absl::StatusOr<v1::AssignRoleResponse> real = RunAssign(Assign());
  ASSERT_THAT(real, IsOk());
  EXPECT_EQ(real->role_assignment().role_assignment_id(), result->role_assignment().role_assignment_id());
}

TEST_F(GatewayOperationsTest, RevokeByIdAndByTripleAreIdempotent) {
  absl::StatusOr<v1::AssignRoleResponse> made = RunAssign(Assign());
  ASSERT_THAT(made, IsOk());
  v1::RevokeRoleRequest by_id;
  by_id.set_customer_id(kCustomer);
  by_id.set_role_assignment_id(made->role_assignment().role_assignment_id());
  by_id.set_validate_only(true);
  absl::StatusOr<v1::RevokeRoleResponse> dry = RunRevoke(by_id);
  ASSERT_THAT(dry, IsOk());
  EXPECT_FALSE(dry->already_absent());
  EXPECT_EQ(arm_.assignments.size(), 1u);
  by_id.set_validate_only(false);
  absl::StatusOr<v1::RevokeRoleResponse> gone = RunRevoke(by_id);
  ASSERT_THAT(gone, IsOk());
  EXPECT_FALSE(gone->already_absent());
  EXPECT_TRUE(arm_.assignments.empty());
  absl::StatusOr<v1::RevokeRoleResponse> again = RunRevoke(by_id);
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->already_absent());

  ASSERT_THAT(RunAssign(Assign()), IsOk());
  v1::RevokeRoleRequest by_triple;
  by_triple.set_customer_id(kCustomer);
  by_triple.mutable_triple()->set_azure_subscription_id(kAzure);
  by_triple.mutable_triple()->mutable_principal()->set_object_id(kUserId);
  by_triple.mutable_triple()->mutable_role()->set_role_definition_id(kReader);
  absl::StatusOr<v1::RevokeRoleResponse> removed = RunRevoke(by_triple);
  ASSERT_THAT(removed, IsOk());
  EXPECT_FALSE(removed->already_absent());
  EXPECT_EQ(removed->role_assignment().role_name(), "Reader");
  EXPECT_TRUE(arm_.assignments.empty());
  EXPECT_TRUE(RunRevoke(by_triple)->already_absent());
}

TEST_F(GatewayOperationsTest, RevokeOfAnotherCustomersSubscriptionIsRefused) {
  v1::RevokeRoleRequest r;
  r.set_customer_id(kCustomer);
  r.set_role_assignment_id(absl::StrCat("/subscriptions/", kForeign,
                                        "/providers/Microsoft.Authorization/roleAssignments/", kUserId));
  EXPECT_THAT(RunRevoke(r), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(arm_.calls, 0);
}

TEST_F(GatewayOperationsTest, BatchRunsUnderGlobalAndPerCustomerLimits) {
  arm_.hold_puts = true;
  std::vector<BatchItem> items;
  for (int i = 0; i < 6; ++i) {
    v1::AssignRoleRequest r = Assign(i % 2 == 0 ? "Reader" : "Contributor");
    r.set_azure_subscription_id(i < 3 ? kAzure : kAzure2);
    items.push_back({i, r});
  }
  std::vector<int> completed;
  std::optional<v1::BatchAssignRolesSummary> summary;
  ops_->BatchAssignRoles(
      ctx_, items, [&](int index, absl::StatusOr<v1::AssignRoleResponse> r) {
        EXPECT_THAT(r, IsOk());
        completed.push_back(index);
      },
      [&](v1::BatchAssignRolesSummary s) { summary = s; });
  // One customer: the per-customer limit (2) binds before the global one (3).
  EXPECT_EQ(arm_.gate.held(), 2u);
  while (arm_.gate.held() > 0) arm_.gate.ReleaseOne();
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(completed.size(), 6u);
  EXPECT_EQ(arm_.max_in_flight_per_tenant, 2);
  EXPECT_EQ(summary->created(), 4);
  EXPECT_EQ(summary->already_existed(), 2);
  EXPECT_EQ(summary->failed(), 0);
}

TEST_F(GatewayOperationsTest, BatchItemFailuresStayInTheirItemAndCancelStopsTheRest) {
  arm_.hold_puts = true;
  std::vector<BatchItem> items;
  for (int i = 0; i < 5; ++i) {
    v1::AssignRoleRequest r = Assign();
    if (i == 0) r.set_azure_subscription_id(kForeign);
    items.push_back({i * 10, r});
  }
  std::map<int, absl::Status> results;
  std::optional<v1::BatchAssignRolesSummary> summary;
  ops_->BatchAssignRoles(
      ctx_, items, [&](int index, absl::StatusOr<v1::AssignRoleResponse> r) { results[index] = r.status(); },
      [&](v1::BatchAssignRolesSummary s) { summary = s; });
  EXPECT_THAT(results[0], StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_EQ(arm_.gate.held(), 2u);
  ctx_.cancel->Cancel();
  while (arm_.gate.held() > 0) arm_.gate.ReleaseOne();
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(summary->failed(), 1);
  EXPECT_EQ(summary->created() + summary->already_existed(), 2);
  EXPECT_EQ(summary->not_started(), 2);
  EXPECT_EQ(results.size(), 3u);
}

TEST_F(GatewayOperationsTest, CreateUserRetriesATransientFailureAndAcceptsItsOwnDuplicate) {
  graph_.create_transient_failures = 1;
  v1::CreateCustomerUserRequest r;
  r.set_customer_id(kCustomer);
  r.set_user_principal_name("new.user@fabrikam.onmicrosoft.com");
  r.set_display_name("New User");
  r.set_usage_location("us");
  absl::StatusOr<v1::CreateCustomerUserResponse> created = Sync<v1::CreateCustomerUserResponse>(
      [&](Done<v1::CreateCustomerUserResponse> d) { ops_->CreateCustomerUser(ctx_, r, std::move(d)); });
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->user().user_principal_name(), "new.user@fabrikam.onmicrosoft.com");
  EXPECT_FALSE(created->user().object_id().empty());
  EXPECT_GE(created->one_time_password().size(), 16u);
  EXPECT_EQ(graph_.creates, 2);
  EXPECT_EQ(graph_.users[kCustomer].size(), 3u);

  // A later call for the same UPN is someone else's user now.
  absl::StatusOr<v1::CreateCustomerUserResponse> dup = Sync<v1::CreateCustomerUserResponse>(
      [&](Done<v1::CreateCustomerUserResponse> d) { ops_->CreateCustomerUser(ctx_, r, std::move(d)); });
  EXPECT_THAT(dup, StatusIs(absl::StatusCode::kAlreadyExists));
  r.set_validate_only(true);
  dup = Sync<v1::CreateCustomerUserResponse>(
      [&](Done<v1::CreateCustomerUserResponse> d) { ops_->CreateCustomerUser(ctx_, r, std::move(d)); });
  EXPECT_THAT(dup, StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST_F(GatewayOperationsTest, AzureSubscriptionsComeFromPlanEntitlementsAndLegacySubscriptions) {
  v1::ListAzureSubscriptionsRequest r;
  r.set_customer_id(kCustomer);
  absl::StatusOr<v1::ListAzureSubscriptionsResponse> list = Sync<v1::ListAzureSubscriptionsResponse>(
      [&](Done<v1::ListAzureSubscriptionsResponse> d) { ops_->ListAzureSubscriptions(ctx_, r, std::move(d)); });
  ASSERT_THAT(list, IsOk());
  ASSERT_EQ(list->azure_subscriptions_size(), 3);
  EXPECT_EQ(list->azure_subscriptions(0).azure_subscription_id(), kAzure);
  EXPECT_EQ(list->azure_subscriptions(0).subscription_id(), kPlan);
  EXPECT_EQ(list->azure_subscriptions(0).source(), v1::AZURE_SUBSCRIPTION_SOURCE_AZURE_PLAN);
  EXPECT_EQ(list->azure_subscriptions(2).azure_subscription_id(), absl::AsciiStrToLower(kLegacy));
  EXPECT_EQ(list->azure_subscriptions(2).source(), v1::AZURE_SUBSCRIPTION_SOURCE_LEGACY_AZURE);
}

TEST_F(GatewayOperationsTest, AzureSubscriptionsAskNothingOfArmUnlessArmStateIsRequested) {
  arm_.visible_subscriptions[kCustomer] = {{absl::StrCat("/subscriptions/", kAzure), kAzure, kCustomer, "Production", "Enabled"}};
  v1::ListAzureSubscriptionsRequest r;
  r.set_customer_id(kCustomer);
  absl::StatusOr<v1::ListAzureSubscriptionsResponse> list = Sync<v1::ListAzureSubscriptionsResponse>(
      [&](Done<v1::ListAzureSubscriptionsResponse> d) { ops_->ListAzureSubscriptions(ctx_, r, std::move(d)); });
  ASSERT_THAT(list, IsOk());
  EXPECT_EQ(arm_.calls, 0);
  for (const v1::AzureSubscription& a : list->azure_subscriptions()) EXPECT_EQ(a.arm_state(), "") << a.azure_subscription_id();
}

TEST_F(GatewayOperationsTest, ArmStateMatchesSubscriptionsInAnyCaseAndLeavesInvisibleOnesEmpty) {
  // ARM writes its ids in its own case; the legacy subscription's id differs from Partner
  // Center's only in case; kAzure2 is not visible to the app; kForeign is ARM-only.
  const std::string upper_azure = absl::AsciiStrToUpper(kAzure);
  arm_.visible_subscriptions[kCustomer] = {
      {absl::StrCat("/subscriptions/", upper_azure), upper_azure, kCustomer, "Production", "Warned"},
      {absl::StrCat("/subscriptions/", kLegacy), kLegacy, kCustomer, "Legacy", "PastDue"},
      {absl::StrCat("/subscriptions/", kForeign), kForeign, kCustomer, "Elsewhere", "Enabled"}};
  v1::ListAzureSubscriptionsRequest r;
  r.set_customer_id(absl::AsciiStrToUpper(kCustomer));
  r.set_include_arm_state(true);
  absl::StatusOr<v1::ListAzureSubscriptionsResponse> list = Sync<v1::ListAzureSubscriptionsResponse>(
      [&](Done<v1::ListAzureSubscriptionsResponse> d) { ops_->ListAzureSubscriptions(ctx_, r, std::move(d)); });
  ASSERT_THAT(list, IsOk());
  EXPECT_EQ(arm_.subscription_list_tenants, std::vector<std::string>{kCustomer});
  ASSERT_EQ(list->azure_subscriptions_size(), 3);
  EXPECT_EQ(list->azure_subscriptions(0).azure_subscription_id(), kAzure);
  EXPECT_EQ(list->azure_subscriptions(0).arm_state(), "Warned");
  EXPECT_EQ(list->azure_subscriptions(1).azure_subscription_id(), kAzure2);
  EXPECT_EQ(list->azure_subscriptions(1).arm_state(), "");
  EXPECT_EQ(list->azure_subscriptions(2).azure_subscription_id(), absl::AsciiStrToLower(kLegacy));
  EXPECT_EQ(list->azure_subscriptions(2).arm_state(), "PastDue");
}

TEST_F(GatewayOperationsTest, ArmStateOfAnUnconsentedCustomerIsFailedPrecondition) {
  arm_.subscription_list_errors[kCustomer] = absl::FailedPreconditionError(
      absl::StrCat("the partner's app is not consented in customer tenant ", kCustomer, " (AADSTS700016)"));
  v1::ListAzureSubscriptionsRequest r;
  r.set_customer_id(kCustomer);
  r.set_include_arm_state(true);
  absl::StatusOr<v1::ListAzureSubscriptionsResponse> list = Sync<v1::ListAzureSubscriptionsResponse>(
      [&](Done<v1::ListAzureSubscriptionsResponse> d) { ops_->ListAzureSubscriptions(ctx_, r, std::move(d)); });
  EXPECT_THAT(list, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(kCustomer)));
}

TEST_F(GatewayOperationsTest, ALegacySubscriptionsArmIdIsItsEntitlementIdWhenPartnerCenterGivesOne) {
  pc_.subscriptions[kCustomer][1].entitlement_id = "d4c3b2a1-0000-4000-8000-00000000abcd";
  v1::ListAzureSubscriptionsRequest r;
  r.set_customer_id(kCustomer);
  absl::StatusOr<v1::ListAzureSubscriptionsResponse> list = Sync<v1::ListAzureSubscriptionsResponse>(
      [&](Done<v1::ListAzureSubscriptionsResponse> d) { ops_->ListAzureSubscriptions(ctx_, r, std::move(d)); });
  ASSERT_THAT(list, IsOk());
  ASSERT_EQ(list->azure_subscriptions_size(), 3);
  EXPECT_EQ(list->azure_subscriptions(2).azure_subscription_id(), "d4c3b2a1-0000-4000-8000-00000000abcd");
  EXPECT_EQ(list->azure_subscriptions(2).subscription_id(), kLegacy);
}

TEST_F(GatewayOperationsTest, ListsMapPagingAndKinds) {
  v1::ListCustomersRequest customers;
  customers.set_page_size(1);
  customers.set_domain_prefix("3f2c");
  absl::StatusOr<v1::ListCustomersResponse> page = Sync<v1::ListCustomersResponse>(
      [&](Done<v1::ListCustomersResponse> d) { ops_->ListCustomers(ctx_, customers, std::move(d)); });
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->customers_size(), 1);
  EXPECT_EQ(page->next_page_token(), "1");
  EXPECT_EQ(pc_.customer_queries.back().domain_prefix, "3f2c");
  customers.set_page_token(page->next_page_token());
  page = Sync<v1::ListCustomersResponse>(
      [&](Done<v1::ListCustomersResponse> d) { ops_->ListCustomers(ctx_, customers, std::move(d)); });
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->customers(0).customer_id(), kOther);
  EXPECT_EQ(page->next_page_token(), "");

  v1::ListSubscriptionsRequest subs;
  subs.set_customer_id(kCustomer);
  absl::StatusOr<v1::ListSubscriptionsResponse> s = Sync<v1::ListSubscriptionsResponse>(
      [&](Done<v1::ListSubscriptionsResponse> d) { ops_->ListSubscriptions(ctx_, subs, std::move(d)); });
  ASSERT_THAT(s, IsOk());
  ASSERT_EQ(s->subscriptions_size(), 3);
  EXPECT_EQ(s->subscriptions(0).kind(), v1::SUBSCRIPTION_KIND_AZURE_PLAN);
  EXPECT_EQ(s->subscriptions(1).kind(), v1::SUBSCRIPTION_KIND_LEGACY_AZURE);
  EXPECT_EQ(s->subscriptions(2).kind(), v1::SUBSCRIPTION_KIND_LICENSE);
  EXPECT_EQ(s->subscriptions(0).create_time().seconds(), 1600000000);

  v1::ListRoleDefinitionsRequest defs;
  defs.set_customer_id(kCustomer);
  defs.set_azure_subscription_id(kAzure);
  absl::StatusOr<v1::ListRoleDefinitionsResponse> d = Sync<v1::ListRoleDefinitionsResponse>(
      [&](Done<v1::ListRoleDefinitionsResponse> done) { ops_->ListRoleDefinitions(ctx_, defs, std::move(done)); });
  ASSERT_THAT(d, IsOk());
  ASSERT_EQ(d->role_definitions_size(), 3);
  EXPECT_EQ(d->role_definitions(0).role_name(), "Contributor");
  EXPECT_EQ(d->role_definitions(1).role_name(), "Reader");
  EXPECT_EQ(d->role_definitions(2).role_type(), v1::ROLE_TYPE_CUSTOM);

  ASSERT_THAT(RunAssign(Assign()), IsOk());
  v1::ListRoleAssignmentsRequest la;
  la.set_customer_id(kCustomer);
  la.set_azure_subscription_id(kAzure);
  la.mutable_principal()->set_user_principal_name(kUpn);
  absl::StatusOr<v1::ListRoleAssignmentsResponse> assignments = Sync<v1::ListRoleAssignmentsResponse>(
      [&](Done<v1::ListRoleAssignmentsResponse> done) { ops_->ListRoleAssignments(ctx_, la, std::move(done)); });
  ASSERT_THAT(assignments, IsOk());
  ASSERT_EQ(assignments->role_assignments_size(), 1);
  EXPECT_EQ(assignments->role_assignments(0).role_name(), "Reader");
}

TEST_F(GatewayOperationsTest, ConcurrentFirstCallsShareOneRoleDefinitionFetch) {
  arm_.hold_definitions = true;
  v1::ListRoleDefinitionsRequest r;
  r.set_customer_id(kCustomer);
  r.set_azure_subscription_id(kAzure);
  std::vector<std::optional<absl::StatusOr<v1::ListRoleDefinitionsResponse>>> results(20);
  for (std::size_t i = 0; i < results.size(); ++i) {
    ops_->ListRoleDefinitions(ctx_, r, [&results, i](absl::StatusOr<v1::ListRoleDefinitionsResponse> result) {
      results[i] = std::move(result);
    });
  }
  EXPECT_EQ(arm_.definition_lists, 1);
  ASSERT_EQ(arm_.definitions_gate.held(), 1u);
  arm_.definitions_gate.ReleaseOne();
  for (const auto& result : results) {
    ASSERT_TRUE(result.has_value());
    ASSERT_THAT(*result, IsOk());
    EXPECT_EQ((*result)->role_definitions_size(), 3);
  }
  EXPECT_EQ(arm_.definition_lists, 1);
}

TEST_F(GatewayOperationsTest, EntitlementsAreCachedForOwnershipChecks) {
  ASSERT_THAT(RunAssign(Assign()), IsOk());
  const int calls = pc_.calls;
  ASSERT_THAT(RunAssign(Assign("Contributor")), IsOk());
  EXPECT_EQ(pc_.calls, calls);
  clock_.now += absl::Minutes(10);
  ASSERT_THAT(RunAssign(Assign("Contributor")), IsOk());
  EXPECT_GT(pc_.calls, calls);
}

}  // namespace
}  // namespace partner::ops
