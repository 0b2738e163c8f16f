#include "server/upstream/graph_client.h"

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
using ::testing::Not;
using testing::FakeHttpClient;
using testing::HeaderValue;
using testing::RunNow;

constexpr char kUser[] = R"({
  "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
  "businessPhones": [],
  "displayName": "Mila Berg",
  "givenName": "Mila",
  "jobTitle": null,
  "mail": "mila.berg@fabrikamtoys.example",
  "mobilePhone": null,
  "officeLocation": null,
  "preferredLanguage": "en-GB",
  "surname": "Berg",
  "userPrincipalName": "mila.berg@fabrikamtoys.onmicrosoft.com",
  "id": "61f0b8d3-2a4c-4e97-8b15-c3d9e7a0f248"
})";

class GraphClientTest : public ::testing::Test {
 protected:
  GraphClientTest() {
    options_.graph_url = "https://graph.example/";
    options_.graph_scope = "https://graph.microsoft.com/.default";
    http_ = std::make_shared<FakeHttpClient>();
    client_ = std::make_unique<GraphClient>(http_, options_);
  }

  template <class T>
  T Run(ops::OpTask<T> task) {
    std::optional<T> result = RunNow(std::move(task));
    if (!result.has_value()) return T(absl::InternalError("the task did not complete inline"));
    return *std::move(result);
  }

  UpstreamOptions options_;
  std::shared_ptr<FakeHttpClient> http_;
  std::unique_ptr<GraphClient> client_;
  ops::OpContext ctx_;
};

TEST_F(GraphClientTest, GetUserByIdOrUpn) {
  http_->Respond(200, kUser);
  auto user = Run(client_->GetUser(ctx_, "customer-tenant", "61f0b8d3-2a4c-4e97-8b15-c3d9e7a0f248"));
  ASSERT_THAT(user, IsOk());
  EXPECT_EQ(user->id, "61f0b8d3-2a4c-4e97-8b15-c3d9e7a0f248");
  EXPECT_EQ(user->user_principal_name, "mila.berg@fabrikamtoys.onmicrosoft.com");
  EXPECT_EQ(user->display_name, "Mila Berg");
  EXPECT_EQ(user->mail, "mila.berg@fabrikamtoys.example");
  const http::HttpRequest& r = http_->requests.at(0);
  EXPECT_EQ(r.url, "https://graph.example/v1.0/users/61f0b8d3-2a4c-4e97-8b15-c3d9e7a0f248");
  EXPECT_EQ(r.token_tenant, "customer-tenant");
  EXPECT_EQ(r.token_scope, "https://graph.microsoft.com/.default");
  EXPECT_EQ(r.id_headers.request_id, "client-request-id") << "CONTRACTS.md 6.3";
  EXPECT_EQ(r.id_headers.correlation_id, "") << "Graph reads no correlation header";

  http_->Respond(200, kUser);
  ASSERT_THAT(Run(client_->GetUser(ctx_, "t", "nina_contoso.com#EXT#@fabrikamtoys.onmicrosoft.com")), IsOk());
  EXPECT_EQ(http_->requests.at(1).url,
            "https://graph.example/v1.0/users/nina_contoso.com%23EXT%23%40fabrikamtoys.onmicrosoft.com");
  http_->Respond(200, kUser);
  ASSERT_THAT(Run(client_->GetUser(ctx_, "t", "a/../b?x")), IsOk());
  EXPECT_EQ(http_->requests.at(2).url, "https://graph.example/v1.0/users/a%2F..%2Fb%3Fx");
  http_->Respond(200, kUser);
  ASSERT_THAT(Run(client_->GetUser(ctx_, "t", "$x'y@d.com")), IsOk());
  EXPECT_EQ(http_->requests.at(3).url, "https://graph.example/v1.0/users('%24x%27%27y%40d.com')");
}

TEST_F(GraphClientTest, UnknownUserIsNotFound) {
  http_->Respond(404, R"({"error":{"code":"Request_ResourceNotFound","message":"Resource 'x' does not exist.","innerError":{"date":"2025-03-14T09:44:03","request-id":"d4c7"}}})",
                 {{"request-id", "d4c7"}});
  absl::StatusOr<ops::graph::User> user = Run(client_->GetUser(ctx_, "t", "x"));
  EXPECT_THAT(user, StatusIs(absl::StatusCode::kNotFound, HasSubstr("user x")));
  EXPECT_EQ(ops::GetUpstreamDetails(user.status()).at("upstreamCode"), "Request_ResourceNotFound");
}

TEST_F(GraphClientTest, ListUsersPagesThroughNextLinks) {
  const std::string next = "https://graph.example/v1.0/users?$top=1&$skiptoken=X%27Y";
  http_->Respond(200, R"({"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users","value":[)" +
                          std::string(kUser) + R"(],"@odata.nextLink":")" + next + R"("})");
  ops::graph::UserQuery query;
  query.top = 1;
  auto page = Run(client_->ListUsers(ctx_, "t", query));
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->users.size(), 1u);
  EXPECT_EQ(page->skip_token, next);
  EXPECT_EQ(http_->requests.at(0).url, "https://graph.example/v1.0/users?$top=1");

  http_->Respond(200, R"({"value":[]})");
  query.skip_token = page->skip_token;
  auto last = Run(client_->ListUsers(ctx_, "t", query));
  ASSERT_THAT(last, IsOk());
  EXPECT_TRUE(last->users.empty());
  EXPECT_EQ(last->skip_token, "");
  EXPECT_EQ(http_->requests.at(1).url, next);

  http_->Respond(200, R"({"value":[],"@odata.nextLink":")" + next + R"("})");
  EXPECT_THAT(Run(client_->ListUsers(ctx_, "t", query)), StatusIs(absl::StatusCode::kInternal, HasSubstr("repeated")));
}

TEST_F(GraphClientTest, SearchFiltersByDisplayNameOrUpnPrefixAsOneEncodedLiteral) {
  http_->Respond(200, R"({"value":[)" + std::string(kUser) + R"(]})");
  ops::graph::UserQuery query;
  query.top = 7;
  query.search_prefix = "O'Br & #1";
  auto page = Run(client_->ListUsers(ctx_, "t", query));
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->users.size(), 1u);
  // startswith(displayName,'O''Br & #1') or startswith(userPrincipalName,'O''Br & #1')
  EXPECT_EQ(http_->requests.at(0).url,
            "https://graph.example/v1.0/users?$top=7&$filter=startswith%28displayName%2C%27O%27%27Br%20%26%20%231%27%29"
            "%20or%20startswith%28userPrincipalName%2C%27O%27%27Br%20%26%20%231%27%29");
}

TEST_F(GraphClientTest, BadSearchPrefixesAreRefusedBeforeAnyCall) {
  ops::graph::UserQuery query;
  query.search_prefix = "";
  EXPECT_THAT(Run(client_->ListUsers(ctx_, "t", query)), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  query.search_prefix = std::string(1025, 'a');
  EXPECT_THAT(Run(client_->ListUsers(ctx_, "t", query)), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("longer")));
  query.search_prefix = std::string("a\nb");
  EXPECT_THAT(Run(client_->ListUsers(ctx_, "t", query)), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("control")));
  query.search_prefix = std::string("a\x7f");
  EXPECT_THAT(Run(client_->ListUsers(ctx_, "t", query)), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("control")));
  EXPECT_TRUE(http_->requests.empty());

  query.search_prefix = std::string(1024, 'a');
  http_->Respond(200, R"({"value":[]})");
  EXPECT_THAT(Run(client_->ListUsers(ctx_, "t", query)), IsOk());
}

TEST_F(GraphClientTest, ForeignNextLinksAreRefused) {
  http_->Respond(200, R"({"value":[],"@odata.nextLink":"https://evil.example/v1.0/users?$skiptoken=1"})");
  EXPECT_THAT(Run(client_->ListUsers(ctx_, "t", {})), StatusIs(absl::StatusCode::kInternal, HasSubstr("another host")));
  ops::graph::UserQuery query;
  query.skip_token = "https://evil.example/v1.0/users";
  EXPECT_THAT(Run(client_->ListUsers(ctx_, "t", query)), StatusIs(absl::StatusCode::kInvalidArgument));
  query.skip_token = "/v1.0/users";
  EXPECT_THAT(Run(client_->ListUsers(ctx_, "t", query)), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(http_->requests.size(), 1u);
}

TEST_F(GraphClientTest, CreateUserPostsOnceWithThePasswordProfile) {
  http_->Respond(201, kUser);
  ops::graph::NewUser user;
  user.user_principal_name = "owen.tate@fabrikamtoys.onmicrosoft.com";
  user.display_name = "Owen Tate";
  user.mail_nickname = "owen.tate";
  user.usage_location = "GB";
  user.password = "Vq3#nT8!kLw2";
  auto created = Run(client_->CreateUser(ctx_, "t", user));
  ASSERT_THAT(created, IsOk());
  const http::HttpRequest& r = http_->requests.at(0);
  EXPECT_EQ(r.method, "POST");
  EXPECT_FALSE(r.idempotent);
  EXPECT_EQ(r.url, "https://graph.example/v1.0/users");
  EXPECT_EQ(HeaderValue(r, "Content-Type"), "application/json");
  EXPECT_EQ(r.body,
            R"({"accountEnabled":true,"displayName":"Owen Tate","mailNickname":"owen.tate",)"
            R"("userPrincipalName":"owen.tate@fabrikamtoys.onmicrosoft.com","usageLocation":"GB",)"
            R"("passwordProfile":{"forceChangePasswordNextSignIn":true,"password":"Vq3#nT8!kLw2"}})");
}

TEST_F(GraphClientTest, CreateUserErrorsNeverCarryThePassword) {
  ops::graph::NewUser user;
  user.user_principal_name = "owen.tate@fabrikamtoys.onmicrosoft.com";
  user.password = "Vq3#nT8!kLw2";
  http_->Respond(400, R"({"error":{"code":"Request_BadRequest","message":"Another object with the same value for property userPrincipalName already exists."}})");
  EXPECT_THAT(Run(client_->CreateUser(ctx_, "t", user)),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("owen.tate@fabrikamtoys.onmicrosoft.com")));
  http_->Respond(400, R"({"error":{"code":"Request_BadRequest","message":"The password Vq3#nT8!kLw2 is too weak."}})");
  absl::StatusOr<ops::graph::User> weak = Run(client_->CreateUser(ctx_, "t", user));
  EXPECT_THAT(weak, StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("Vq3#nT8!kLw2"))));
  EXPECT_EQ(ops::GetUpstreamDetails(weak.status()).at("upstreamCode"), "Request_BadRequest");
}

TEST_F(GraphClientTest, MalformedUsersAreInternalErrors) {
  http_->Respond(200, R"({"id":"x"})");
  EXPECT_THAT(Run(client_->GetUser(ctx_, "t", "x")),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("malformed user: userPrincipalName")));
  http_->Respond(200, R"({"id":"x","userPrincipalName":"u","mail":["a"]})");
  EXPECT_THAT(Run(client_->GetUser(ctx_, "t", "x")), StatusIs(absl::StatusCode::kInternal, HasSubstr("mail")));
  http_->Respond(200, std::string(kUser).substr(0, 40));
  EXPECT_THAT(Run(client_->GetUser(ctx_, "t", "x")), StatusIs(absl::StatusCode::kInternal, HasSubstr("not JSON")));
  http_->Respond(200, R"({"value":[{"id":1}]})");
  EXPECT_THAT(Run(client_->ListUsers(ctx_, "t", {})), StatusIs(absl::StatusCode::kInternal, HasSubstr("user: id")));
}

}  // namespace
}  // namespace partner::upstream
