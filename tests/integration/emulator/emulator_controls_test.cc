// The emulator's test controls, seen on the wire: each puts a service into a documented upstream
// state (CONTRACTS.md) that the seeded data never shows.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "emulator/emulator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/emulator/emulator_client.h"

namespace partner::testing {
namespace {

using ::testing::HasSubstr;

class EmulatorControlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = emulator::Emulator::Start({});
    ASSERT_TRUE(started.ok()) << started.status();
    emu_ = std::move(*started);
    customer_ = emu_->services().customers().front();
    azure_ = customer_.subscriptions.front().azure_subscriptions.front();
  }
  Reply Pc(const std::string& path) {
    return Fetch("GET", absl::StrCat(emu_->base_url(), path), {Bearer(Token(*emu_, kPartnerTenant, kPartnerCenter))});
  }
  Reply Arm(const std::string& method, const std::string& path, const std::string& body = "") {
    return Fetch(method, absl::StrCat(emu_->base_url(), path, "?api-version=2022-04-01"),
                 {Bearer(Token(*emu_, customer_.id, kArm)), "Content-Type: application/json"}, body);
  }

  std::unique_ptr<emulator::Emulator> emu_;
  emulator::Customer customer_;
  std::string azure_;
};

TEST_F(EmulatorControlsTest, ARevokedRelationshipIsPartnerCenter403Code20002UntilRestored) {
  ASSERT_EQ(Pc(absl::StrCat("/v1/customers/", customer_.id)).status, 200);
  ASSERT_TRUE(emu_->services().SetRelationshipRevoked(customer_.id, true));
  for (const std::string& path : {absl::StrCat("/v1/customers/", customer_.id),
                                  absl::StrCat("/v1/customers/", customer_.id, "/subscriptions")}) {
    Reply reply = Pc(path);
    EXPECT_EQ(reply.status, 403) << path;
    EXPECT_EQ(reply.Json()["code"], 20002) << reply.body;
  }
  ASSERT_TRUE(emu_->services().SetRelationshipRevoked(customer_.id, false));
  EXPECT_EQ(Pc(absl::StrCat("/v1/customers/", customer_.id)).status, 200);
  EXPECT_FALSE(emu_->services().SetRelationshipRevoked(kUnknown, true));
}

TEST_F(EmulatorControlsTest, ADeniedSubscriptionIsArm403AuthorizationFailedNamingTheAction) {
  const std::string assignment = absl::StrCat("/subscriptions/", azure_, "/providers/Microsoft.Authorization/roleAssignments/",
                                               "5d1f0c9a-2e7b-48a6-b3c4-e1f0a9d8c7b2");
  ASSERT_TRUE(emu_->services().SetAuthorizationDenied(azure_, true));
  Reply read = Arm("GET", absl::StrCat("/subscriptions/", azure_, "/providers/Microsoft.Authorization/roleDefinitions"));
  EXPECT_EQ(read.status, 403);
  EXPECT_EQ(read.Json()["error"]["code"], "AuthorizationFailed");
  EXPECT_THAT(read.body, HasSubstr("Microsoft.Authorization/roleDefinitions/read"));
  const nlohmann::json body = {
      {"properties",
       {{"roleDefinitionId", absl::StrCat("/subscriptions/", azure_, "/providers/Microsoft.Authorization/roleDefinitions/", kReader)},
        {"principalId", customer_.users.front().id},
        {"principalType", "User"}}}};
  Reply write = Arm("PUT", assignment, body.dump());
  EXPECT_EQ(write.status, 403);
  EXPECT_THAT(write.body, HasSubstr("Microsoft.Authorization/roleAssignments/write"));
  EXPECT_TRUE(emu_->services().role_assignments().empty());

  ASSERT_TRUE(emu_->services().SetAuthorizationDenied(azure_, false));
  EXPECT_EQ(Arm("PUT", assignment, body.dump()).status, 201);
  EXPECT_FALSE(emu_->services().SetAuthorizationDenied(kUnknown, true));
}

TEST_F(EmulatorControlsTest, AnAssignmentMadeElsewhereMakesAnIdenticalPutConflict) {
  const emulator::User& user = customer_.users.front();
  emu_->services().AddRoleAssignment({"5D1F0C9A-2E7B-48A6-B3C4-E1F0A9D8C7B2", absl::StrCat("/subscriptions/", azure_),
                                      kReader, user.id, "User", "made in the portal", absl::Now()});
  Reply listed = Arm("GET", absl::StrCat("/subscriptions/", azure_, "/providers/Microsoft.Authorization/roleAssignments"));
  ASSERT_EQ(listed.status, 200);
  ASSERT_EQ(listed.Json()["value"].size(), 1u);
  EXPECT_EQ(listed.Json()["value"][0]["name"], "5d1f0c9a-2e7b-48a6-b3c4-e1f0a9d8c7b2");

  const nlohmann::json body = {
      {"properties",
       {{"roleDefinitionId", absl::StrCat("/subscriptions/", azure_, "/providers/Microsoft.Authorization/roleDefinitions/", kReader)},
        {"principalId", user.id},
        {"principalType", "User"}}}};
  Reply put = Arm("PUT",
                  absl::StrCat("/subscriptions/", azure_, "/providers/Microsoft.Authorization/roleAssignments/",
                               "0e0e0e0e-0000-4000-8000-000000000001"),
                  body.dump());
  EXPECT_EQ(put.status, 409);
  EXPECT_EQ(put.Json()["error"]["code"], "RoleAssignmentExists");
  EXPECT_THAT(put.body, HasSubstr("5d1f0c9a2e7b48a6b3c4e1f0a9d8c7b2"));
}

}  // namespace
}  // namespace partner::testing
