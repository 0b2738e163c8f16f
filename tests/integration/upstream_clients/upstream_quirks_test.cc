// The typed clients against the emulator with each switchable quirk of CONTRACTS.md §8 in its
// other form (the defaults are what every other client test meets): the clients must cope with
// both forms, as the contract asks of them.
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "emulator/world.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ops/error_reason.h"
#include "tests/integration/upstream_clients/client_harness.h"
#include "tests/testing/status_matchers.h"

namespace partner::testing {
namespace {

using ::testing::Contains;
using ::testing::Pair;

constexpr char kReader[] = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

std::unique_ptr<ClientHarness> StartWith(void (*flip)(emulator::ServiceOptions&), int max_attempts = 3) {
  emulator::EmulatorOptions options;
  options.services.seed.customers = 8;
  options.services.arm_throttling = false;
  flip(options.services);
  http::RetryOptions retry;
  retry.max_attempts = max_attempts;
  retry.initial_backoff = absl::Milliseconds(5);
  retry.max_backoff = absl::Milliseconds(50);
  absl::StatusOr<std::unique_ptr<ClientHarness>> harness = ClientHarness::Start(std::move(options), retry);
  EXPECT_TRUE(harness.ok()) << harness.status();
  return harness.ok() ? *std::move(harness) : nullptr;
}

ops::OpContext Context() {
  ops::OpContext ctx;
  ctx.deadline = absl::Now() + absl::Seconds(30);
  ctx.correlation_id = "5b0c8f8e-upstream-quirks-test";
  return ctx;
}

// Every customer through the client's paging, page size 3.
std::vector<std::string> AllCustomerIds(ClientHarness& h) {
  std::vector<std::string> ids;
  ops::pc::CustomerQuery query;
  query.size = 3;
  for (int page = 0; page < 100; ++page) {
    absl::StatusOr<ops::pc::CustomerPage> got = Await(h.partner_center().ListCustomers(Context(), query));
    EXPECT_THAT(got, IsOk());
    if (!got.ok()) break;
    for (const ops::pc::Customer& c : got->customers) ids.push_back(c.id);
    if (got->continuation.empty()) break;
    query.continuation = got->continuation;
  }
  return ids;
}

std::vector<std::string> SeededCustomerIds(ClientHarness& h) {
  std::vector<std::string> ids;
  for (const emulator::Customer& c : h.emulator().services().customers()) ids.push_back(c.id);
  return ids;
}

// The first customer with an Azure plan whose tenant consented the app, and its first Azure
// subscription.
struct Target {
  emulator::Customer customer;
  std::string subscription;
};

Target FirstTarget(ClientHarness& h) {
  for (const emulator::Customer& c : h.emulator().services().customers()) {
    if (c.app_consented && !c.subscriptions.front().azure_subscriptions.empty()) {
      return {c, c.subscriptions.front().azure_subscriptions.front()};
    }
  }
  ADD_FAILURE() << "no consented customer with an Azure plan";
  return {};
}

ops::arm::RoleAssignmentProperties ReaderFor(const Target& t) {
  ops::arm::RoleAssignmentProperties properties;
  properties.role_definition_id =
      absl::StrCat("/subscriptions/", t.subscription, "/providers/Microsoft.Authorization/roleDefinitions/", kReader);
  properties.principal_id = t.customer.users.front().id;
  properties.principal_type = "User";
  return properties;
}

TEST(UpstreamQuirksTest, PartnerCenterWithoutABomIsReadTheSame) {
  std::unique_ptr<ClientHarness> h = StartWith([](emulator::ServiceOptions& o) { o.partner_center_bom = false; });
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(AllCustomerIds(*h), SeededCustomerIds(*h));
  const emulator::Customer want = h->emulator().services().customers().front();
  absl::StatusOr<ops::pc::Customer> got = Await(h->partner_center().GetCustomer(Context(), want.id));
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->company_name, want.company_name);
}

TEST(UpstreamQuirksTest, NextLinksWithoutV1WalkEveryPage) {
  std::unique_ptr<ClientHarness> h = StartWith([](emulator::ServiceOptions& o) { o.partner_center_next_link_v1 = false; });
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(AllCustomerIds(*h), SeededCustomerIds(*h));
}

TEST(UpstreamQuirksTest, StringErrorCodesMapLikeNumericOnes) {
  std::unique_ptr<ClientHarness> h = StartWith([](emulator::ServiceOptions& o) { o.partner_center_numeric_error_codes = false; });
  ASSERT_NE(h, nullptr);
  absl::Status missing = Await(h->partner_center().GetCustomer(Context(), "0badc0de-0000-4000-8000-000000000404")).status();
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ops::GetUpstreamDetails(missing), Contains(Pair("upstreamCode", "1000")));
  const emulator::Customer revoked = h->emulator().services().customers().front();
  ASSERT_TRUE(h->emulator().services().SetRelationshipRevoked(revoked.id, true));
  absl::Status denied = Await(h->partner_center().GetCustomer(Context(), revoked.id)).status();
  EXPECT_THAT(ops::GetUpstreamDetails(denied), Contains(Pair("upstreamCode", "20002")));
}

TEST(UpstreamQuirksTest, LowerCaseSubscriptionIdsAreFollowedToTheirEntitlements) {
  std::unique_ptr<ClientHarness> h =
      StartWith([](emulator::ServiceOptions& o) { o.partner_center_upper_case_subscription_ids = false; });
  ASSERT_NE(h, nullptr);
  const Target t = FirstTarget(*h);
  absl::StatusOr<std::vector<ops::pc::Subscription>> subscriptions =
      Await(h->partner_center().ListSubscriptions(Context(), t.customer.id));
  ASSERT_THAT(subscriptions, IsOk());
  ASSERT_EQ(subscriptions->size(), t.customer.subscriptions.size());
  for (std::size_t i = 0; i < subscriptions->size(); ++i) {
    EXPECT_TRUE(absl::EqualsIgnoreCase((*subscriptions)[i].id, t.customer.subscriptions[i].id)) << (*subscriptions)[i].id;
  }
  absl::StatusOr<std::vector<ops::pc::AzureEntitlement>> entitlements =
      Await(h->partner_center().ListAzureEntitlements(Context(), t.customer.id, subscriptions->front().id));
  ASSERT_THAT(entitlements, IsOk());
  ASSERT_FALSE(entitlements->empty());
  EXPECT_EQ(entitlements->front().id, t.subscription);
  absl::StatusOr<ops::pc::Subscription> one =
      Await(h->partner_center().GetSubscription(Context(), t.customer.id, subscriptions->front().id));
  ASSERT_THAT(one, IsOk());
  EXPECT_EQ(one->id, subscriptions->front().id);
}

TEST(UpstreamQuirksTest, AConflictWithoutTheExistingIdIsStillAlreadyExists) {
  std::unique_ptr<ClientHarness> h = StartWith([](emulator::ServiceOptions& o) { o.arm_exists_names_existing_id = false; });
  ASSERT_NE(h, nullptr);
  const Target t = FirstTarget(*h);
  const std::string scope = absl::StrCat("/subscriptions/", t.subscription);
  ASSERT_THAT(Await(h->arm().PutRoleAssignment(Context(), t.customer.id, scope, "4f8a2d6c-b1e3-47a9-9c05-e2d7b3f18a64", ReaderFor(t))),
              IsOk());
  absl::Status conflict =
      Await(h->arm().PutRoleAssignment(Context(), t.customer.id, scope, "5d1f0c9a-2e7b-48a6-b3c4-e1f0a9d8c7b2", ReaderFor(t)))
          .status();
  EXPECT_THAT(conflict, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(ops::GetUpstreamDetails(conflict), Contains(Pair("upstreamCode", "RoleAssignmentExists")));
}

TEST(UpstreamQuirksTest, GraphRetryAfterInWholeSecondsIsTheRetryDelay) {
  std::unique_ptr<ClientHarness> h = StartWith([](emulator::ServiceOptions& o) { o.graph_fractional_retry_after = false; }, 1);
  ASSERT_NE(h, nullptr);
  const Target t = FirstTarget(*h);
  ASSERT_THAT(Await(h->graph().ListUsers(Context(), t.customer.id, ops::graph::UserQuery{})), IsOk()) << "token first";
  emulator::FaultOptions faults;
  faults.throttle_rate = 1;
  faults.throttle_retry_after = absl::Milliseconds(1500);
  h->emulator().SetFaults(faults);
  absl::Status throttled = Await(h->graph().ListUsers(Context(), t.customer.id, ops::graph::UserQuery{})).status();
  EXPECT_THAT(throttled, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(ops::GetRetryDelay(throttled), std::optional<absl::Duration>(absl::Seconds(2)));
}

}  // namespace
}  // namespace partner::testing
