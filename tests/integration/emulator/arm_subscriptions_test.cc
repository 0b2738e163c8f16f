// ARM's subscription routes over a real socket (CONTRACTS.md §5.3): GET /subscriptions shows only
// the token tenant's subscriptions the app holds a role on, in the documented shape with its
// state; GET /subscriptions/{id} answers one object of the same shape, or 404
// SubscriptionNotFound for an unknown or invisible id.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "emulator/emulator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/emulator/emulator_client.h"

namespace partner::testing {
namespace {

using ::testing::HasSubstr;

class ArmSubscriptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = emulator::Emulator::Start({});
    ASSERT_TRUE(started.ok()) << started.status();
    emu_ = std::move(*started);
    for (const emulator::Customer& c : emu_->services().customers()) {
      if (c.app_consented) {
        consented_ = c;
        break;
      }
    }
  }

  Reply Get(const std::string& tenant, const std::string& path) {
    return Fetch("GET", absl::StrCat(emu_->base_url(), path, "?api-version=2022-12-01"), {Bearer(Token(*emu_, tenant, kArm))});
  }

  // The emulator's own record of the tenant's Azure subscriptions, by id.
  std::map<std::string, emulator::AzureSubscription> SeededIn(const std::string& tenant) {
    std::map<std::string, emulator::AzureSubscription> out;
    for (const emulator::AzureSubscription& a : emu_->services().azure_subscriptions()) {
      if (a.tenant_id == tenant) out[a.id] = a;
    }
    return out;
  }

  static void ExpectContractShape(const nlohmann::json& item, const emulator::AzureSubscription& seeded) {
    EXPECT_EQ(item["id"], absl::StrCat("/subscriptions/", seeded.id));
    EXPECT_EQ(item["subscriptionId"], seeded.id);
    EXPECT_EQ(item["tenantId"], seeded.tenant_id);
    EXPECT_EQ(item["displayName"], seeded.display_name);
    EXPECT_EQ(item["state"], seeded.state);
    EXPECT_EQ(item["authorizationSource"], "RoleBased");
    EXPECT_TRUE(item["managedByTenants"].is_array());
    EXPECT_EQ(item["subscriptionPolicies"]["quotaId"], "CSP_2015-05-01");
    EXPECT_TRUE(item["tags"].is_object());
  }

  std::unique_ptr<emulator::Emulator> emu_;
  emulator::Customer consented_;
};

TEST_F(ArmSubscriptionsTest, ListShowsEachTenantExactlyItsOwnSubscriptionsInTheContractShape) {
  int compared = 0;
  for (const emulator::Customer& customer : emu_->services().customers()) {
    if (!customer.app_consented) continue;
    const std::map<std::string, emulator::AzureSubscription> seeded = SeededIn(customer.id);
    Reply reply = Get(customer.id, "/subscriptions");
    ASSERT_EQ(reply.status, 200) << reply.body;
    const nlohmann::json body = reply.Json();
    EXPECT_TRUE(body["nextLink"].is_null());
    ASSERT_EQ(body["value"].size(), seeded.size()) << customer.id;
    for (const nlohmann::json& item : body["value"]) {
      auto it = seeded.find(item["subscriptionId"].get<std::string>());
      ASSERT_NE(it, seeded.end()) << item.dump();
      ExpectContractShape(item, it->second);
      ++compared;
    }
  }
  EXPECT_GT(compared, 60);
  Reply partner = Get(kPartnerTenant, "/subscriptions");
  ASSERT_EQ(partner.status, 200);
  EXPECT_TRUE(partner.Json()["value"].empty()) << partner.body;
}

TEST_F(ArmSubscriptionsTest, SeededSubscriptionsCoverTheLiveStates) {
  std::set<std::string> states;
  for (const emulator::AzureSubscription& a : emu_->services().azure_subscriptions()) states.insert(a.state);
  EXPECT_EQ(states, (std::set<std::string>{"Disabled", "Enabled", "PastDue", "Warned"}));
}

TEST_F(ArmSubscriptionsTest, GetAnswersTheListShapeOr404SubscriptionNotFound) {
  const emulator::Customer& customer = consented_;
  const std::map<std::string, emulator::AzureSubscription> seeded = SeededIn(customer.id);
  ASSERT_FALSE(seeded.empty());
  const emulator::AzureSubscription& first = seeded.begin()->second;
  Reply one = Get(customer.id, absl::StrCat("/subscriptions/", absl::AsciiStrToUpper(first.id)));
  ASSERT_EQ(one.status, 200) << one.body;
  ExpectContractShape(one.Json(), first);

  Reply unknown = Get(customer.id, absl::StrCat("/subscriptions/", kUnknown));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.Json()["error"]["code"], "SubscriptionNotFound");
  EXPECT_EQ(unknown.Json()["error"]["message"], absl::StrCat("The subscription '", kUnknown, "' could not be found."));
}

TEST_F(ArmSubscriptionsTest, ASubscriptionTheAppLostItsRoleOnIsInvisibleUntilRestored) {
  const emulator::Customer& customer = consented_;
  const std::map<std::string, emulator::AzureSubscription> seeded = SeededIn(customer.id);
  const std::string denied = seeded.begin()->first;
  ASSERT_TRUE(emu_->services().SetAuthorizationDenied(denied, true));

  Reply list = Get(customer.id, "/subscriptions");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.Json()["value"].size(), seeded.size() - 1);
  EXPECT_THAT(list.body, ::testing::Not(HasSubstr(denied)));
  Reply one = Get(customer.id, absl::StrCat("/subscriptions/", denied));
  EXPECT_EQ(one.status, 404);
  EXPECT_EQ(one.Json()["error"]["code"], "SubscriptionNotFound");

  ASSERT_TRUE(emu_->services().SetAuthorizationDenied(denied, false));
  EXPECT_EQ(Get(customer.id, "/subscriptions").Json()["value"].size(), seeded.size());
  EXPECT_EQ(Get(customer.id, absl::StrCat("/subscriptions/", denied)).status, 200);
}

}  // namespace
}  // namespace partner::testing
