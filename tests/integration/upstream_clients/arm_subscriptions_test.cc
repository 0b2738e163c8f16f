// ArmClient::ListSubscriptions over the real pipeline, token provider and curl transport against
// the emulator: each tenant's list matches the emulator's data item by item, an unconsented
// tenant is FAILED_PRECONDITION naming it, and a subscription the app lost its role on is gone.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "emulator/world.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/upstream_clients/client_harness.h"
#include "tests/testing/status_matchers.h"

namespace partner::testing {
namespace {

using ::testing::HasSubstr;

class ArmSubscriptionsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emulator::EmulatorOptions options;
    options.services.seed.customers = 12;
    http::RetryOptions retry;
    retry.max_attempts = 3;
    retry.initial_backoff = absl::Milliseconds(5);
    retry.max_backoff = absl::Milliseconds(50);
    absl::StatusOr<std::unique_ptr<ClientHarness>> harness = ClientHarness::Start(std::move(options), retry);
    ASSERT_TRUE(harness.ok()) << harness.status();
    h_ = *std::move(harness);
  }

  static ops::OpContext Context() {
    ops::OpContext ctx;
    ctx.deadline = absl::Now() + absl::Seconds(30);
    ctx.correlation_id = "5b0c8f8e-arm-subscriptions-test";
    return ctx;
  }

  std::map<std::string, emulator::AzureSubscription> SeededIn(const std::string& tenant) {
    std::map<std::string, emulator::AzureSubscription> out;
    for (const emulator::AzureSubscription& a : h_->emulator().services().azure_subscriptions()) {
      if (a.tenant_id == tenant) out[a.id] = a;
    }
    return out;
  }

  std::unique_ptr<ClientHarness> h_;
};

TEST_F(ArmSubscriptionsClientTest, EachTenantsListMatchesTheEmulatorItemByItem) {
  int compared = 0;
  for (const emulator::Customer& customer : h_->emulator().services().customers()) {
    if (!customer.app_consented) continue;
    const std::map<std::string, emulator::AzureSubscription> seeded = SeededIn(customer.id);
    absl::StatusOr<std::vector<ops::arm::Subscription>> listed = Await(h_->arm().ListSubscriptions(Context(), customer.id));
    ASSERT_THAT(listed, IsOk()) << customer.id;
    ASSERT_EQ(listed->size(), seeded.size()) << customer.id;
    for (const ops::arm::Subscription& s : *listed) {
      auto it = seeded.find(s.subscription_id);
      ASSERT_NE(it, seeded.end()) << s.subscription_id;
      EXPECT_EQ(s.id, absl::StrCat("/subscriptions/", it->second.id));
      EXPECT_EQ(s.tenant_id, customer.id);
      EXPECT_EQ(s.display_name, it->second.display_name);
      EXPECT_EQ(s.state, it->second.state);
      ++compared;
    }
  }
  EXPECT_GE(compared, 20);
}

TEST_F(ArmSubscriptionsClientTest, AnUnconsentedTenantIsFailedPreconditionNamingIt) {
  for (const emulator::Customer& customer : h_->emulator().services().customers()) {
    if (customer.app_consented) continue;
    EXPECT_THAT(Await(h_->arm().ListSubscriptions(Context(), customer.id)),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(customer.id)));
    return;
  }
  FAIL() << "the seed has no unconsented customer";
}

TEST_F(ArmSubscriptionsClientTest, ASubscriptionTheAppLostItsRoleOnIsNotListed) {
  emulator::Customer customer;
  for (const emulator::Customer& c : h_->emulator().services().customers()) {
    if (c.app_consented) customer = c;
  }
  ASSERT_FALSE(customer.id.empty());
  const std::map<std::string, emulator::AzureSubscription> seeded = SeededIn(customer.id);
  const std::string denied = seeded.begin()->first;
  ASSERT_TRUE(h_->emulator().services().SetAuthorizationDenied(denied, true));
  absl::StatusOr<std::vector<ops::arm::Subscription>> listed = Await(h_->arm().ListSubscriptions(Context(), customer.id));
  ASSERT_THAT(listed, IsOk());
  EXPECT_EQ(listed->size(), seeded.size() - 1);
  for (const ops::arm::Subscription& s : *listed) EXPECT_NE(s.subscription_id, denied);
}

}  // namespace
}  // namespace partner::testing
