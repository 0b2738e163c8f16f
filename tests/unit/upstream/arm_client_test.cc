#include "server/upstream/arm_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/ops/error_reason.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/upstream/fake_http_client.h"

namespace partner::upstream {
namespace {

using ::partner::testing::IsOk;
using ::partner::testing::StatusIs;
using ::testing::HasSubstr;
using testing::FakeHttpClient;
using testing::HeaderValue;
using testing::RunNow;

constexpr char kSub[] = "/subscriptions/3b6d9f20-8c1e-4a57-b3d4-6e0f2a9c7b18";

constexpr char kRoleDefinitions[] = R"({
  "value": [
    {
      "properties": {
        "roleName": "Contributor",
        "type": "BuiltInRole",
        "description": "Grants full access to manage all resources",
        "assignableScopes": [ "/" ],
        "permissions": [ { "actions": [ "*" ], "notActions": [ "Microsoft.Authorization/*/Delete" ], "dataActions": [], "notDataActions": [] } ],
        "createdOn": "2015-02-02T21:55:09.8806423Z",
        "updatedOn": "2024-05-01T00:00:00.0000000Z",
        "createdBy": null,
        "updatedBy": null
      },
      "id": "/subscriptions/3b6d9f20-8c1e-4a57-b3d4-6e0f2a9c7b18/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
      "type": "Microsoft.Authorization/roleDefinitions",
      "name": "b24988ac-6180-42a0-ab88-20f7382dd24c"
    }
  ],
  "nextLink": null
})";

constexpr char kAssignment[] = R"({
  "properties": {
    "roleDefinitionId": "/subscriptions/3b6d9f20-8c1e-4a57-b3d4-6e0f2a9c7b18/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
    "principalId": "61f0b8d3-2a4c-4e97-8b15-c3d9e7a0f248",
    "principalType": "User",
    "scope": "/subscriptions/3b6d9f20-8c1e-4a57-b3d4-6e0f2a9c7b18",
    "condition": null,
    "conditionVersion": null,
    "createdOn": "2025-03-14T09:40:12.3456789Z",
    "updatedOn": "2025-03-14T09:40:12.3456789Z",
    "createdBy": null,
    "updatedBy": "5c7e1a9d-3b2f-4e60-a8d4-9f0b2c6e1d73",
    "delegatedManagedIdentityResourceId": null,
    "description": null
  },
  "id": "/subscriptions/3b6d9f20-8c1e-4a57-b3d4-6e0f2a9c7b18/providers/Microsoft.Authorization/roleAssignments/4f8a2d6c-b1e3-47a9-9c05-e2d7b3f18a64",
  "type": "Microsoft.Authorization/roleAssignments",
  "name": "4f8a2d6c-b1e3-47a9-9c05-e2d7b3f18a64"
})";

class ArmClientTest : public ::testing::Test {
 protected:
  ArmClientTest() {
    options_.arm_url = "https://arm.example";
    options_.arm_scope = "https://management.azure.com/.default";
    http_ = std::make_shared<FakeHttpClient>();
    client_ = std::make_unique<ArmClient>(http_, options_);
  }

  template <class T>
  T Run(ops::OpTask<T> task) {
    std::optional<T> result = RunNow(std::move(task));
    if (!result.has_value()) return T(absl::InternalError("the task did not complete inline"));
    return *std::move(result);
  }

  std::string Page(const std::string& items, const std::string& next_link) {
    return R"({"value":[)" + items + R"(],"nextLink":)" + (next_link.empty() ? "null" : "\"" + next_link + "\"") + "}";
  }

  UpstreamOptions options_;
  std::shared_ptr<FakeHttpClient> http_;
  std::unique_ptr<ArmClient> client_;
  ops::OpContext ctx_;
};

TEST_F(ArmClientTest, ListRoleDefinitionsAtScope) {
  http_->Respond(200, kRoleDefinitions);
  auto defs = Run(client_->ListRoleDefinitions(ctx_, "customer-tenant", kSub));
  ASSERT_THAT(defs, IsOk());
  ASSERT_EQ(defs->size(), 1u);
  EXPECT_EQ((*defs)[0].role_name, "Contributor");
  EXPECT_EQ((*defs)[0].type, "BuiltInRole");
  EXPECT_EQ((*defs)[0].description, "Grants full access to manage all resources");
  EXPECT_THAT((*defs)[0].id, HasSubstr("/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"));
  const http::HttpRequest& r = http_->requests.at(0);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, "https://arm.example/subscriptions/3b6d9f20-8c1e-4a57-b3d4-6e0f2a9c7b18"
                   "/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01");
  EXPECT_EQ(r.token_tenant, "customer-tenant");
  EXPECT_EQ(r.token_scope, "https://management.azure.com/.default");
}

TEST_F(ArmClientTest, RoleDefinitionsFollowNextLinkVerbatimOnlyToTheArmHost) {
  const std::string def = R"({"id":"/providers/Microsoft.Authorization/roleDefinitions/r","properties":{"roleName":"Reader"}})";
  const std::string next = "https://arm.example/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01&$skiptoken=abc";
  http_->Respond(200, Page(def, next));
  http_->Respond(200, Page(def + "," + def, ""));
  auto defs = Run(client_->ListRoleDefinitions(ctx_, "t", "/subscriptions/s"));
  ASSERT_THAT(defs, IsOk());
  EXPECT_EQ(defs->size(), 3u);
  EXPECT_EQ(http_->requests.at(1).url, next);
  EXPECT_EQ(http_->requests.at(1).token_tenant, "t");

  http_->Respond(200, Page(def, "https://evil.example/steal?api-version=2022-04-01"));
  EXPECT_THAT(Run(client_->ListRoleDefinitions(ctx_, "t", "/subscriptions/s")),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("another host")));
  EXPECT_EQ(http_->requests.size(), 3u);

  http_->Respond(200, Page(def, next));
  http_->Respond(200, Page(def, next));
  EXPECT_THAT(Run(client_->ListRoleDefinitions(ctx_, "t", "/subscriptions/s")),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("repeated")));
}

// CONTRACTS.md §5.3, with the fields the gateway ignores.
constexpr char kSubscriptionItem[] = R"({
  "id": "/subscriptions/3b6d9f20-8c1e-4a57-b3d4-6e0f2a9c7b18",
  "authorizationSource": "RoleBased",
  "managedByTenants": [],
  "subscriptionId": "3b6d9f20-8c1e-4a57-b3d4-6e0f2a9c7b18",
  "tenantId": "8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418",
  "displayName": "Fabrikam Production",
  "state": "Enabled",
  "subscriptionPolicies": { "locationPlacementId": "Public_2014-09-01", "quotaId": "CSP_2015-05-01", "spendingLimit": "Off" },
  "tags": {}
})";

TEST_F(ArmClientTest, ListSubscriptionsFollowsEveryPageWithTheCustomerTenantToken) {
  const std::string next = "https://arm.example/subscriptions?api-version=2022-12-01&$skiptoken=page2";
  const std::string warned =
      R"({"id":"/subscriptions/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","subscriptionId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",)"
      R"("tenantId":"8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418","displayName":"Fabrikam Dev/Test","state":"Warned"})";
  http_->Respond(200, Page(kSubscriptionItem, next));
  http_->Respond(200, Page(warned, ""));
  auto subs = Run(client_->ListSubscriptions(ctx_, "8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418"));
  ASSERT_THAT(subs, IsOk());
  ASSERT_EQ(subs->size(), 2u);
  EXPECT_EQ((*subs)[0].id, "/subscriptions/3b6d9f20-8c1e-4a57-b3d4-6e0f2a9c7b18");
  EXPECT_EQ((*subs)[0].subscription_id, "3b6d9f20-8c1e-4a57-b3d4-6e0f2a9c7b18");
  EXPECT_EQ((*subs)[0].tenant_id, "8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418");
  EXPECT_EQ((*subs)[0].display_name, "Fabrikam Production");
  EXPECT_EQ((*subs)[0].state, "Enabled");
  EXPECT_EQ((*subs)[1].subscription_id, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
  EXPECT_EQ((*subs)[1].state, "Warned");
  ASSERT_EQ(http_->requests.size(), 2u);
  EXPECT_EQ(http_->requests[0].method, "GET");
  EXPECT_EQ(http_->requests[0].url, "https://arm.example/subscriptions?api-version=2022-12-01");
  EXPECT_EQ(http_->requests[1].url, next);
  for (const http::HttpRequest& r : http_->requests) {
    EXPECT_EQ(r.token_tenant, "8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418");
    EXPECT_EQ(r.token_scope, "https://management.azure.com/.default");
    EXPECT_EQ(r.id_headers.request_id, "x-ms-client-request-id") << "CONTRACTS.md 5.1";
    EXPECT_EQ(r.id_headers.correlation_id, "x-ms-correlation-request-id");
  }
}

TEST_F(ArmClientTest, ListSubscriptionsOfAnAppWithoutRolesIsEmpty) {
  http_->Respond(200, R"({"value":[]})");
  auto subs = Run(client_->ListSubscriptions(ctx_, "t"));
  ASSERT_THAT(subs, IsOk());
  EXPECT_TRUE(subs->empty());
}

TEST_F(ArmClientTest, ListSubscriptionsMapsArmErrors) {
  http_->Respond(403, R"({"error":{"code":"AuthorizationFailed","message":"The client does not have authorization."}})");
  EXPECT_THAT(Run(client_->ListSubscriptions(ctx_, "t")),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("subscriptions of tenant t")));
  http_->Respond(200, Page(kSubscriptionItem, "https://evil.example/subscriptions?api-version=2022-12-01"));
  EXPECT_THAT(Run(client_->ListSubscriptions(ctx_, "t")), StatusIs(absl::StatusCode::kInternal, HasSubstr("another host")));
}

TEST_F(ArmClientTest, MalformedSubscriptionsAreInternalErrorsNamingTheField) {
  const std::string id = R"("id":"/subscriptions/3b6d9f20-8c1e-4a57-b3d4-6e0f2a9c7b18")";
  const std::string sub_id = R"("subscriptionId":"3b6d9f20-8c1e-4a57-b3d4-6e0f2a9c7b18")";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{" + sub_id + R"(,"state":"Enabled"})", "id"},
      {"{" + id + R"(,"state":"Enabled"})", "subscriptionId"},
      {"{" + id + R"(,"subscriptionId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","state":"Enabled"})",
       "subscriptionId (does not match id)"},
      {"{" + id + R"(,"subscriptionId":"","state":"Enabled"})", "subscriptionId (does not match id)"},
      {"{" + id + "," + sub_id + "}", "state"},
      {"{" + id + "," + sub_id + R"(,"state":1})", "state"},
      {"{" + id + "," + sub_id + R"(,"state":"Enabled","displayName":[]})", "displayName"},
      {"{" + id + "," + sub_id + R"(,"state":"Enabled","tenantId":{}})", "tenantId"},
  };
  for (const auto& [item, field] : cases) {
    http_->Respond(200, Page(item, ""));
    EXPECT_THAT(Run(client_->ListSubscriptions(ctx_, "t")),
                StatusIs(absl::StatusCode::kInternal,
                         HasSubstr("Azure Resource Manager returned a malformed subscription: " + field)))
        << item;
  }
  http_->Respond(200, R"({"value":[)" + std::string(kSubscriptionItem));
  EXPECT_THAT(Run(client_->ListSubscriptions(ctx_, "t")), StatusIs(absl::StatusCode::kInternal, HasSubstr("not JSON")));
  http_->Respond(200, R"({"value":["/subscriptions/x"]})");
  EXPECT_THAT(Run(client_->ListSubscriptions(ctx_, "t")), StatusIs(absl::StatusCode::kInternal, HasSubstr("value[]")));
}

TEST_F(ArmClientTest, PutRoleAssignmentSendsTheDocumentedBody) {
  http_->Respond(201, kAssignment);
  ops::arm::RoleAssignmentProperties p;
  p.role_definition_id = "/subscriptions/3b6d9f20-8c1e-4a57-b3d4-6e0f2a9c7b18/providers/Microsoft.Authorization/"
                         "roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c";
  p.principal_id = "61f0b8d3-2a4c-4e97-8b15-c3d9e7a0f248";
  p.principal_type = "User";
  auto a = Run(client_->PutRoleAssignment(ctx_, "t", kSub, "4f8a2d6c-b1e3-47a9-9c05-e2d7b3f18a64", p));
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->name, "4f8a2d6c-b1e3-47a9-9c05-e2d7b3f18a64");
  EXPECT_EQ(a->scope, kSub);
  EXPECT_EQ(a->principal_id, "61f0b8d3-2a4c-4e97-8b15-c3d9e7a0f248");
  EXPECT_EQ(a->principal_type, "User");
  EXPECT_EQ(a->role_definition_id, p.role_definition_id);
  EXPECT_EQ(a->description, "");
  EXPECT_EQ(a->created_on, absl::FromUnixSeconds(1741945212) + absl::Nanoseconds(345678900));
  const http::HttpRequest& r = http_->requests.at(0);
  EXPECT_EQ(r.method, "PUT");
  EXPECT_TRUE(r.idempotent);
  EXPECT_EQ(r.url, "https://arm.example/subscriptions/3b6d9f20-8c1e-4a57-b3d4-6e0f2a9c7b18/providers/"
                   "Microsoft.Authorization/roleAssignments/4f8a2d6c-b1e3-47a9-9c05-e2d7b3f18a64?api-version=2022-04-01");
  EXPECT_EQ(HeaderValue(r, "Content-Type"), "application/json");
  EXPECT_THAT(r.rate_limit_keys, ::testing::ElementsAre("arm-write/3b6d9f20-8c1e-4a57-b3d4-6e0f2a9c7b18"))
      << "writes draw from the subscription's write bucket";
  EXPECT_EQ(r.body, R"({"properties":{"roleDefinitionId":")" + p.role_definition_id +
                        R"(","principalId":"61f0b8d3-2a4c-4e97-8b15-c3d9e7a0f248","principalType":"User"}})");

  http_->Respond(200, kAssignment);
  p.description = "on-call \"ops\"";
  ASSERT_THAT(Run(client_->PutRoleAssignment(ctx_, "t", kSub + std::string("/resourceGroups/rg-1"), "n", p)), IsOk());
  EXPECT_THAT(http_->requests.at(1).body, HasSubstr(R"(,"description":"on-call \"ops\""}})"));
  EXPECT_THAT(http_->requests.at(1).url, HasSubstr("/resourceGroups/rg-1/providers/"));
}

TEST_F(ArmClientTest, ConflictsKeepTheirUpstreamCodes) {
  http_->Respond(409, R"({"error":{"code":"RoleAssignmentExists","message":"The role assignment already exists. The ID of the existing role assignment is 5d1f0c9a2e7b48a6b3c4e1f0a9d8c7b2."}})");
  absl::StatusOr<ops::arm::RoleAssignment> exists = Run(client_->PutRoleAssignment(ctx_, "t", kSub, "n", {}));
  EXPECT_THAT(exists, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(ops::GetUpstreamDetails(exists.status()).at("upstreamCode"), "RoleAssignmentExists");
  EXPECT_EQ(ops::GetUpstreamDetails(exists.status()).at("existingAssignmentId"), "5d1f0c9a-2e7b-48a6-b3c4-e1f0a9d8c7b2");

  http_->Respond(400, R"({"error":{"code":"PrincipalNotFound","message":"Principal 61f0b8d32a4c4e978b15c3d9e7a0f248 does not exist in the directory t."}})");
  absl::StatusOr<ops::arm::RoleAssignment> missing = Run(client_->PutRoleAssignment(ctx_, "t", kSub, "n", {}));
  EXPECT_EQ(ops::GetUpstreamDetails(missing.status()).at("upstreamCode"), "PrincipalNotFound");
}

TEST_F(ArmClientTest, HostileScopesAndIdsAreEncodedPerSegment) {
  http_->Respond(200, kAssignment);
  http_->Respond(200, kAssignment);
  ASSERT_THAT(Run(client_->PutRoleAssignment(ctx_, "t", "/subscriptions/x?y#z/resourceGroups/..", "a/../b", {})), IsOk());
  EXPECT_EQ(http_->requests.at(0).url,
            "https://arm.example/subscriptions/x%3Fy%23z/resourceGroups/%2E%2E/providers/Microsoft.Authorization/"
            "roleAssignments/a%2F..%2Fb?api-version=2022-04-01");
  ASSERT_THAT(Run(client_->GetRoleAssignment(ctx_, "t", "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/n?x=1")), IsOk());
  EXPECT_EQ(http_->requests.at(1).url,
            "https://arm.example/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/n%3Fx%3D1?api-version=2022-04-01");
  EXPECT_THAT(Run(client_->GetRoleAssignment(ctx_, "t", "")), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Run(client_->ListRoleDefinitions(ctx_, "t", "/subscriptions//x")), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(http_->requests.size(), 2u);
}

TEST_F(ArmClientTest, ListRoleAssignmentsFilters) {
  http_->Respond(200, Page(kAssignment, ""));
  auto all = Run(client_->ListRoleAssignments(ctx_, "t", kSub, std::nullopt));
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(http_->requests.at(0).url,
            "https://arm.example/subscriptions/3b6d9f20-8c1e-4a57-b3d4-6e0f2a9c7b18/providers/Microsoft.Authorization/"
            "roleAssignments?api-version=2022-04-01&$filter=atScope%28%29");

  http_->Respond(200, Page("", "https://arm.example/next?$skipToken=1"));
  http_->Respond(200, Page(std::string(kAssignment) + "," + kAssignment, ""));
  auto mine = Run(client_->ListRoleAssignments(ctx_, "t", kSub, "61f0b8d3-2a4c-4e97-8b15-c3d9e7a0f248"));
  ASSERT_THAT(mine, IsOk());
  EXPECT_EQ(mine->size(), 2u);
  EXPECT_THAT(http_->requests.at(1).url,
              HasSubstr("&$filter=principalId%20eq%20%2761f0b8d3-2a4c-4e97-8b15-c3d9e7a0f248%27"));
  EXPECT_EQ(http_->requests.at(2).url, "https://arm.example/next?$skipToken=1");

  http_->Respond(200, Page("", ""));
  ASSERT_THAT(Run(client_->ListRoleAssignments(ctx_, "t", kSub, "x' or '1")), IsOk());
  EXPECT_THAT(http_->requests.at(3).url, HasSubstr("principalId%20eq%20%27x%27%27%20or%20%27%271%27"));
}

TEST_F(ArmClientTest, PrincipalListKeepsOnlyAssignmentsAtOrAboveTheScope) {
  auto at = [](const std::string& scope, const std::string& name) {
    return R"({"id":")" + scope + "/providers/Microsoft.Authorization/roleAssignments/" + name + R"(","name":")" + name +
           R"(","properties":{"roleDefinitionId":"r","principalId":"p","scope":")" + scope + R"("}})";
  };
  http_->Respond(200, Page(at("/", "root") + "," + at("/subscriptions/S", "sub") + "," +
                               at("/subscriptions/s/resourceGroups/RG", "rg") + "," +
                               at("/subscriptions/s/resourceGroups/rg2", "other-rg") + "," +
                               at("/subscriptions/s/resourceGroups/rg/providers/x/y/z", "below") + "," +
                               at("/subscriptions/s2", "other-sub"),
                           ""));
  auto list = Run(client_->ListRoleAssignments(ctx_, "t", "/subscriptions/s/resourceGroups/rg", "p"));
  ASSERT_THAT(list, IsOk());
  std::vector<std::string> names;
  for (const auto& a : *list) names.push_back(a.name);
  EXPECT_THAT(names, ::testing::ElementsAre("root", "sub", "rg"));
}

TEST_F(ArmClientTest, DeleteReturnsTheAssignmentOrNothing) {
  const std::string id = std::string(kSub) + "/providers/Microsoft.Authorization/roleAssignments/4f8a2d6c-b1e3-47a9-9c05-e2d7b3f18a64";
  http_->Respond(200, kAssignment);
  auto deleted = Run(client_->DeleteRoleAssignment(ctx_, "t", id));
  ASSERT_THAT(deleted, IsOk());
  ASSERT_TRUE(deleted->has_value());
  EXPECT_EQ((*deleted)->name, "4f8a2d6c-b1e3-47a9-9c05-e2d7b3f18a64");
  EXPECT_EQ(http_->requests.at(0).method, "DELETE");
  EXPECT_EQ(http_->requests.at(0).url, "https://arm.example" + id + "?api-version=2022-04-01");

  http_->Respond(204, "");
  auto gone = Run(client_->DeleteRoleAssignment(ctx_, "t", id));
  ASSERT_THAT(gone, IsOk());
  EXPECT_FALSE(gone->has_value());

  http_->Respond(404, R"({"error":{"code":"RoleAssignmentNotFound","message":"m"}})");
  EXPECT_THAT(Run(client_->GetRoleAssignment(ctx_, "t", id)), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ArmClientTest, MalformedBodiesAreInternalErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"properties":{"roleDefinitionId":"r","principalId":"p"},"id":"i","na)", "not JSON"},
      {R"({"properties":{"roleDefinitionId":"r","principalId":"p"},"id":"i"})", "name"},
      {R"({"properties":{"roleDefinitionId":"r"},"id":"i","name":"n"})", "properties.principalId"},
      {R"({"properties":[],"id":"i","name":"n"})", "properties"},
      {R"({"properties":{"roleDefinitionId":"r","principalId":"p","createdOn":12},"id":"i","name":"n"})",
       "properties.createdOn"},
      {R"({"properties":{"roleDefinitionId":"r","principalId":"p","description":false},"id":"i","name":"n"})",
       "properties.description"},
  };
  for (const auto& [body, field] : cases) {
    http_->Respond(200, body);
    EXPECT_THAT(Run(client_->GetRoleAssignment(ctx_, "t", "/x")),
                StatusIs(absl::StatusCode::kInternal,
                         HasSubstr("Azure Resource Manager returned a malformed role assignment: " + field)))
        << body;
  }
  http_->Respond(200, R"({"value":{}})");
  EXPECT_THAT(Run(client_->ListRoleDefinitions(ctx_, "t", "/x")), StatusIs(absl::StatusCode::kInternal, HasSubstr("value")));
  http_->Respond(200, R"({"value":[],"nextLink":7})");
  EXPECT_THAT(Run(client_->ListRoleDefinitions(ctx_, "t", "/x")), StatusIs(absl::StatusCode::kInternal, HasSubstr("nextLink")));
}

}  // namespace
}  // namespace partner::upstream
