// Each switchable quirk of CONTRACTS.md §8 on and off, over real sockets: the emulator shows the
// form the switch asks for and nothing of the other, and either form stays a working API (every
// page reachable, deletions done, ids found in either case).
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "emulator/emulator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/emulator/emulator_client.h"

namespace partner::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A quirk switched on (the default) or off, as the test parameter.
class QuirkTest : public ::testing::TestWithParam<bool> {
 protected:
  bool on() const { return GetParam(); }

  void Start(emulator::EmulatorOptions options) {
    auto started = emulator::Emulator::Start(std::move(options));
    ASSERT_TRUE(started.ok()) << started.status();
    emu_ = std::move(*started);
    customer_ = emu_->services().customers().front();
    subscription_ = customer_.subscriptions.front().azure_subscriptions.front();
  }
  std::string Url(const std::string& path) const { return absl::StrCat(emu_->base_url(), path); }
  Reply Pc(const std::string& path, std::vector<std::string> headers = {}) {
    headers.push_back(Bearer(Token(*emu_, kPartnerTenant, kPartnerCenter)));
    return Fetch("GET", Url(path), headers);
  }
  std::string AssignmentUrl(const std::string& name) const {
    return Url(absl::StrCat("/subscriptions/", subscription_, "/providers/Microsoft.Authorization/roleAssignments/", name,
                            "?api-version=2022-04-01"));
  }
  std::string ReaderFor(const std::string& principal, const std::string& principal_type = "User") const {
    nlohmann::json properties = {
        {"roleDefinitionId", absl::StrCat("/subscriptions/", subscription_, "/providers/Microsoft.Authorization/roleDefinitions/", kReader)},
        {"principalId", principal}};
    if (!principal_type.empty()) properties["principalType"] = principal_type;
    return nlohmann::json{{"properties", properties}}.dump();
  }
  std::vector<std::string> ArmHeaders() { return {Bearer(Token(*emu_, customer_.id, kArm)), "Content-Type: application/json"}; }

  std::unique_ptr<emulator::Emulator> emu_;
  emulator::Customer customer_;
  std::string subscription_;
};

std::string OnOff(const ::testing::TestParamInfo<bool>& info) { return info.param ? "On" : "Off"; }

using PartnerCenterBomTest = QuirkTest;

TEST_P(PartnerCenterBomTest, BodiesStartWithABomOnlyWhenOn) {
  emulator::EmulatorOptions options;
  options.services.partner_center_bom = on();
  Start(options);
  for (const std::string& path : {std::string("/v1/customers?size=2"), absl::StrCat("/v1/customers/", customer_.id),
                                  std::string("/v1/customers/0badc0de-0000-4000-8000-000000000404")}) {
    Reply reply = Pc(path);
    ASSERT_NE(reply.status, 0) << path;
    EXPECT_EQ(absl::StartsWith(reply.body, "\xEF\xBB\xBF{"), on()) << path;
    EXPECT_EQ(absl::StartsWith(reply.body, "{"), !on()) << path;
    EXPECT_TRUE(reply.Json().is_object()) << path;
  }
}

INSTANTIATE_TEST_SUITE_P(Switch, PartnerCenterBomTest, ::testing::Bool(), OnOff);

using PartnerCenterErrorCodeTest = QuirkTest;

TEST_P(PartnerCenterErrorCodeTest, CodesAreNumbersWhenOnAndStringsWhenOff) {
  emulator::EmulatorOptions options;
  options.services.partner_center_numeric_error_codes = on();
  Start(options);
  Reply missing = Pc("/v1/customers/0badc0de-0000-4000-8000-000000000404");
  ASSERT_EQ(missing.status, 404);
  EXPECT_EQ(missing.Json()["code"], on() ? nlohmann::json(1000) : nlohmann::json("1000")) << missing.body;
  EXPECT_EQ(missing.Json()["source"], "PartnerFD");
  Reply no_token = Fetch("GET", Url("/v1/customers?size=1"));
  ASSERT_EQ(no_token.status, 401);
  EXPECT_EQ(no_token.Json()["code"], on() ? nlohmann::json(800001) : nlohmann::json("800001")) << no_token.body;
  Reply unknown_route = Pc("/v1/nothing-here");
  EXPECT_EQ(unknown_route.Json()["statusCode"], 404) << "the gateway shape carries a number either way";
}

INSTANTIATE_TEST_SUITE_P(Switch, PartnerCenterErrorCodeTest, ::testing::Bool(), OnOff);

struct NextLinkCase {
  bool v1;
  int size;
};

void PrintTo(const NextLinkCase& c, std::ostream* out) { *out << (c.v1 ? "with" : "without") << " /v1, size " << c.size; }

class PartnerCenterNextLinkTest : public ::testing::TestWithParam<NextLinkCase> {};

// Following links.next by CONTRACTS.md §2.4 rule 5 (a uri without /v1 gets it prefixed) walks
// every customer once, whichever form the links take.
TEST_P(PartnerCenterNextLinkTest, EitherFormOfTheLinkWalksEveryPage) {
  emulator::EmulatorOptions options;
  options.services.partner_center_next_link_v1 = GetParam().v1;
  auto emu = emulator::Emulator::Start(options);
  ASSERT_TRUE(emu.ok()) << emu.status();
  const std::string bearer = Bearer(Token(**emu, kPartnerTenant, kPartnerCenter));
  std::vector<std::string> seen;
  std::string path = absl::StrCat("/v1/customers?size=", GetParam().size);
  std::vector<std::string> headers;
  int pages = 0;
  while (pages++ < 100) {
    std::vector<std::string> with_token = headers;
    with_token.push_back(bearer);
    Reply reply = Fetch("GET", absl::StrCat((*emu)->base_url(), path), with_token);
    ASSERT_EQ(reply.status, 200) << path << ": " << reply.body;
    const nlohmann::json page = reply.Json();
    for (const auto& item : page["items"]) seen.push_back(item["id"]);
    if (!page["links"].contains("next")) break;
    const nlohmann::json& next = page["links"]["next"];
    const std::string uri = next["uri"];
    EXPECT_THAT(uri, StartsWith(GetParam().v1 ? "/v1/customers?" : "/customers?"));
    path = absl::StartsWith(uri, "/v1/") ? uri : absl::StrCat("/v1", uri);
    headers = {absl::StrCat(next["headers"][0]["key"].get<std::string>(), ": ", next["headers"][0]["value"].get<std::string>())};
  }
  const std::vector<emulator::Customer> customers = (*emu)->services().customers();
  ASSERT_EQ(seen.size(), customers.size());
  for (std::size_t i = 0; i < customers.size(); ++i) EXPECT_EQ(seen[i], customers[i].id) << "customer " << i;
  EXPECT_EQ(pages, (static_cast<int>(customers.size()) + GetParam().size - 1) / GetParam().size);
}

INSTANTIATE_TEST_SUITE_P(Switch, PartnerCenterNextLinkTest,
                         ::testing::Values(NextLinkCase{true, 7}, NextLinkCase{false, 7}, NextLinkCase{true, 59},
                                           NextLinkCase{false, 59}, NextLinkCase{false, 1}),
                         [](const ::testing::TestParamInfo<NextLinkCase>& info) {
                           return absl::StrCat(info.param.v1 ? "WithV1" : "WithoutV1", "Size", info.param.size);
                         });

using PartnerCenterSubscriptionIdCaseTest = QuirkTest;

TEST_P(PartnerCenterSubscriptionIdCaseTest, IdsAreInTheSwitchedCaseAndFoundInEither) {
  emulator::EmulatorOptions options;
  options.services.partner_center_upper_case_subscription_ids = on();
  Start(options);
  Reply list = Pc(absl::StrCat("/v1/customers/", customer_.id, "/subscriptions"));
  ASSERT_EQ(list.status, 200) << list.body;
  const nlohmann::json items = list.Json()["items"];
  ASSERT_FALSE(items.empty());
  bool any_letter = false;
  for (const auto& item : items) {
    const std::string id = item["id"];
    EXPECT_EQ(id, on() ? absl::AsciiStrToUpper(id) : absl::AsciiStrToLower(id));
    any_letter = any_letter || absl::AsciiStrToUpper(id) != absl::AsciiStrToLower(id);
    EXPECT_THAT(item["links"]["self"]["uri"].get<std::string>(), HasSubstr(id));
    for (const std::string& asked : {absl::AsciiStrToUpper(id), absl::AsciiStrToLower(id)}) {
      Reply one = Pc(absl::StrCat("/v1/customers/", customer_.id, "/subscriptions/", asked));
      ASSERT_EQ(one.status, 200) << asked;
      EXPECT_EQ(one.Json()["id"], id);
    }
  }
  ASSERT_TRUE(any_letter) << "ids without letters could not show their case";
  const std::string plan = customer_.subscriptions.front().id;
  Reply entitlements = Pc(absl::StrCat("/v1/customers/", customer_.id, "/subscriptions/", plan, "/azureEntitlements"));
  ASSERT_EQ(entitlements.status, 200) << entitlements.body;
  EXPECT_EQ(entitlements.Json()["items"][0]["subscriptionId"], on() ? absl::AsciiStrToUpper(plan) : absl::AsciiStrToLower(plan));
  EXPECT_EQ(entitlements.Json()["items"][0]["id"], absl::AsciiStrToLower(subscription_)) << "ARM ids stay lower case";
}

INSTANTIATE_TEST_SUITE_P(Switch, PartnerCenterSubscriptionIdCaseTest, ::testing::Bool(), OnOff);

// Not a switch: CONTRACTS.md §5.6 documents both answers, each for its own state.
using ArmDeleteTest = QuirkTest;

TEST_F(ArmDeleteTest, ADeletionAnswers200WithTheAssignmentAndADeletionOfNothing204) {
  Start(emulator::EmulatorOptions{});
  const std::string name = "4f8a2d6c-b1e3-47a9-9c05-e2d7b3f18a64";
  ASSERT_EQ(Fetch("PUT", AssignmentUrl(name), ArmHeaders(), ReaderFor(customer_.users.front().id)).status, 201);
  Reply deleted = Fetch("DELETE", AssignmentUrl(name), ArmHeaders());
  EXPECT_EQ(deleted.status, 200);
  EXPECT_EQ(deleted.Json()["name"], name) << deleted.body;
  EXPECT_TRUE(emu_->services().role_assignments().empty());
  Reply again = Fetch("DELETE", AssignmentUrl(name), ArmHeaders());
  EXPECT_EQ(again.status, 204) << "already gone";
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(Fetch("GET", AssignmentUrl(name), ArmHeaders()).status, 404);
}

using ArmExistsMessageTest = QuirkTest;

TEST_P(ArmExistsMessageTest, AConflictNamesTheExistingAssignmentOnlyWhenOn) {
  emulator::EmulatorOptions options;
  options.services.arm_exists_names_existing_id = on();
  Start(options);
  const std::string name = "4f8a2d6c-b1e3-47a9-9c05-e2d7b3f18a64";
  const std::string user = customer_.users.front().id;
  ASSERT_EQ(Fetch("PUT", AssignmentUrl(name), ArmHeaders(), ReaderFor(user)).status, 201);
  Reply conflict = Fetch("PUT", AssignmentUrl("5d1f0c9a-2e7b-48a6-b3c4-e1f0a9d8c7b2"), ArmHeaders(), ReaderFor(user));
  ASSERT_EQ(conflict.status, 409);
  EXPECT_EQ(conflict.Json()["error"]["code"], "RoleAssignmentExists");
  const std::string message = conflict.Json()["error"]["message"];
  if (on()) {
    EXPECT_THAT(message, HasSubstr(absl::StrReplaceAll(name, {{"-", ""}})));
  } else {
    EXPECT_EQ(message, "The role assignment already exists.");
  }
}

INSTANTIATE_TEST_SUITE_P(Switch, ArmExistsMessageTest, ::testing::Bool(), OnOff);

using ArmThrottlingTest = QuirkTest;

// The read bucket holds 250 and refills 25 a second; back-to-back reads drain it long before
// 2 000 requests when throttling is on, and never meet a 429 when it is off.
TEST_P(ArmThrottlingTest, ReadsMeet429WithRetryAfterOnlyWhenOn) {
  emulator::EmulatorOptions options;
  options.services.arm_throttling = on();
  Start(options);
  const std::vector<std::string> headers = ArmHeaders();
  const std::string url = Url(absl::StrCat("/subscriptions/", subscription_, "?api-version=2022-12-01"));
  Reply first = Fetch("GET", url, headers);
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.headers["x-ms-ratelimit-remaining-subscription-reads"], "249");
  Reply throttled;
  const int requests = on() ? 2000 : 300;
  for (int i = 0; i < requests && throttled.status != 429; ++i) {
    Reply reply = Fetch("GET", url, headers);
    ASSERT_TRUE(reply.status == 200 || reply.status == 429) << reply.status << " " << reply.body;
    if (reply.status == 429) throttled = reply;
  }
  if (on()) {
    ASSERT_EQ(throttled.status, 429);
    EXPECT_EQ(throttled.Json()["error"]["code"], "SubscriptionRequestsThrottled");
    EXPECT_EQ(throttled.headers["retry-after"], "1");
  } else {
    EXPECT_EQ(throttled.status, 0) << throttled.body;
  }
}

INSTANTIATE_TEST_SUITE_P(Switch, ArmThrottlingTest, ::testing::Bool(), OnOff);

using GraphRetryAfterTest = QuirkTest;

TEST_P(GraphRetryAfterTest, InjectedThrottlingWritesFractionalSecondsOnlyWhenOn) {
  emulator::EmulatorOptions options;
  options.services.graph_fractional_retry_after = on();
  options.faults.throttle_rate = 1;
  options.faults.throttle_retry_after = absl::Milliseconds(1500);
  Start(options);
  Reply reply = Fetch("GET", Url("/v1.0/users"));
  ASSERT_EQ(reply.status, 429);
  EXPECT_EQ(reply.headers["retry-after"], on() ? "1.500" : "2");
  EXPECT_EQ(reply.Json()["error"]["code"], "TooManyRequests");
  Reply arm = Fetch("GET", Url("/subscriptions?api-version=2022-12-01"));
  EXPECT_EQ(arm.headers["retry-after"], "2") << "other services write whole seconds either way";
}

INSTANTIATE_TEST_SUITE_P(Switch, GraphRetryAfterTest, ::testing::Bool(), OnOff);

// The PrincipalNotFound window is a duration: zero switches the quirk off.
TEST(PrincipalReplicationTest, WithNoWindowANewUserIsAssignableWithoutPrincipalType) {
  for (const absl::Duration window : {absl::ZeroDuration(), absl::Hours(1)}) {
    emulator::EmulatorOptions options;
    options.services.principal_replication_delay = window;
    auto emu = emulator::Emulator::Start(options);
    ASSERT_TRUE(emu.ok()) << emu.status();
    const emulator::Customer customer = (*emu)->services().customers().front();
    const std::string subscription = customer.subscriptions.front().azure_subscriptions.front();
    Reply user = Fetch("POST", absl::StrCat((*emu)->base_url(), "/v1.0/users"),
                       {Bearer(Token(**emu, customer.id, kGraph)), "Content-Type: application/json"},
                       nlohmann::json{{"accountEnabled", true}, {"displayName", "Ada Reyes"}, {"mailNickname", "ada.reyes"},
                                      {"userPrincipalName", absl::StrCat("ada.reyes@", customer.domain)},
                                      {"passwordProfile", {{"password", "Vq3#nT8!kLw2"}}}}
                           .dump());
    ASSERT_EQ(user.status, 201) << user.body;
    const nlohmann::json body = {
        {"properties",
         {{"roleDefinitionId", absl::StrCat("/subscriptions/", subscription, "/providers/Microsoft.Authorization/roleDefinitions/", kReader)},
          {"principalId", user.Json()["id"]}}}};
    Reply put = Fetch("PUT",
                      absl::StrCat((*emu)->base_url(), "/subscriptions/", subscription,
                                   "/providers/Microsoft.Authorization/roleAssignments/11111111-2222-4333-8444-555555555555?api-version=2022-04-01"),
                      {Bearer(Token(**emu, customer.id, kArm)), "Content-Type: application/json"}, body.dump());
    if (window == absl::ZeroDuration()) {
      EXPECT_EQ(put.status, 201) << put.body;
    } else {
      EXPECT_EQ(put.status, 400);
      EXPECT_EQ(put.Json()["error"]["code"], "PrincipalNotFound");
    }
  }
}

}  // namespace
}  // namespace partner::testing
