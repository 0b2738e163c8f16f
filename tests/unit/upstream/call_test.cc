#include "server/upstream/call.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "server/ops/error_reason.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/upstream/fake_http_client.h"

namespace partner::upstream {
namespace {

using ::partner::testing::IsOk;
using ::partner::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;
using testing::DeferredHttpClient;
using testing::FakeHttpClient;
using testing::RunNow;

http::HttpResponse Response(int status, std::string body, std::vector<http::Header> headers = {}) {
  http::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

TEST(PathSegmentTest, EncodesEverythingThatCouldChangeThePath) {
  EXPECT_EQ(PathSegment("8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418"), "8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418");
  EXPECT_EQ(PathSegment("a/../b"), "a%2F..%2Fb");
  EXPECT_EQ(PathSegment("x?y#z"), "x%3Fy%23z");
  EXPECT_EQ(PathSegment("100%"), "100%25");
  EXPECT_EQ(PathSegment(".."), "%2E%2E");
  EXPECT_EQ(PathSegment("."), "%2E");
  EXPECT_EQ(PathSegment("nina_contoso.com#EXT#@fabrikam.onmicrosoft.com"),
            "nina_contoso.com%23EXT%23%40fabrikam.onmicrosoft.com");
  EXPECT_EQ(PathSegment("sp ace\xC3\xA9"), "sp%20ace%C3%A9");
}

TEST(QueryTest, EncodesNamesAndValues) {
  EXPECT_EQ(Query({}), "");
  EXPECT_EQ(Query({{"api-version", "2022-04-01"}, {"$filter", "principalId eq 'a&b'"}}),
            "?api-version=2022-04-01&$filter=principalId%20eq%20%27a%26b%27");
}

TEST(ResourcePathTest, ReencodesEachSegmentAndRefusesEmptyOnes) {
  EXPECT_EQ(*ResourcePath("/subscriptions/3b6d/resourceGroups/rg.1"), "/subscriptions/3b6d/resourceGroups/rg.1");
  EXPECT_EQ(*ResourcePath("/subscriptions/x/resourceGroups/../y?z"),
            "/subscriptions/x/resourceGroups/%2E%2E/y%3Fz");
  EXPECT_THAT(ResourcePath("/subscriptions//x"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ResourcePath("/"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ResourcePath("/subscriptions/x/"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(UrlTest, JoinsWithOrWithoutTrailingSlash) {
  EXPECT_EQ(JoinUrl("https://h", "/v1/customers"), "https://h/v1/customers");
  EXPECT_EQ(JoinUrl("https://h/", "/v1/customers"), "https://h/v1/customers");
  EXPECT_EQ(JoinUrl("http://127.0.0.1:8080/pc//", "/v1"), "http://127.0.0.1:8080/pc/v1");
}

TEST(UrlTest, SameOriginComparesSchemeHostAndPort) {
  EXPECT_TRUE(SameOrigin("https://management.azure.com/x?y", "https://Management.Azure.com/"));
  EXPECT_TRUE(SameOrigin("http://127.0.0.1:9000/a", "http://127.0.0.1:9000"));
  EXPECT_FALSE(SameOrigin("https://evil.example/x", "https://management.azure.com"));
  EXPECT_FALSE(SameOrigin("http://management.azure.com/x", "https://management.azure.com"));
  EXPECT_FALSE(SameOrigin("https://management.azure.com:444/x", "https://management.azure.com"));
  EXPECT_FALSE(SameOrigin("https://management.azure.com@evil.example/x", "https://management.azure.com"));
  EXPECT_FALSE(SameOrigin("/v1/customers", "https://management.azure.com"));
}

TEST(UrlTest, SegmentAfterStopsAtTheNextSlashOrQuery) {
  EXPECT_EQ(SegmentAfter("https://h/subscriptions/s1/providers/x", "/subscriptions/"), "s1");
  EXPECT_EQ(SegmentAfter("https://h/v1/customers/c1?size=5", "/v1/customers/"), "c1");
  EXPECT_EQ(SegmentAfter("https://h/v1/customers/c1", "/v1/customers/"), "c1");
  EXPECT_EQ(SegmentAfter("https://h/v1/customers/", "/v1/customers/"), "");
  EXPECT_EQ(SegmentAfter("https://h/v1/customers?size=5", "/v1/customers/"), std::nullopt);
}

TEST(JsonRequestTest, AcceptsJsonAndKeepsWhatTheClientChose) {
  const http::HttpRequest request =
      JsonRequest({.method = "PUT", .url = "https://h/r", .operation = "arm.put_thing", .token_tenant = "t1",
                   .token_scope = "https://h/.default", .rate_limit_keys = {"arm-write/s1"}});
  EXPECT_EQ(request.method, "PUT");
  EXPECT_EQ(request.url, "https://h/r");
  EXPECT_THAT(request.headers, ::testing::ElementsAre(Pair("Accept", "application/json")));
  EXPECT_EQ(request.operation, "arm.put_thing");
  EXPECT_EQ(request.token_tenant, "t1");
  EXPECT_EQ(request.token_scope, "https://h/.default");
  EXPECT_THAT(request.rate_limit_keys, ::testing::ElementsAre("arm-write/s1"));
  EXPECT_EQ(JsonRequest({.url = "https://h/r"}).method, "GET");
}

TEST(CallTest, CopiesContextIntoRequest) {
  FakeHttpClient client;
  client.Respond(200, "{}");
  ops::OpContext ctx;
  ctx.deadline = absl::FromUnixSeconds(1000);
  ctx.correlation_id = "corr-1";
  http::HttpRequest request;
  request.url = "https://h/x";
  auto result = RunNow(Call(client, ctx, request));
  ASSERT_TRUE(result.has_value());
  ASSERT_THAT(*result, IsOk());
  EXPECT_EQ((*result)->status, 200);
  ASSERT_EQ(client.requests.size(), 1u);
  EXPECT_EQ(client.requests[0].deadline, absl::FromUnixSeconds(1000));
  EXPECT_EQ(client.requests[0].correlation_id, "corr-1");
}

TEST(CallTest, CancelledContextSendsNothing) {
  FakeHttpClient client;
  ops::OpContext ctx;
  ctx.cancel->Cancel();
  auto result = RunNow(Call(client, ctx, http::HttpRequest{}));
  ASSERT_TRUE(result.has_value());
  EXPECT_THAT(*result, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_TRUE(client.requests.empty());
}

TEST(CallTest, ResumesFromALaterCallbackAndCancellationReachesTheTransfer) {
  DeferredHttpClient client;
  ops::OpContext ctx;
  auto result = std::make_shared<std::optional<absl::StatusOr<http::HttpResponse>>>();
  ops::StartOpTask(Call(client, ctx, http::HttpRequest{}),
                   [result](absl::StatusOr<http::HttpResponse> r) { result->emplace(std::move(r)); });
  ASSERT_EQ(client.requests.size(), 1u);
  EXPECT_FALSE(result->has_value());
  EXPECT_FALSE(client.requests[0].cancel->cancelled());
  ctx.cancel->Cancel();
  EXPECT_TRUE(client.requests[0].cancel->cancelled());
  client.pending[0](absl::CancelledError("aborted"));
  ASSERT_TRUE(result->has_value());
  EXPECT_THAT(**result, StatusIs(absl::StatusCode::kCancelled));
}

TEST(PartnerCenterErrorTest, DocumentedShapeWithNumericCode) {
  absl::Status s = PartnerCenterError(
      Response(404, R"({"code":1000,"description":"Not found","data":[],"source":"PartnerFD"})",
               {{"ms-requestid", "req-9"}}),
      "customer 8c3f", "8c3f");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound, HasSubstr("customer 8c3f")));
  EXPECT_THAT(s.message(), HasSubstr("1000"));
  EXPECT_THAT(ops::GetUpstreamDetails(s),
              UnorderedElementsAre(Pair("upstreamCode", "1000"), Pair("upstreamRequestId", "req-9")));
}

TEST(PartnerCenterErrorTest, StringCodeAndBomAreAccepted) {
  absl::Status s = PartnerCenterError(
      Response(404, "\xEF\xBB\xBF{\"code\":\"20003\",\"description\":\"Subscription with id X not found.\"}"),
      "subscription X");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound, HasSubstr("Subscription with id X not found.")));
  EXPECT_EQ(ops::GetUpstreamDetails(s).at("upstreamCode"), "20003");
}

TEST(PartnerCenterErrorTest, NoRelationshipIsPermissionDeniedNamingTheCustomer) {
  absl::Status s = PartnerCenterError(
      Response(403, R"({"code":20002,"description":"No relationship between caller and account."})"),
      "customer 2e9b", "2e9b");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("no relationship with customer 2e9b")));
}

TEST(PartnerCenterErrorTest, GatewayShapeThrottlingCarriesRetryDelay) {
  absl::Status s = PartnerCenterError(
      Response(429, R"({ "statusCode": 429, "message": "Rate limit is exceeded. Try again in 42 seconds." })",
               {{"retry-after", "42"}}),
      "customers");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("Rate limit is exceeded")));
  EXPECT_EQ(ops::GetRetryDelay(s), absl::Seconds(42));
  EXPECT_EQ(ops::GetUpstreamDetails(s).at("upstreamCode"), "429");
}

TEST(PartnerCenterErrorTest, EmptyAndNonJsonBodiesStillMap) {
  EXPECT_THAT(PartnerCenterError(Response(503, ""), "customers"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(PartnerCenterError(Response(502, "<html>Bad Gateway</html>"), "customers"),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(PartnerCenterError(Response(400, "{\"code\":"), "customers"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PartnerCenterError(Response(409, "[1,2]"), "customers"), StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST(PartnerCenterErrorTest, UnauthorizedIsTheGatewaysCredential) {
  EXPECT_THAT(PartnerCenterError(Response(401, R"({"code":800001,"description":"Partner Token missing"})"),
                                 "customers"),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("the gateway's credential was rejected by Partner Center")));
}

TEST(ArmErrorTest, RoleAssignmentExistsCarriesTheExistingId) {
  absl::Status s = ArmError(
      Response(409,
               R"({"error":{"code":"RoleAssignmentExists","message":"The role assignment already exists. The ID of the existing role assignment is 5D1F0C9A2E7B48A6B3C4E1F0A9D8C7B2."}})",
               {{"x-ms-request-id", "arm-req"}}),
      "role assignment n1");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("role assignment n1")));
  EXPECT_THAT(ops::GetUpstreamDetails(s),
              UnorderedElementsAre(Pair("upstreamCode", "RoleAssignmentExists"), Pair("upstreamRequestId", "arm-req"),
                                   Pair("existingAssignmentId", "5d1f0c9a-2e7b-48a6-b3c4-e1f0a9d8c7b2")));
}

TEST(ArmErrorTest, SpecificCodesOverrideTheStatusTable) {
  auto arm = [](int status, const std::string& code) {
    return ArmError(Response(status, R"({"error":{"code":")" + code + R"(","message":"m"}})"), "r");
  };
  EXPECT_THAT(arm(400, "RoleAssignmentUpdateNotPermitted"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(arm(400, "PrincipalNotFound"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(arm(400, "InvalidPrincipalId"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(arm(404, "RoleDefinitionDoesNotExist"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(arm(404, "RoleAssignmentNotFound"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(arm(403, "AuthorizationFailed"), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(arm(500, "InternalServerError"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(ops::GetUpstreamDetails(arm(400, "PrincipalNotFound")).at("upstreamCode"), "PrincipalNotFound");
}

TEST(ArmErrorTest, WrongTenantTokenNamesBothTenants) {
  absl::Status s = ArmError(
      Response(401,
               R"({"error":{"code":"InvalidAuthenticationTokenTenant","message":"The access token is from the wrong issuer 'https://sts.windows.net/aaaa/'. It must match the tenant 'https://sts.windows.net/bbbb/' associated with this subscription."}})"),
      "role definitions at /subscriptions/x");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInternal, HasSubstr("token from tenant aaaa")));
  EXPECT_THAT(s.message(), HasSubstr("belongs to tenant bbbb"));
}

TEST(GraphErrorTest, DuplicateUpnIsAlreadyExists) {
  absl::Status s = GraphError(
      Response(400,
               R"({"error":{"code":"Request_BadRequest","message":"Another object with the same value for property userPrincipalName already exists.","innerError":{"request-id":"g-1"}}})",
               {{"request-id", "g-1"}}),
      "user owen@x");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("user owen@x")));
  EXPECT_EQ(ops::GetUpstreamDetails(s).at("upstreamRequestId"), "g-1");
  EXPECT_THAT(GraphError(Response(400, R"({"error":{"code":"Request_BadRequest","message":"weak password"}})"),
                         "user owen@x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(GraphError(Response(404, R"({"error":{"code":"Request_ResourceNotFound","message":"m"}})"), "user u"),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace partner::upstream
