#include "server/http/pipeline.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/bearer_token_policy.h"
#include "server/http/header_policies.h"
#include "server/http/logging_policy.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/http/fakes.h"

namespace partner::http {
namespace {

using ::partner::http::testing::FakeTimer;
using ::partner::http::testing::FakeTokenSource;
using ::partner::http::testing::Response;
using ::partner::http::testing::ScriptedClient;
using ::partner::http::testing::Shared;
using ::partner::testing::IsOk;
using ::partner::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::Optional;
using ::testing::Pair;

std::optional<std::string> FindHeader(const HttpRequest& request, absl::string_view name) {
  std::optional<std::string> found;
  for (const auto& [header, value] : request.headers) {
    if (!absl::EqualsIgnoreCase(header, name)) continue;
    EXPECT_FALSE(found.has_value()) << "header " << name << " sent twice";
    found = value;
  }
  return found;
}

absl::StatusOr<HttpResponse> SendNow(HttpClient& client, HttpRequest request) {
  std::optional<absl::StatusOr<HttpResponse>> result;
  client.Send(Shared(std::move(request)), [&result](absl::StatusOr<HttpResponse> r) { result = std::move(r); });
  EXPECT_TRUE(result.has_value()) << "fakes complete inline";
  return result.has_value() ? *std::move(result) : absl::InternalError("not completed");
}

HttpRequest CustomerGet() {
  HttpRequest request;
  request.url = "https://api.partnercenter.microsoft.com/v1/customers/c1?sig=SECRET_QUERY";
  request.operation = "pc.get_customer";
  request.correlation_id = "corr-1";
  request.id_headers = {"MS-RequestId", "MS-CorrelationId"};
  request.token_tenant = "partner-tenant";
  request.token_scope = "https://api.partnercenter.microsoft.com/.default";
  return request;
}

struct Pipeline {
  explicit Pipeline(std::deque<absl::StatusOr<HttpResponse>> script)
      : transport(std::make_shared<ScriptedClient>(std::move(script))),
        tokens(std::make_shared<FakeTokenSource>()),
        metrics(std::make_shared<HttpMetrics>()) {
    PipelineOptions options;
    options.version = "1.2.3";
    options.retry.jitter = [] { return 0.0; };
    options.timer = std::make_shared<FakeTimer>();
    options.log_sink = [this](absl::string_view line) { log.emplace_back(line); };
    options.metrics = metrics;
    client = MakeUpstreamPipeline(std::move(options), transport, tokens);
  }

  std::shared_ptr<ScriptedClient> transport;
  std::shared_ptr<FakeTokenSource> tokens;
  std::shared_ptr<HttpMetrics> metrics;
  std::vector<std::string> log;
  std::unique_ptr<HttpClient> client;
};

TEST(PipelineTest, OneRequestIdPerCallSharedByItsRetries) {
  Pipeline pipeline({Response(503), Response(200), Response(200)});
  ASSERT_THAT(SendNow(*pipeline.client, CustomerGet()).status(), IsOk());
  ASSERT_THAT(SendNow(*pipeline.client, CustomerGet()).status(), IsOk());
  const std::vector<HttpRequest>& sent = pipeline.transport->requests;
  ASSERT_EQ(sent.size(), 3U);
  const std::optional<std::string> first = FindHeader(sent[0], "MS-RequestId");
  ASSERT_TRUE(first.has_value());
  EXPECT_THAT(*first, MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_EQ(FindHeader(sent[1], "MS-RequestId"), first);
  EXPECT_NE(FindHeader(sent[2], "MS-RequestId"), first);
  for (const HttpRequest& request : sent) {
    EXPECT_EQ(FindHeader(request, "MS-CorrelationId"), "corr-1");
    EXPECT_EQ(FindHeader(request, "x-ms-client-request-id"), std::nullopt) << "ARM's name, not this service's";
    EXPECT_EQ(FindHeader(request, "x-ms-correlation-request-id"), std::nullopt);
    EXPECT_EQ(FindHeader(request, "User-Agent"), "partner-gateway/1.2.3");
    EXPECT_EQ(FindHeader(request, "Authorization"), "Bearer token-1");
  }
}

TEST(PipelineTest, IdsGoUnderTheNamesTheRequestGives) {
  Pipeline pipeline({Response(200), Response(200)});
  HttpRequest graph = CustomerGet();
  graph.id_headers = {"client-request-id", ""};
  ASSERT_THAT(SendNow(*pipeline.client, std::move(graph)).status(), IsOk());
  HttpRequest unnamed = CustomerGet();
  unnamed.id_headers = {};
  ASSERT_THAT(SendNow(*pipeline.client, std::move(unnamed)).status(), IsOk());
  const std::vector<HttpRequest>& sent = pipeline.transport->requests;
  ASSERT_EQ(sent.size(), 2U);
  EXPECT_THAT(FindHeader(sent[0], "client-request-id"),
              Optional(MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  for (const HttpRequest& request : sent) {
    EXPECT_EQ(FindHeader(request, "MS-RequestId"), std::nullopt);
    EXPECT_EQ(FindHeader(request, "MS-CorrelationId"), std::nullopt) << "the correlation id goes nowhere unnamed";
  }
  EXPECT_EQ(FindHeader(sent[1], "client-request-id"), std::nullopt);
  ASSERT_EQ(pipeline.log.size(), 2U);
  for (const std::string& line : pipeline.log) {
    EXPECT_THAT(line, MatchesRegex(".*\"request_id\":\"[0-9a-f-]{36}\".*")) << "logged whether sent or not";
  }
}

TEST(PipelineTest, NoScopeMeansNoTokenAndNoAuthorizationHeader) {
  Pipeline pipeline({Response(200)});
  HttpRequest request = CustomerGet();
  request.token_scope.clear();
  ASSERT_THAT(SendNow(*pipeline.client, std::move(request)).status(), IsOk());
  EXPECT_THAT(pipeline.tokens->requests, IsEmpty());
  EXPECT_EQ(FindHeader(pipeline.transport->requests[0], "Authorization"), std::nullopt);
}

TEST(PipelineTest, Unauthorized401RefreshesTheTokenOnceAndRetriesOnce) {
  Pipeline pipeline({Response(401), Response(200)});
  absl::StatusOr<HttpResponse> response = SendNow(*pipeline.client, CustomerGet());
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_EQ(response->status, 200);
  ASSERT_EQ(pipeline.transport->requests.size(), 2U);
  EXPECT_EQ(FindHeader(pipeline.transport->requests[0], "Authorization"), "Bearer token-1");
  EXPECT_EQ(FindHeader(pipeline.transport->requests[1], "Authorization"), "Bearer token-2");
  EXPECT_THAT(pipeline.tokens->invalidated,
              ElementsAre("partner-tenant|https://api.partnercenter.microsoft.com/.default|token-1"));
}

TEST(PipelineTest, A401AfterTheRefreshIsReturned) {
  Pipeline pipeline({Response(401), Response(401), Response(200)});
  absl::StatusOr<HttpResponse> response = SendNow(*pipeline.client, CustomerGet());
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_EQ(response->status, 401);
  EXPECT_EQ(pipeline.transport->requests.size(), 2U);
  EXPECT_EQ(pipeline.tokens->invalidated.size(), 1U);
}

TEST(PipelineTest, WithoutATokenSourceAScopedRequestFailsUnsent) {
  auto transport = std::make_shared<ScriptedClient>();
  PipelineOptions options;
  options.timer = std::make_shared<FakeTimer>();
  options.log_sink = [](absl::string_view) {};
  std::unique_ptr<HttpClient> client = MakeUpstreamPipeline(std::move(options), transport, nullptr);
  EXPECT_THAT(SendNow(*client, CustomerGet()).status(),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("no token source")));
  HttpRequest unscoped = CustomerGet();
  unscoped.token_scope.clear();
  EXPECT_THAT(SendNow(*client, std::move(unscoped)).status(), IsOk());
  EXPECT_EQ(transport->requests.size(), 1U);
}

TEST(PipelineTest, TokenFailureIsReturnedUnchangedAndNothingIsSent) {
  Pipeline pipeline({Response(200)});
  pipeline.tokens->failure = absl::FailedPreconditionError("app not consented in customer tenant t1");
  EXPECT_THAT(SendNow(*pipeline.client, CustomerGet()).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, "app not consented in customer tenant t1"));
  EXPECT_THAT(pipeline.transport->requests, IsEmpty());
}

TEST(PipelineTest, LogsOneAllowListedLinePerAttemptAndNoSecret) {
  Pipeline pipeline({Response(429, {{"retry-after", "1"}, {"set-cookie", "SECRET_COOKIE"}}, "SECRET_BODY"),
                     Response(200, {}, "SECRET_BODY")});
  HttpRequest request = CustomerGet();
  request.method = "PUT";
  request.body = "{\"password\":\"SECRET_PASSWORD\"}";
  request.headers.emplace_back("X-Custom", "SECRET_HEADER");
  ASSERT_THAT(SendNow(*pipeline.client, std::move(request)).status(), IsOk());
  ASSERT_EQ(pipeline.log.size(), 2U);
  const std::string request_id = *FindHeader(pipeline.transport->requests[0], "MS-RequestId");
  for (const std::string& line : pipeline.log) {
    EXPECT_THAT(line, Not(HasSubstr("SECRET"))) << line;
    EXPECT_THAT(line, Not(HasSubstr("token-1"))) << line;
    EXPECT_THAT(line, HasSubstr("\"operation\":\"pc.get_customer\""));
    EXPECT_THAT(line, HasSubstr("\"method\":\"PUT\""));
    EXPECT_THAT(line, HasSubstr("\"host\":\"api.partnercenter.microsoft.com\""));
    EXPECT_THAT(line, HasSubstr("\"path\":\"/v1/customers/c1\""));
    EXPECT_THAT(line, HasSubstr("\"request_id\":\"" + request_id + "\""));
    EXPECT_THAT(line, HasSubstr("\"correlation_id\":\"corr-1\""));
    EXPECT_THAT(line, HasSubstr("\"latency_ms\":"));
  }
  EXPECT_THAT(pipeline.log[0], HasSubstr("\"attempt\":1"));
  EXPECT_THAT(pipeline.log[0], HasSubstr("\"status\":429"));
  EXPECT_THAT(pipeline.log[1], HasSubstr("\"attempt\":2"));
  EXPECT_THAT(pipeline.log[1], HasSubstr("\"status\":200"));
}

TEST(LoggingPolicyTest, NeverLogsAuthorizationOrQuery) {
  auto next = std::make_shared<ScriptedClient>();
  std::vector<std::string> log;
  LoggingPolicy policy([&log](absl::string_view line) { log.emplace_back(line); }, nullptr, next);
  HttpRequest request = CustomerGet();
  request.url = "https://graph.microsoft.com/v1.0/users?$filter=SECRET_FILTER#SECRET_FRAGMENT";
  request.headers.emplace_back("Authorization", "Bearer SECRET_TOKEN");
  request.request_id = "rid-1";
  EXPECT_THAT(SendNow(policy, std::move(request)).status(), IsOk());
  ASSERT_EQ(log.size(), 1U);
  EXPECT_THAT(log[0], Not(HasSubstr("SECRET")));
  EXPECT_THAT(log[0], HasSubstr("\"path\":\"/v1.0/users\""));
  EXPECT_THAT(log[0], HasSubstr("\"request_id\":\"rid-1\""));
  EXPECT_EQ(FindHeader(next->requests[0], "Authorization"), "Bearer SECRET_TOKEN");
}

TEST(LoggingPolicyTest, LogsTheLatencyInTenthsOfAMillisecond) {
  // Answers 30 ms after it is sent a request.
  class SlowClient final : public HttpClient {
   public:
    void Send(std::shared_ptr<HttpRequest>, HttpDone done) override {
      absl::SleepFor(absl::Milliseconds(30));
      done(Response(200));
    }
  };
  std::vector<std::string> log;
  LoggingPolicy policy([&log](absl::string_view line) { log.emplace_back(line); }, nullptr,
                       std::make_shared<SlowClient>());
  ASSERT_THAT(SendNow(policy, CustomerGet()).status(), IsOk());
  ASSERT_EQ(log.size(), 1U);
  const std::size_t at = log[0].find("\"latency_ms\":");
  ASSERT_NE(at, std::string::npos) << log[0];
  const std::string value = log[0].substr(at + 13, log[0].size() - at - 14);
  EXPECT_THAT(value, MatchesRegex("[0-9]+\\.[0-9]")) << log[0];
  double milliseconds = 0;
  ASSERT_TRUE(absl::SimpleAtod(value, &milliseconds));
  EXPECT_GE(milliseconds, 30.0);
  EXPECT_LT(milliseconds, 30000.0);
  EXPECT_EQ(log[0].back(), '}');
}

TEST(PipelineTest, LogsTransportFailuresByCodeOnly) {
  Pipeline pipeline({absl::NotFoundError("detail with SECRET_DETAIL")});
  EXPECT_THAT(SendNow(*pipeline.client, CustomerGet()).status(), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_EQ(pipeline.log.size(), 1U);
  EXPECT_THAT(pipeline.log[0], HasSubstr("\"status\":0,\"error\":\"NOT_FOUND\""));
  EXPECT_THAT(pipeline.log[0], Not(HasSubstr("SECRET")));
}

TEST(PipelineTest, LogEscapesValuesIntoValidJsonStrings) {
  Pipeline pipeline({Response(200)});
  HttpRequest request = CustomerGet();
  request.operation = std::string("op\"with\\quote\n\ttab\r\x01" "end\x1f", 24);
  EXPECT_THAT(SendNow(*pipeline.client, std::move(request)).status(), IsOk());
  ASSERT_EQ(pipeline.log.size(), 1U);
  EXPECT_THAT(pipeline.log[0],
              HasSubstr("\"operation\":\"op\\\"with\\\\quote\\n\\ttab\\r\\u0001end\\u001f\","));
}

TEST(PipelineTest, CountsRequestsByOperationAndClassRetriesAndThrottling) {
  Pipeline pipeline({Response(429), Response(503), Response(200), Response(404)});
  EXPECT_THAT(SendNow(*pipeline.client, CustomerGet()).status(), IsOk());
  HttpRequest other = CustomerGet();
  other.operation = "arm.get_role_assignment";
  EXPECT_THAT(SendNow(*pipeline.client, std::move(other)).status(), IsOk());
  const HttpMetrics::Snapshot snapshot = pipeline.metrics->snapshot();
  EXPECT_THAT(snapshot.requests,
              ElementsAre(Pair(Pair("arm.get_role_assignment", "4xx"), 1), Pair(Pair("pc.get_customer", "2xx"), 1),
                          Pair(Pair("pc.get_customer", "4xx"), 1), Pair(Pair("pc.get_customer", "5xx"), 1)));
  EXPECT_EQ(snapshot.retries, 2);
  EXPECT_EQ(snapshot.throttled, 1);
  ASSERT_EQ(snapshot.latency.count("pc"), 1u);
  EXPECT_EQ(snapshot.latency.at("pc").count, 3) << "every attempt is timed, by service";
  EXPECT_EQ(snapshot.latency.at("pc").buckets.back(), 3) << "buckets are cumulative";
  EXPECT_EQ(snapshot.latency.at("arm").count, 1);
}

TEST(HeaderPoliciesTest, SetHeaderReplacesAnyCaseVariant) {
  std::vector<Header> headers = {{"user-agent", "curl"}, {"Accept", "json"}, {"USER-AGENT", "other"}};
  SetHeader(headers, "User-Agent", "partner-gateway/1");
  EXPECT_THAT(headers, ElementsAre(Pair("Accept", "json"), Pair("User-Agent", "partner-gateway/1")));
}

}  // namespace
}  // namespace partner::http
