// The emulator over real sockets, checked against shared/upstream/CONTRACTS.md rather than against
// our own clients: token endpoint, Partner Center, ARM, Graph, auth rules, quirks and faults.
#include <openssl/ssl.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "emulator/emulator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/emulator/emulator_client.h"

namespace partner::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class EmulatorTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(emulator::EmulatorOptions()); }

  void Start(emulator::EmulatorOptions options) {
    emu_.reset();
    auto started = emulator::Emulator::Start(std::move(options));
    ASSERT_TRUE(started.ok()) << started.status();
    emu_ = std::move(*started);
  }

  std::string Url(const std::string& path) const { return absl::StrCat(emu_->base_url(), path); }
  Reply Pc(const std::string& path, std::vector<std::string> headers = {}) {
    headers.push_back(Bearer(Token(*emu_, kPartnerTenant, kPartnerCenter)));
    return Fetch("GET", Url(path), headers);
  }
  emulator::Customer FirstCustomer() const { return emu_->services().customers().front(); }
  std::string AzureSubscriptionOf(const emulator::Customer& customer) const {
    return customer.subscriptions.front().azure_subscriptions.front();
  }
  std::string AssignmentUrl(const std::string& subscription, const std::string& name) const {
    return Url(absl::StrCat("/subscriptions/", subscription, "/providers/Microsoft.Authorization/roleAssignments/", name,
                            "?api-version=2022-04-01"));
  }
  static std::string AssignmentBody(const std::string& subscription, const std::string& role, const std::string& principal,
                                    const std::string& principal_type = "User") {
    nlohmann::json properties = {
        {"roleDefinitionId", absl::StrCat("/subscriptions/", subscription, "/providers/Microsoft.Authorization/roleDefinitions/", role)},
        {"principalId", principal}};
    if (!principal_type.empty()) properties["principalType"] = principal_type;
    return nlohmann::json{{"properties", properties}}.dump();
  }

  // Graph POST /users of a new user in the customer's tenant.
  Reply CreateOwenTate(const emulator::Customer& customer) {
    return Fetch("POST", Url("/v1.0/users"), {Bearer(Token(*emu_, customer.id, kGraph)), "Content-Type: application/json"},
                 nlohmann::json{{"accountEnabled", true}, {"displayName", "Owen Tate"}, {"mailNickname", "owen.tate"},
                                {"userPrincipalName", absl::StrCat("owen.tate@", customer.domain)},
                                {"passwordProfile", {{"forceChangePasswordNextSignIn", true}, {"password", "Vq3#nT8!kLw2"}}}}
                     .dump());
  }

  std::unique_ptr<emulator::Emulator> emu_;
};

TEST_F(EmulatorTest, TokenEndpointIssuesV2TokensForAClientSecret) {
  Reply reply = RequestToken(*emu_, kPartnerTenant, absl::StrCat(kPartnerCenter, "/.default"));
  ASSERT_EQ(reply.status, 200) << reply.body;
  nlohmann::json json = reply.Json();
  EXPECT_EQ(json["token_type"], "Bearer");
  EXPECT_TRUE(json["expires_in"].is_number());
  EXPECT_TRUE(json["ext_expires_in"].is_number());
  EXPECT_FALSE(json["access_token"].get<std::string>().empty());
  EXPECT_EQ(reply.headers["cache-control"], "no-store, no-cache");
}

TEST_F(EmulatorTest, TokenEndpointV1AnswersNumbersAsStrings) {
  const emulator::Customer customer = FirstCustomer();
  Reply reply = Fetch("POST", Url(absl::StrCat("/", customer.id, "/oauth2/token")), {"Content-Type: application/x-www-form-urlencoded"},
                      absl::StrCat("grant_type=client_credentials&client_id=0d7e2f4a-91c3-4b6e-8a55-3f1e9c2b7d60",
                                   "&client_secret=sandbox-client-secret&resource=", FormEncode(kArm)));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_TRUE(reply.Json()["expires_in"].is_string());
  EXPECT_EQ(reply.Json()["resource"], kArm);
}

TEST_F(EmulatorTest, TokenErrorsCarryTheirAadstsCodes) {
  Reply wrong_secret = RequestToken(*emu_, kPartnerTenant, absl::StrCat(kArm, "/.default"), "the-secret-id");
  EXPECT_EQ(wrong_secret.status, 401);
  EXPECT_EQ(wrong_secret.Json()["error"], "invalid_client");
  EXPECT_EQ(wrong_secret.Json()["error_codes"][0], 7000215);
  EXPECT_THAT(wrong_secret.Json()["error_description"].get<std::string>(), HasSubstr("\r\nTrace ID: "));

  emulator::Customer unconsented;
  for (const emulator::Customer& customer : emu_->services().customers()) {
    if (!customer.app_consented) unconsented = customer;
  }
  ASSERT_FALSE(unconsented.id.empty()) << "the seeded data has an unconsented customer";
  Reply not_consented = RequestToken(*emu_, unconsented.id, absl::StrCat(kArm, "/.default"));
  EXPECT_EQ(not_consented.status, 400);
  EXPECT_EQ(not_consented.Json()["error"], "unauthorized_client");
  EXPECT_THAT(not_consented.Json()["error_description"].get<std::string>(), StartsWith("AADSTS700016: "));

  Reply unknown_tenant = RequestToken(*emu_, "00000000-0000-4000-8000-000000000009", absl::StrCat(kArm, "/.default"));
  EXPECT_EQ(unknown_tenant.Json()["error_codes"][0], 90002);

  Reply two_resources = RequestToken(*emu_, kPartnerTenant, absl::StrCat(kArm, "/.default ", kGraph, "/.default"));
  EXPECT_EQ(two_resources.Json()["error"], "invalid_scope");
}

TEST_F(EmulatorTest, PartnerCenterBodiesStartWithABomAndEchoRequestIds) {
  Reply reply = Pc("/v1/customers?size=2", {"MS-RequestId: 0b6e3d91-7c2a-4f58-b4e1-5d9a2c8f7e03", "MS-CorrelationId: c1"});
  ASSERT_EQ(reply.status, 200);
  EXPECT_THAT(reply.body, StartsWith("\xEF\xBB\xBF{"));
  EXPECT_EQ(reply.headers["ms-requestid"], "0b6e3d91-7c2a-4f58-b4e1-5d9a2c8f7e03");
  EXPECT_EQ(reply.headers["ms-correlationid"], "c1");
}

TEST_F(EmulatorTest, CustomerPagesFollowTheNextLinkAndItsContinuationHeader) {
  std::vector<std::string> seen;
  std::string path = "/v1/customers?size=7";
  std::vector<std::string> headers;
  while (true) {
    Reply reply = Pc(path, headers);
    ASSERT_EQ(reply.status, 200) << reply.body;
    nlohmann::json page = reply.Json();
    EXPECT_EQ(page["totalCount"], page["items"].size());
    for (const auto& item : page["items"]) {
      seen.push_back(item["id"]);
      EXPECT_THAT(item["links"]["self"]["uri"].get<std::string>(), StartsWith("/customers/"));
      EXPECT_FALSE(item.contains("allowDelegatedAccess"));
    }
    if (!page["links"].contains("next")) {
      EXPECT_FALSE(page.contains("continuationToken"));
      break;
    }
    const nlohmann::json& next = page["links"]["next"];
    EXPECT_THAT(next["uri"].get<std::string>(), StartsWith("/v1/customers?"));
    EXPECT_EQ(next["headers"][0]["value"], page["continuationToken"]);
    path = next["uri"];
    headers = {absl::StrCat(next["headers"][0]["key"].get<std::string>(), ": ", next["headers"][0]["value"].get<std::string>())};
  }
  EXPECT_EQ(seen.size(), 60u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 60u);
}

TEST_F(EmulatorTest, CustomerFilterMatchesCompanyNamePrefixIgnoringCase) {
  const std::string filter = FormEncode(R"({"Field":"CompanyName","Value":"fabrikam","Operator":"starts_with"})");
  Reply reply = Pc(absl::StrCat("/v1/customers?size=0&filter=", filter));
  ASSERT_EQ(reply.status, 200) << reply.body;
  ASSERT_FALSE(reply.Json()["items"].empty());
  const nlohmann::json page = reply.Json();
  for (const auto& item : page["items"]) {
    EXPECT_THAT(item["companyProfile"]["companyName"].get<std::string>(), StartsWith("Fabrikam"));
  }
}

TEST_F(EmulatorTest, IllFormedUtf8EchoedInAnErrorBecomesAReplacementCharacter) {
  // A percent-decoded path segment is any bytes; the error that quotes it used to end the
  // emulator (nlohmann's dump() throws on ill-formed UTF-8 inside a libevent callback).
  Reply bad_id = Pc("/v1/customers/%FFx");
  ASSERT_EQ(bad_id.status, 400) << bad_id.body;
  EXPECT_EQ(bad_id.Json()["description"], "The customer id '\xEF\xBF\xBDx' is not valid.");
  Reply bad_size = Pc("/v1/customers?size=%C3");
  ASSERT_EQ(bad_size.status, 400) << bad_size.body;
  EXPECT_EQ(bad_size.Json()["description"], "The size parameter is invalid: '\xEF\xBF\xBD'.");
  EXPECT_EQ(Pc("/v1/customers?size=1").status, 200) << "the emulator still serves";
}

TEST_F(EmulatorTest, PartnerCenterErrorsUseNumericCodesAndTheGatewayShape) {
  Reply unknown = Pc("/v1/customers/00000000-0000-4000-8000-000000000001");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_TRUE(unknown.Json()["code"].is_number());
  EXPECT_EQ(unknown.Json()["code"], 1000);
  EXPECT_EQ(unknown.Json()["source"], "PartnerFD");
  EXPECT_EQ(Pc("/v1/customers/not-a-guid").status, 400);
  Reply route = Pc("/v1/nothing-here");
  EXPECT_EQ(route.status, 404);
  EXPECT_EQ(route.Json()["statusCode"], 404);
  const emulator::Customer customer = FirstCustomer();
  Reply users = Pc(absl::StrCat("/v1/customers/", customer.id, "/users"));
  EXPECT_EQ(users.status, 403) << "user APIs need an app+user token";
  Reply no_token = Fetch("GET", Url("/v1/customers?size=1"));
  EXPECT_EQ(no_token.status, 401);
  EXPECT_THAT(no_token.headers["www-authenticate"], StartsWith("OAuth realm=urn:cpsvc:cpid:"));
  Reply arm_token = Fetch("GET", Url("/v1/customers?size=1"), {Bearer(Token(*emu_, kPartnerTenant, kArm))});
  EXPECT_EQ(arm_token.status, 401) << "a token for another audience";
}

TEST_F(EmulatorTest, SubscriptionsHaveUpperCaseIdsAndAzurePlanEntitlements) {
  const emulator::Customer customer = FirstCustomer();
  Reply list = Pc(absl::StrCat("/v1/customers/", customer.id, "/subscriptions"));
  ASSERT_EQ(list.status, 200);
  const nlohmann::json plan = list.Json()["items"][0];
  EXPECT_THAT(plan["offerId"].get<std::string>(), StartsWith("DZH318Z0BPS6"));
  const std::string id = plan["id"];
  EXPECT_EQ(id, absl::AsciiStrToUpper(id));
  EXPECT_EQ(Pc(absl::StrCat("/v1/customers/", customer.id, "/subscriptions/", absl::AsciiStrToLower(id))).status, 200)
      << "ids compare case-insensitively";
  Reply entitlements = Pc(absl::StrCat("/v1/customers/", customer.id, "/subscriptions/", id, "/azureentitlements"));
  ASSERT_EQ(entitlements.status, 200);
  EXPECT_EQ(entitlements.Json()["items"][0]["id"], AzureSubscriptionOf(customer));
  EXPECT_EQ(entitlements.Json()["items"][0]["subscriptionId"], id);
  Reply missing = Pc(absl::StrCat("/v1/customers/", customer.id, "/subscriptions/00000000-0000-4000-8000-000000000001"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.Json()["code"], 20003);
}

TEST_F(EmulatorTest, ArmRequiresApiVersionAndATokenFromTheSubscriptionsTenant) {
  const emulator::Customer customer = FirstCustomer();
  const std::string subscription = AzureSubscriptionOf(customer);
  const std::string url = Url(absl::StrCat("/subscriptions/", subscription, "/providers/Microsoft.Authorization/roleDefinitions"));
  Reply no_version = Fetch("GET", url, {Bearer(Token(*emu_, customer.id, kArm))});
  EXPECT_EQ(no_version.status, 400);
  EXPECT_EQ(no_version.Json()["error"]["code"], "MissingApiVersionParameter");
  Reply partner_token = Fetch("GET", url + "?api-version=2022-04-01", {Bearer(Token(*emu_, kPartnerTenant, kArm))});
  EXPECT_EQ(partner_token.status, 401);
  EXPECT_EQ(partner_token.Json()["error"]["code"], "InvalidAuthenticationTokenTenant");
  Reply filtered = Fetch("GET", url + "?api-version=2022-04-01&$filter=" + FormEncode("roleName eq 'reader'"),
                         {Bearer(Token(*emu_, customer.id, kArm))});
  ASSERT_EQ(filtered.status, 200) << filtered.body;
  ASSERT_EQ(filtered.Json()["value"].size(), 1u);
  EXPECT_EQ(filtered.Json()["value"][0]["name"], kReader);
  EXPECT_EQ(filtered.Json()["value"][0]["id"],
            absl::StrCat("/subscriptions/", subscription, "/providers/Microsoft.Authorization/roleDefinitions/", kReader));
  EXPECT_FALSE(filtered.headers["x-ms-ratelimit-remaining-subscription-reads"].empty());
}

TEST_F(EmulatorTest, RoleAssignmentsBehaveLikeArm) {
  const emulator::Customer customer = FirstCustomer();
  const std::string subscription = AzureSubscriptionOf(customer);
  const std::string user = customer.users.front().id;
  const std::string bearer = Bearer(Token(*emu_, customer.id, kArm));
  const std::vector<std::string> headers = {bearer, "Content-Type: application/json"};
  const std::string name = "4f8a2d6c-b1e3-47a9-9c05-e2d7b3f18a64";

  Reply created = Fetch("PUT", AssignmentUrl(subscription, name), headers, AssignmentBody(subscription, kReader, user));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Json()["properties"]["scope"], absl::StrCat("/subscriptions/", subscription));
  EXPECT_EQ(created.Json()["name"], name);
  EXPECT_EQ(Fetch("PUT", AssignmentUrl(subscription, name), headers, AssignmentBody(subscription, kReader, user)).status, 200);

  Reply other_name = Fetch("PUT", AssignmentUrl(subscription, "5d1f0c9a-2e7b-48a6-b3c4-e1f0a9d8c7b2"), headers,
                           AssignmentBody(subscription, kReader, user));
  EXPECT_EQ(other_name.status, 409);
  EXPECT_EQ(other_name.Json()["error"]["code"], "RoleAssignmentExists");
  EXPECT_THAT(other_name.Json()["error"]["message"].get<std::string>(),
              HasSubstr(absl::StrReplaceAll(name, {{"-", ""}})));

  Reply changed = Fetch("PUT", AssignmentUrl(subscription, name), headers,
                        AssignmentBody(subscription, "b24988ac-6180-42a0-ab88-20f7382dd24c", user));
  EXPECT_EQ(changed.status, 400);
  EXPECT_EQ(changed.Json()["error"]["code"], "RoleAssignmentUpdateNotPermitted");

  Reply listed = Fetch("GET", Url(absl::StrCat("/subscriptions/", subscription, "/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=",
                                               FormEncode(absl::StrCat("principalId eq '", user, "'")))), {bearer});
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(listed.Json()["value"].size(), 1u);
  EXPECT_EQ(listed.Json()["value"][0]["name"], name);

  EXPECT_EQ(Fetch("DELETE", AssignmentUrl(subscription, name), {bearer}).status, 200);
  EXPECT_EQ(Fetch("DELETE", AssignmentUrl(subscription, name), {bearer}).status, 204);
  EXPECT_EQ(Fetch("GET", AssignmentUrl(subscription, name), {bearer}).Json()["error"]["code"], "RoleAssignmentNotFound");
}

TEST_F(EmulatorTest, EachSubscriptionListsCountsAndConflictsOnlyWithItsOwnAssignments) {
  emulator::EmulatorOptions options;
  options.services.role_assignment_limit = 2;
  Start(std::move(options));
  const std::vector<emulator::Customer> customers = emu_->services().customers();
  struct Side {
    std::string subscription, principal, bearer;
  };
  auto side = [&](const emulator::Customer& customer) {
    return Side{AzureSubscriptionOf(customer), customer.users.front().id, Bearer(Token(*emu_, customer.id, kArm))};
  };
  const Side a = side(customers[0]);
  const Side b = side(customers[1]);
  auto put = [&](const Side& s, const std::string& name, const std::string& role) {
    return Fetch("PUT", AssignmentUrl(s.subscription, name), {s.bearer, "Content-Type: application/json"},
                 AssignmentBody(s.subscription, role, s.principal));
  };
  auto listed_names = [&](const Side& s, const std::string& subscription_in_url) {
    Reply listed = Fetch("GET", Url(absl::StrCat("/subscriptions/", subscription_in_url,
                                                 "/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01")),
                         {s.bearer});
    EXPECT_EQ(listed.status, 200) << listed.body;
    std::set<std::string> names;
    const nlohmann::json body = listed.Json();
    for (const auto& assignment : body["value"]) names.insert(assignment["name"]);
    return names;
  };
  const std::string contributor = "b24988ac-6180-42a0-ab88-20f7382dd24c";
  ASSERT_EQ(put(b, "b0000000-0000-4000-8000-000000000001", kReader).status, 201);
  ASSERT_EQ(put(b, "b0000000-0000-4000-8000-000000000002", contributor).status, 201);
  // Subscription b is at its limit; a is untouched by it.
  EXPECT_EQ(put(b, "b0000000-0000-4000-8000-000000000003", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635").Json()["error"]["code"],
            "RoleAssignmentLimitExceeded");
  ASSERT_EQ(put(a, "a0000000-0000-4000-8000-000000000001", kReader).status, 201);
  EXPECT_EQ(listed_names(a, a.subscription), std::set<std::string>{"a0000000-0000-4000-8000-000000000001"});
  EXPECT_EQ(listed_names(a, absl::AsciiStrToUpper(a.subscription)), std::set<std::string>{"a0000000-0000-4000-8000-000000000001"})
      << "subscription ids compare without case";
  EXPECT_EQ(listed_names(b, b.subscription),
            (std::set<std::string>{"b0000000-0000-4000-8000-000000000001", "b0000000-0000-4000-8000-000000000002"}));
  // A name already used in b cannot be taken in a, and a deletion in b frees a place there only.
  EXPECT_EQ(put(a, "b0000000-0000-4000-8000-000000000001", contributor).Json()["error"]["code"],
            "RoleAssignmentUpdateNotPermitted");
  EXPECT_EQ(Fetch("DELETE", AssignmentUrl(b.subscription, "b0000000-0000-4000-8000-000000000002"), {b.bearer}).status, 200);
  EXPECT_EQ(put(b, "b0000000-0000-4000-8000-000000000003", contributor).status, 201);
  EXPECT_EQ(put(a, "a0000000-0000-4000-8000-000000000002", contributor).status, 201);
  EXPECT_EQ(put(a, "a0000000-0000-4000-8000-000000000003", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635").Json()["error"]["code"],
            "RoleAssignmentLimitExceeded");
}

TEST_F(EmulatorTest, ANewUserIsPrincipalNotFoundUntilReplicatedUnlessPrincipalTypeIsGiven) {
  const emulator::Customer customer = FirstCustomer();
  const std::string subscription = AzureSubscriptionOf(customer);
  Reply user = CreateOwenTate(customer);
  ASSERT_EQ(user.status, 201) << user.body;
  EXPECT_FALSE(user.Json().contains("passwordProfile")) << "Graph never echoes the password";
  const std::string id = user.Json()["id"];
  const std::vector<std::string> headers = {Bearer(Token(*emu_, customer.id, kArm)), "Content-Type: application/json"};
  Reply without_type = Fetch("PUT", AssignmentUrl(subscription, "11111111-2222-4333-8444-555555555555"), headers,
                             AssignmentBody(subscription, kReader, id, ""));
  EXPECT_EQ(without_type.status, 400);
  EXPECT_EQ(without_type.Json()["error"]["code"], "PrincipalNotFound");
  EXPECT_THAT(without_type.Json()["error"]["message"].get<std::string>(), HasSubstr(absl::StrReplaceAll(id, {{"-", ""}})));
  EXPECT_EQ(Fetch("PUT", AssignmentUrl(subscription, "11111111-2222-4333-8444-555555555555"), headers,
                  AssignmentBody(subscription, kReader, id, "User")).status, 201);
}

TEST_F(EmulatorTest, GraphFindsUsersByUpnAndPagesWithNextLinks) {
  const emulator::Customer customer = FirstCustomer();
  const std::string bearer = Bearer(Token(*emu_, customer.id, kGraph));
  const emulator::User& first = customer.users.front();
  Reply by_upn = Fetch("GET", Url(absl::StrCat("/v1.0/users/", FormEncode(first.user_principal_name))), {bearer});
  ASSERT_EQ(by_upn.status, 200) << by_upn.body;
  EXPECT_EQ(by_upn.Json()["id"], first.id);
  EXPECT_EQ(by_upn.Json()["@odata.context"], "https://graph.microsoft.com/v1.0/$metadata#users/$entity");
  Reply missing = Fetch("GET", Url("/v1.0/users/nobody%40example.com"), {bearer});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.Json()["error"]["code"], "Request_ResourceNotFound");
  EXPECT_TRUE(missing.Json()["error"]["innerError"].contains("request-id"));

  std::vector<std::string> seen;
  std::string url = Url("/v1.0/users?$top=2");
  while (!url.empty()) {
    Reply page = Fetch("GET", url, {bearer});
    ASSERT_EQ(page.status, 200) << page.body;
    const nlohmann::json json = page.Json();
    for (const auto& user : json["value"]) seen.push_back(user["id"]);
    url = json.value("@odata.nextLink", "");
  }
  EXPECT_EQ(seen.size(), customer.users.size());
  Reply other_tenant = Fetch("GET", Url(absl::StrCat("/v1.0/users/", first.id)),
                             {Bearer(Token(*emu_, emu_->services().customers()[1].id, kGraph))});
  EXPECT_EQ(other_tenant.status, 404) << "a token selects its own tenant's directory";
}

TEST_F(EmulatorTest, GraphSearchesDisplayNameOrUpnPrefixIgnoringCaseAndPagesWithTheFilter) {
  const emulator::Customer customer = FirstCustomer();
  const std::string bearer = Bearer(Token(*emu_, customer.id, kGraph));
  auto search = [&](const std::string& literal) {
    return FormEncode(absl::StrCat("startswith(displayName,'", literal, "') or startswith(userPrincipalName,'", literal, "')"));
  };
  auto ids_of = [&](const std::string& filter, int top) {
    std::vector<std::string> ids;
    std::string url = Url(absl::StrCat("/v1.0/users?$top=", top, "&$filter=", filter));
    while (!url.empty()) {
      Reply page = Fetch("GET", url, {bearer});
      EXPECT_EQ(page.status, 200) << page.body;
      if (page.status != 200) break;
      const nlohmann::json json = page.Json();
      EXPECT_LE(json["value"].size(), static_cast<std::size_t>(top));
      for (const auto& user : json["value"]) ids.push_back(user["id"]);
      url = json.value("@odata.nextLink", "");
    }
    return ids;
  };
  const emulator::User& first = customer.users.front();
  // "mila." matches only UPNs ("mila.berg3@..."); "Mila B" only display names ("Mila Berg").
  const std::string upn_prefix = first.user_principal_name.substr(0, first.user_principal_name.find('.') + 1);
  const std::string display_prefix = first.display_name.substr(0, first.display_name.find(' ') + 2);
  for (const std::string& prefix : {upn_prefix, display_prefix, std::string(1, first.display_name[0])}) {
    std::vector<std::string> expected;
    for (const emulator::User& u : customer.users) {
      if (absl::StartsWithIgnoreCase(u.display_name, prefix) || absl::StartsWithIgnoreCase(u.user_principal_name, prefix)) {
        expected.push_back(u.id);
      }
    }
    ASSERT_FALSE(expected.empty()) << prefix;
    EXPECT_EQ(ids_of(search(absl::AsciiStrToUpper(prefix)), 1), expected) << prefix;
    EXPECT_EQ(ids_of(search(absl::AsciiStrToLower(prefix)), 999), expected) << prefix;
  }
  EXPECT_TRUE(ids_of(search("no such user"), 5).empty());

  Reply created = Fetch("POST", Url("/v1.0/users"), {bearer, "Content-Type: application/json"},
                        nlohmann::json{{"accountEnabled", true}, {"displayName", "Ciara O'Brien"}, {"mailNickname", "ciara"},
                                       {"userPrincipalName", absl::StrCat("ciara@", customer.domain)},
                                       {"passwordProfile", {{"password", "Vq3#nT8!kLw2"}}}}
                            .dump());
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(ids_of(search("ciara o''b"), 1), std::vector<std::string>{created.Json()["id"]});

  for (const char* unsupported : {"startswith(displayName,'a') and startswith(userPrincipalName,'a')",
                                         "startswith(displayName,'a') or", "startswith(displayName,'a'' or 1 eq 1)",
                                         "startswith(givenName,'a') or startswith(displayName,'a')"}) {
    Reply refused = Fetch("GET", Url(absl::StrCat("/v1.0/users?$filter=", FormEncode(unsupported))), {bearer});
    EXPECT_EQ(refused.status, 400) << unsupported;
    EXPECT_EQ(refused.Json()["error"]["code"], "Request_UnsupportedQuery") << unsupported;
  }
  Reply suffix = Fetch("GET", Url(absl::StrCat("/v1.0/users?$filter=", FormEncode("startswith(displayName,'a') or endswith(mail,'b')"))),
                       {bearer});
  EXPECT_EQ(suffix.status, 400) << "an endswith clause makes the whole filter an advanced query";
  EXPECT_THAT(suffix.Json()["error"]["message"].get<std::string>(), HasSubstr("ConsistencyLevel:eventual"));
}

TEST_F(EmulatorTest, GraphAdvancedQueriesNeedConsistencyLevelEventualAndCount) {
  const emulator::Customer customer = FirstCustomer();
  const std::string bearer = Bearer(Token(*emu_, customer.id, kGraph));
  const emulator::User& first = customer.users.front();
  const std::string filter = FormEncode(absl::StrCat("endswith(userPrincipalName,'", first.user_principal_name, "')"));
  Reply plain = Fetch("GET", Url(absl::StrCat("/v1.0/users?$filter=", filter)), {bearer});
  EXPECT_EQ(plain.status, 400);
  EXPECT_EQ(plain.Json()["error"]["code"], "Request_UnsupportedQuery");
  EXPECT_THAT(plain.Json()["error"]["message"].get<std::string>(), HasSubstr("ConsistencyLevel:eventual"));
  EXPECT_EQ(Fetch("GET", Url(absl::StrCat("/v1.0/users?$count=true&$filter=", filter)), {bearer}).status, 400)
      << "$count alone is not enough";
  EXPECT_EQ(Fetch("GET", Url(absl::StrCat("/v1.0/users?$filter=", filter)), {bearer, "ConsistencyLevel: eventual"}).status, 400)
      << "the header alone is not enough";
  Reply advanced = Fetch("GET", Url(absl::StrCat("/v1.0/users?$count=true&$filter=", filter)), {bearer, "ConsistencyLevel: eventual"});
  ASSERT_EQ(advanced.status, 200) << advanced.body;
  EXPECT_EQ(advanced.Json()["@odata.count"], 1);
  ASSERT_EQ(advanced.Json()["value"].size(), 1u);
  EXPECT_EQ(advanced.Json()["value"][0]["id"], first.id);
  Reply simple = Fetch("GET", Url(absl::StrCat("/v1.0/users?$filter=", FormEncode(absl::StrCat(
                                                   "userPrincipalName eq '", first.user_principal_name, "'")))),
                       {bearer});
  EXPECT_EQ(simple.status, 200) << "eq and startswith are default queries: " << simple.body;
  EXPECT_FALSE(simple.Json().contains("@odata.count"));
}

TEST_F(EmulatorTest, GraphRefusesADuplicateUpnAndAnUnverifiedDomain) {
  const emulator::Customer customer = FirstCustomer();
  auto create = [&](const std::string& upn) {
    return Fetch("POST", Url("/v1.0/users"), {Bearer(Token(*emu_, customer.id, kGraph)), "Content-Type: application/json"},
                 nlohmann::json{{"accountEnabled", true}, {"displayName", "X"}, {"mailNickname", "x"}, {"userPrincipalName", upn},
                                {"passwordProfile", {{"password", "Vq3#nT8!kLw2"}}}}
                     .dump());
  };
  Reply duplicate = create(customer.users.front().user_principal_name);
  EXPECT_EQ(duplicate.status, 400);
  EXPECT_EQ(duplicate.Json()["error"]["code"], "Request_BadRequest");
  EXPECT_THAT(duplicate.Json()["error"]["message"].get<std::string>(), HasSubstr("same value for property userPrincipalName"));
  EXPECT_THAT(create("x@not-their-domain.example").Json()["error"]["message"].get<std::string>(), HasSubstr("domain portion"));
}

TEST_F(EmulatorTest, ResetRestoresTheSeededDataAndZeroesTheCounters) {
  const emulator::Customer customer = FirstCustomer();
  const std::string subscription = AzureSubscriptionOf(customer);
  const std::size_t seeded_users = customer.users.size();
  Reply user = CreateOwenTate(customer);
  ASSERT_EQ(user.status, 201) << user.body;
  const std::string arm_token = Token(*emu_, customer.id, kArm);
  ASSERT_EQ(Fetch("PUT", AssignmentUrl(subscription, "11111111-2222-4333-8444-555555555555"),
                  {Bearer(arm_token), "Content-Type: application/json"},
                  AssignmentBody(subscription, kReader, customer.users.front().id))
                .status,
            201);
  ASSERT_TRUE(emu_->services().SetRelationshipRevoked(customer.id, true));
  ASSERT_EQ(emu_->services().role_assignments().size(), 1u);

  Reply reset = Fetch("POST", Url("/_emulator/reset"));
  ASSERT_EQ(reset.status, 200) << reset.body;
  EXPECT_TRUE(emu_->services().role_assignments().empty());
  EXPECT_EQ(emu_->services().customers().front().users.size(), seeded_users);
  EXPECT_FALSE(emu_->services().customers().front().relationship_revoked);
  EXPECT_TRUE(emu_->services().counters().requests_by_route.empty());
  EXPECT_EQ(emu_->services().counters().upstream_requests, 0);
  Reply listed = Fetch("GET", Url(absl::StrCat("/subscriptions/", subscription,
                                               "/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01")),
                       {Bearer(arm_token)});
  ASSERT_EQ(listed.status, 200) << "a token issued before the reset still works: " << listed.body;
  EXPECT_TRUE(listed.Json()["value"].empty());
  EXPECT_EQ(Fetch("GET", Url("/_emulator/reset")).status, 404) << "only POST resets";
}

TEST(EmulatorTokenLifetimeTest, ExpiredTokensAreRejected) {
  emulator::EmulatorOptions options;
  options.services.token_lifetime = absl::Seconds(1);
  auto emu = emulator::Emulator::Start(options);
  ASSERT_TRUE(emu.ok());
  const emulator::Customer customer = (*emu)->services().customers().front();
  const std::string token = Token(**emu, customer.id, kArm);
  const std::string url = absl::StrCat((*emu)->base_url(), "/subscriptions?api-version=2022-12-01");
  EXPECT_EQ(Fetch("GET", url, {Bearer(token)}).status, 200);
  absl::SleepFor(absl::Milliseconds(1100));
  Reply expired = Fetch("GET", url, {Bearer(token)});
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(expired.Json()["error"]["code"], "ExpiredAuthenticationToken");
}

TEST(EmulatorFaultTest, InjectedThrottlingCarriesRetryAfterInEachServicesForm) {
  emulator::EmulatorOptions options;
  options.faults.throttle_rate = 1;
  options.faults.throttle_retry_after = absl::Milliseconds(2128);
  auto emu = emulator::Emulator::Start(options);
  ASSERT_TRUE(emu.ok());
  Reply pc = Fetch("GET", absl::StrCat((*emu)->base_url(), "/v1/customers?size=1"));
  EXPECT_EQ(pc.status, 429);
  EXPECT_EQ(pc.headers["retry-after"], "3");
  EXPECT_EQ(pc.Json()["statusCode"], 429);
  Reply graph = Fetch("GET", absl::StrCat((*emu)->base_url(), "/v1.0/users"));
  EXPECT_EQ(graph.status, 429);
  EXPECT_EQ(graph.headers["retry-after"], "2.128");
  EXPECT_EQ(graph.Json()["error"]["code"], "TooManyRequests");
  EXPECT_EQ(Fetch("GET", absl::StrCat((*emu)->base_url(), "/_emulator/counters")).status, 200) << "admin routes are never faulted";
}

TEST(EmulatorFaultTest, ResetsCloseTheConnectionWithoutAnAnswer) {
  emulator::EmulatorOptions options;
  options.faults.reset_rate = 1;
  auto emu = emulator::Emulator::Start(options);
  ASSERT_TRUE(emu.ok());
  EXPECT_EQ(Fetch("GET", absl::StrCat((*emu)->base_url(), "/v1/customers?size=1")).status, 0);
}

TEST(EmulatorFaultTest, FaultsCanBeChangedAtRunTimeThroughTheAdminRoute) {
  auto emu = emulator::Emulator::Start(emulator::EmulatorOptions());
  ASSERT_TRUE(emu.ok());
  Reply set = Fetch("POST", absl::StrCat((*emu)->base_url(), "/_emulator/faults"), {"Content-Type: application/json"},
                    R"({"unavailableRate":1})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ((*emu)->faults().unavailable_rate, 1);
  EXPECT_EQ(Fetch("GET", absl::StrCat((*emu)->base_url(), "/subscriptions?api-version=2022-12-01")).status, 503);
}

// Injected latency is a timer on the event loop, not a sleeping thread: every request waits out
// its delay at the same time, which the admin route's peak shows.
TEST(EmulatorFaultTest, RequestsWaitOutInjectedLatencyAllAtOnce) {
  constexpr int kRequests = 16;
  emulator::EmulatorOptions options;
  options.faults.latency = absl::Seconds(3);
  auto emu = emulator::Emulator::Start(options);
  ASSERT_TRUE(emu.ok());
  std::vector<int> statuses(kRequests);
  std::vector<std::thread> callers;
  for (int i = 0; i < kRequests; ++i) {
    callers.emplace_back([&, i] { statuses[i] = Fetch("GET", absl::StrCat((*emu)->base_url(), "/v1/customers")).status; });
  }
  for (std::thread& caller : callers) caller.join();
  EXPECT_THAT(statuses, ::testing::Each(401)) << "the delayed answer is still the real one";
  const nlohmann::json in_flight = Fetch("GET", absl::StrCat((*emu)->base_url(), "/_emulator/in-flight")).Json();
  EXPECT_EQ(in_flight["delayedNow"], 0);
  EXPECT_EQ(in_flight["delayedPeak"], kRequests);
}

TEST(EmulatorHttpsTest, ServesHttpsWithAGeneratedCertificate) {
  emulator::EmulatorOptions options;
  options.https = true;
  auto emu = emulator::Emulator::Start(options);
  ASSERT_TRUE(emu.ok()) << emu.status();
  EXPECT_THAT((*emu)->base_url(), StartsWith("https://127.0.0.1:"));
  Reply trusted = Fetch("GET", absl::StrCat((*emu)->base_url(), "/_emulator/counters"), {}, "", (*emu)->ca_certificate_pem());
  EXPECT_EQ(trusted.status, 200);
  EXPECT_EQ(Fetch("GET", absl::StrCat((*emu)->base_url(), "/_emulator/counters")).status, 0)
      << "an untrusted certificate must fail verification";
}

// The TLS records of application data a client reads over one connection for one small GET.
int ApplicationDataRecordsRead(const std::string& url, const std::string& ca_pem) {
  int records = 0;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_blob blob{const_cast<char*>(ca_pem.data()), ca_pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, +[](char*, size_t size, size_t count, void*) { return size * count; });
  curl_easy_setopt(curl, CURLOPT_SSL_CTX_DATA, &records);
  curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, +[](CURL*, void* ctx, void* counter) {
    SSL_CTX_set_msg_callback_arg(static_cast<SSL_CTX*>(ctx), counter);
    SSL_CTX_set_msg_callback(static_cast<SSL_CTX*>(ctx), [](int write_p, int, int content_type, const void* buf,
                                                           size_t len, SSL*, void* arg) {
      // TLS 1.3 hides every record behind type 23; the inner content type tells data apart
      // from post-handshake messages such as session tickets.
      if (write_p == 0 && content_type == SSL3_RT_INNER_CONTENT_TYPE && len == 1 &&
          static_cast<const unsigned char*>(buf)[0] == SSL3_RT_APPLICATION_DATA) {
        ++*static_cast<int*>(arg);
      }
    });
    return CURLE_OK;
  });
  const CURLcode code = curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  return code == CURLE_OK ? records : -1;
}

TEST(EmulatorHttpsTest, ASmallResponseArrivesAsOneTlsRecord) {
  emulator::EmulatorOptions options;
  options.https = true;
  auto emu = emulator::Emulator::Start(options);
  ASSERT_TRUE(emu.ok()) << emu.status();
  // Head and body in one record and one write, as production servers send small responses: a
  // record each would double the client's TLS and socket work per response.
  EXPECT_EQ(ApplicationDataRecordsRead(absl::StrCat((*emu)->base_url(), "/_emulator/counters"),
                                       (*emu)->ca_certificate_pem()),
            1);
}

}  // namespace
}  // namespace partner::testing
