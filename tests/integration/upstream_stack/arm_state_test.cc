// ListAzureSubscriptions with and without include_arm_state through the real stack against the
// emulator: the opt-in costs one ARM list in the customer's tenant and fills arm_state with what
// ARM says, empty for a subscription the app cannot see; without it ARM is never asked.
#include <map>
#include <string>

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/upstream_stack/stack_harness.h"

namespace partner::testing {
namespace {

using ::testing::HasSubstr;

class ArmStateTest : public StackTest {
 protected:
  std::int64_t ArmLists() {
    const std::map<std::string, std::int64_t> routes = h_->services().counters().requests_by_route;
    auto it = routes.find("arm.list_subscriptions");
    return it == routes.end() ? 0 : it->second;
  }

  grpc::Status List(const std::string& customer, bool include_arm_state, v1::ListAzureSubscriptionsResponse& out) {
    v1::ListAzureSubscriptionsRequest request;
    request.set_customer_id(customer);
    request.set_include_arm_state(include_arm_state);
    return h_->subscription_stub->ListAzureSubscriptions(As(kReaderToken).get(), request, &out);
  }

  // The emulator's ARM state of every Azure subscription, by id.
  std::map<std::string, std::string> SeededStates() {
    std::map<std::string, std::string> out;
    for (const emulator::AzureSubscription& a : h_->services().azure_subscriptions()) out[a.id] = a.state;
    return out;
  }
};

TEST_F(ArmStateTest, WithoutTheOptInArmIsNotAskedAndArmStateStaysEmpty) {
  const emulator::Customer customer = Consented();
  v1::ListAzureSubscriptionsResponse listed;
  ASSERT_TRUE(List(customer.id, false, listed).ok());
  ASSERT_GT(listed.azure_subscriptions_size(), 0);
  for (const v1::AzureSubscription& a : listed.azure_subscriptions()) EXPECT_EQ(a.arm_state(), "") << a.azure_subscription_id();
  EXPECT_EQ(ArmLists(), 0);
}

TEST_F(ArmStateTest, ArmStateIsWhatArmSaysAndEmptyForASubscriptionTheAppCannotSee) {
  const std::map<std::string, std::string> states = SeededStates();
  // Every customer's list, so the seeded non-Enabled states are met too.
  int compared = 0;
  std::map<std::string, int> seen_states;
  for (const emulator::Customer& customer : h_->services().customers()) {
    if (!customer.app_consented) continue;
    v1::ListAzureSubscriptionsResponse listed;
    grpc::Status status = List(absl::AsciiStrToUpper(customer.id), true, listed);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const v1::AzureSubscription& a : listed.azure_subscriptions()) {
      ASSERT_TRUE(states.contains(a.azure_subscription_id())) << a.azure_subscription_id();
      EXPECT_EQ(a.arm_state(), states.at(a.azure_subscription_id())) << a.azure_subscription_id();
      ++seen_states[a.arm_state()];
      ++compared;
    }
  }
  EXPECT_GE(compared, 20);
  EXPECT_GE(seen_states.size(), 2u);

  const emulator::Customer customer = Consented();
  const std::string hidden = FirstAzure(customer);
  ASSERT_TRUE(h_->services().SetAuthorizationDenied(hidden, true));
  v1::ListAzureSubscriptionsResponse listed;
  ASSERT_TRUE(List(customer.id, true, listed).ok());
  bool found = false;
  for (const v1::AzureSubscription& a : listed.azure_subscriptions()) {
    if (a.azure_subscription_id() != hidden) {
      EXPECT_NE(a.arm_state(), "") << a.azure_subscription_id();
      continue;
    }
    found = true;
    EXPECT_EQ(a.arm_state(), "");
  }
  EXPECT_TRUE(found) << "Partner Center still lists " << hidden;
}

TEST_F(ArmStateTest, AnUnconsentedCustomerIsFailedPreconditionOnlyWithTheOptIn) {
  emulator::Customer unconsented;
  for (const emulator::Customer& c : h_->services().customers()) {
    if (!c.app_consented) unconsented = c;
  }
  ASSERT_FALSE(unconsented.id.empty());
  v1::ListAzureSubscriptionsResponse listed;
  EXPECT_TRUE(List(unconsented.id, false, listed).ok());
  grpc::Status status = List(unconsented.id, true, listed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_EQ(Details(status).reason, "ERROR_REASON_APP_NOT_CONSENTED");
  EXPECT_THAT(Lower(status.error_message()), HasSubstr(unconsented.id));
}

}  // namespace
}  // namespace partner::testing
