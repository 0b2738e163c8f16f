#include "server/auth/token/token_provider.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "nlohmann/json.hpp"
#include "server/http/pipeline.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/auth/fake_token_endpoint.h"
#include "tests/unit/auth/test_rsa_certificate.h"

namespace partner::auth {
namespace {

using ::partner::testing::FakeClock;
using ::partner::testing::FakeTokenEndpoint;
using ::partner::testing::IsOk;
using ::partner::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTenant[] = "8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418";
constexpr char kArm[] = "https://management.azure.com/.default";
constexpr char kGraph[] = "https://graph.microsoft.com/.default";
constexpr char kAppId[] = "0d7e2f4a-91c3-4b6e-8a55-3f1e9c2b7d60";
// Characters a form body must escape, so an unencoded secret would be visible in the body.
constexpr char kSecret[] = "s3cr3t+Value/with&and=and %~";

// Decodes an application/x-www-form-urlencoded body (no '+' for space: the provider emits %20).
std::map<std::string, std::string> FormFields(const std::string& body) {
  std::map<std::string, std::string> fields;
  for (absl::string_view pair : absl::StrSplit(body, '&')) {
    std::pair<std::string, std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    std::string value;
    for (size_t i = 0; i < kv.second.size(); ++i) {
      int byte = 0;
      if (kv.second[i] == '%' && i + 2 < kv.second.size() &&
          absl::SimpleHexAtoi(absl::string_view(kv.second).substr(i + 1, 2), &byte)) {
        value.push_back(static_cast<char>(byte));
        i += 2;
      } else {
        value.push_back(kv.second[i]);
      }
    }
    fields[kv.first] = value;
  }
  return fields;
}

MATCHER_P(HoldsToken, token, "is OK and holds token " + std::string(token)) {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  *result_listener << "token is " << *arg;
  return *arg == token;
}

class TokenProviderTest : public ::testing::Test {
 protected:
  std::shared_ptr<TokenProvider> MakeProvider(std::variant<ClientSecret, ClientCertificate> credential =
                                                  ClientSecret{kSecret}) {
    TokenProviderOptions options;
    options.authority_url = "https://login.example.test/";
    options.app_id = kAppId;
    options.credential = std::move(credential);
    options.clock = [clock = clock_] { return clock->Now(); };
    options.timer = clock_;
    absl::StatusOr<std::shared_ptr<TokenProvider>> provider = TokenProvider::Create(std::move(options), endpoint_);
    EXPECT_THAT(provider, IsOk());
    return provider.ok() ? *provider : nullptr;
  }

  // GetToken whose answer the fake gives synchronously (not held).
  absl::StatusOr<std::string> Get(TokenProvider& provider, const std::string& tenant = kTenant,
                                  const std::string& scope = kArm) {
    std::optional<absl::StatusOr<std::string>> result;
    provider.GetToken(tenant, scope, clock_->Now() + absl::Seconds(30),
                      [&](absl::StatusOr<std::string> token) { result = std::move(token); });
    EXPECT_TRUE(result.has_value()) << "GetToken did not complete";
    return result.has_value() ? *std::move(result) : absl::UnknownError("not completed");
  }

  std::shared_ptr<FakeTokenEndpoint> endpoint_ = std::make_shared<FakeTokenEndpoint>();
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
};

TEST_F(TokenProviderTest, SecretRequestIsAFormPostToTheTenantsTokenEndpoint) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  EXPECT_THAT(Get(*provider), IsOk());
  const std::vector<http::HttpRequest> requests = endpoint_->requests();
  ASSERT_EQ(requests.size(), 1u);
  const http::HttpRequest& request = requests[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, std::string("https://login.example.test/") + kTenant + "/oauth2/v2.0/token");
  EXPECT_THAT(request.headers,
              ::testing::Contains(http::Header("Content-Type", "application/x-www-form-urlencoded")));
  EXPECT_FALSE(request.idempotent);
  EXPECT_EQ(request.token_scope, "") << "a token request must not itself ask for a bearer token";
  EXPECT_EQ(request.operation, "token");
  EXPECT_EQ(request.id_headers.request_id, "client-request-id");
  EXPECT_EQ(request.id_headers.correlation_id, "");
  EXPECT_EQ(request.body,
            "grant_type=client_credentials&client_id=0d7e2f4a-91c3-4b6e-8a55-3f1e9c2b7d60"
            "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default"
            "&client_secret=s3cr3t%2BValue%2Fwith%26and%3Dand%20%25~");
  EXPECT_EQ(FormFields(request.body)["client_secret"], kSecret);
}

TEST_F(TokenProviderTest, CertificateRequestCarriesAnAssertionForTheTokenUrl) {
  const testing::RsaCertificateFiles files = testing::MakeRsaCertificateFiles("provider");
  std::shared_ptr<TokenProvider> provider = MakeProvider(ClientCertificate{files.cert_file, files.key_file});
  EXPECT_THAT(Get(*provider), IsOk());
  const std::vector<http::HttpRequest> requests = endpoint_->requests();
  ASSERT_EQ(requests.size(), 1u);
  std::map<std::string, std::string> fields = FormFields(requests[0].body);
  EXPECT_EQ(fields.count("client_secret"), 0u);
  EXPECT_EQ(fields["grant_type"], "client_credentials");
  EXPECT_EQ(fields["client_id"], kAppId);
  EXPECT_EQ(fields["scope"], kArm);
  EXPECT_EQ(fields["client_assertion_type"], "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
  std::vector<std::string> parts = absl::StrSplit(fields["client_assertion"], '.');
  ASSERT_EQ(parts.size(), 3u);
  std::string header_json;
  std::string claims_json;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[0], &header_json));
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[1], &claims_json));
  const nlohmann::json header = nlohmann::json::parse(header_json, nullptr, false);
  const nlohmann::json claims = nlohmann::json::parse(claims_json, nullptr, false);
  EXPECT_EQ(header["alg"], "PS256");
  EXPECT_TRUE(header.contains("x5t#S256"));
  EXPECT_EQ(claims["aud"], requests[0].url);
  EXPECT_EQ(claims["iss"], kAppId);
  EXPECT_EQ(claims["iat"], absl::ToUnixSeconds(clock_->Now()));
}

TEST_F(TokenProviderTest, BadCertificateFileFailsCreateNamingTheFile) {
  TokenProviderOptions options;
  options.app_id = kAppId;
  options.credential = ClientCertificate{"/nonexistent/app.pem", "/nonexistent/app.key"};
  EXPECT_THAT(TokenProvider::Create(std::move(options), endpoint_),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/app.pem")));
}

TEST_F(TokenProviderTest, TokenIsCachedPerTenantAndScope) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  EXPECT_THAT(Get(*provider), HoldsToken("token-1"));
  EXPECT_THAT(Get(*provider), HoldsToken("token-1"));
  EXPECT_THAT(Get(*provider, kTenant, kGraph), HoldsToken("token-2"));
  EXPECT_THAT(Get(*provider, "contoso.onmicrosoft.com", kArm), HoldsToken("token-3"));
  EXPECT_EQ(endpoint_->requests().size(), 3u);
  EXPECT_EQ(endpoint_->requests()[2].url, "https://login.example.test/contoso.onmicrosoft.com/oauth2/v2.0/token");
  const TokenProviderStats stats = provider->stats();
  EXPECT_EQ(stats.token_requests, 3);
  EXPECT_EQ(stats.cache_hits, 1);
}

TEST_F(TokenProviderTest, V1StringExpiresInIsAccepted) {
  endpoint_->Script(testing::JsonResponse(
      200, R"({"token_type":"Bearer","expires_in":"3599","ext_expires_in":"3599","access_token":"v1-token"})"));
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  EXPECT_THAT(Get(*provider), HoldsToken("v1-token"));
  clock_->Advance(absl::Minutes(50));
  EXPECT_THAT(Get(*provider), HoldsToken("v1-token"));
  EXPECT_EQ(endpoint_->requests().size(), 1u);
}

TEST_F(TokenProviderTest, AThousandConcurrentFirstCallsShareOneRequest) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  endpoint_->Hold();
  absl::Mutex mu;
  std::vector<absl::StatusOr<std::string>> results;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) {
        provider->GetToken(kTenant, kArm, clock_->Now() + absl::Seconds(30), [&](absl::StatusOr<std::string> token) {
          absl::MutexLock lock(&mu);
          results.push_back(std::move(token));
        });
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  {
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(results.empty()) << "no caller may be answered before the token arrives";
  }
  EXPECT_EQ(endpoint_->held(), 1);
  endpoint_->Release(testing::TokenResponse("shared-token"));
  absl::MutexLock lock(&mu);
  ASSERT_EQ(results.size(), 1000u);
  for (const absl::StatusOr<std::string>& token : results) EXPECT_THAT(token, HoldsToken("shared-token"));
  EXPECT_EQ(endpoint_->requests().size(), 1u);
  EXPECT_EQ(provider->stats().token_requests, 1);
}

TEST_F(TokenProviderTest, SharedRequestFailureReachesEveryWaiterAndIsNotCached) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  endpoint_->Hold();
  std::vector<absl::Status> errors;
  for (int i = 0; i < 3; ++i) {
    provider->GetToken(kTenant, kArm, clock_->Now() + absl::Seconds(30),
                       [&](absl::StatusOr<std::string> token) { errors.push_back(token.status()); });
  }
  endpoint_->Release(testing::JsonResponse(503, "Service Unavailable"));
  ASSERT_EQ(errors.size(), 3u);
  for (const absl::Status& error : errors) EXPECT_THAT(error, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(Get(*provider), HoldsToken("token-2"));
  EXPECT_EQ(provider->stats().failures, 1);
}

TEST_F(TokenProviderTest, RefreshAheadServesTheCachedTokenAndRefreshesOnceInTheBackground) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  endpoint_->Script(testing::TokenResponse("first", 3600));
  EXPECT_THAT(Get(*provider), HoldsToken("first"));
  // A one-hour token is refreshed once less than six minutes (ten percent) remain.
  clock_->Advance(absl::Minutes(53));
  EXPECT_THAT(Get(*provider), HoldsToken("first"));
  EXPECT_EQ(endpoint_->requests().size(), 1u) << "refreshed too early";
  clock_->Advance(absl::Minutes(2));
  endpoint_->Hold();
  EXPECT_THAT(Get(*provider), HoldsToken("first"));
  EXPECT_THAT(Get(*provider), HoldsToken("first"));
  EXPECT_EQ(endpoint_->held(), 1) << "exactly one background refresh";
  endpoint_->Release(testing::TokenResponse("second", 3600));
  EXPECT_THAT(Get(*provider), HoldsToken("second"));
  const TokenProviderStats stats = provider->stats();
  EXPECT_EQ(stats.token_requests, 2);
  EXPECT_EQ(stats.refreshes_ahead, 1);
}

TEST_F(TokenProviderTest, AShortLivedTokenIsReusedAndRefreshedAheadOfItsExpiry) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  endpoint_->Script(testing::TokenResponse("first", 5));
  EXPECT_THAT(Get(*provider), HoldsToken("first"));
  clock_->Advance(absl::Seconds(2));
  EXPECT_THAT(Get(*provider), HoldsToken("first")) << "a 5 s token is reused, not fetched per call";
  EXPECT_EQ(endpoint_->requests().size(), 1u);
  clock_->Advance(absl::Seconds(1));
  endpoint_->Hold();
  EXPECT_THAT(Get(*provider), HoldsToken("first")) << "still usable while its refresh runs";
  endpoint_->Release(testing::TokenResponse("second", 5));
  EXPECT_THAT(Get(*provider), HoldsToken("second"));
  EXPECT_EQ(provider->stats().refreshes_ahead, 1);
}

TEST_F(TokenProviderTest, FailedRefreshAheadKeepsTheValidToken) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  endpoint_->Script(testing::TokenResponse("first", 3600));
  endpoint_->Script(testing::JsonResponse(503, ""));
  EXPECT_THAT(Get(*provider), HoldsToken("first"));
  clock_->Advance(absl::Minutes(55));
  EXPECT_THAT(Get(*provider), HoldsToken("first"));
  EXPECT_THAT(Get(*provider), HoldsToken("first"));
  EXPECT_EQ(endpoint_->requests().size(), 2u) << "a failed refresh is not retried on every call";
  clock_->Advance(absl::Minutes(1));
  EXPECT_THAT(Get(*provider), HoldsToken("first"));
  EXPECT_THAT(Get(*provider), HoldsToken("token-3"));
}

TEST_F(TokenProviderTest, ExpiredTokenIsNeverHandedOut) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  endpoint_->Script(testing::TokenResponse("first", 3600));
  EXPECT_THAT(Get(*provider), HoldsToken("first"));
  clock_->Advance(absl::Minutes(60) - absl::Seconds(10));
  endpoint_->Hold();
  bool answered = false;
  provider->GetToken(kTenant, kArm, clock_->Now() + absl::Seconds(30), [&](absl::StatusOr<std::string> token) {
    answered = true;
    EXPECT_THAT(token, HoldsToken("second"));
  });
  EXPECT_FALSE(answered) << "a token ten seconds from expiry must not be used";
  endpoint_->Release(testing::TokenResponse("second"));
  EXPECT_TRUE(answered);
}

TEST_F(TokenProviderTest, InvalidateForcesANewRequestOnlyForTheSameToken) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  EXPECT_THAT(Get(*provider), HoldsToken("token-1"));
  provider->Invalidate(kTenant, kArm, "some-older-token");
  provider->Invalidate(kTenant, kGraph, "token-1");
  EXPECT_THAT(Get(*provider), HoldsToken("token-1"));
  provider->Invalidate(kTenant, kArm, "token-1");
  EXPECT_THAT(Get(*provider), HoldsToken("token-2"));
  EXPECT_EQ(endpoint_->requests().size(), 2u);
}

TEST_F(TokenProviderTest, PassedDeadlineWithoutTokenFailsWithoutARequest) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  std::optional<absl::StatusOr<std::string>> result;
  provider->GetToken(kTenant, kArm, clock_->Now() - absl::Seconds(1),
                     [&](absl::StatusOr<std::string> token) { result = std::move(token); });
  ASSERT_TRUE(result.has_value());
  EXPECT_THAT(*result, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_TRUE(endpoint_->requests().empty());
}

TEST_F(TokenProviderTest, CallbacksRunOutsideTheLockSoTheyMayCallBackIn) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  endpoint_->Hold();
  std::vector<std::string> nested;
  provider->GetToken(kTenant, kArm, clock_->Now() + absl::Seconds(30), [&](absl::StatusOr<std::string> token) {
    ASSERT_THAT(token, HoldsToken("held"));
    provider->Invalidate(kTenant, kArm, "unrelated");
    provider->GetToken(kTenant, kArm, clock_->Now() + absl::Seconds(30),
                       [&](absl::StatusOr<std::string> again) { nested.push_back(*again); });
  });
  endpoint_->Release(testing::TokenResponse("held"));
  EXPECT_THAT(nested, ::testing::ElementsAre("held"));
  EXPECT_EQ(provider->stats().cache_hits, 1);
}

TEST_F(TokenProviderTest, InvalidateDuringARefreshMakesCallersWaitForIt) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  endpoint_->Script(testing::TokenResponse("first", 3600));
  EXPECT_THAT(Get(*provider), HoldsToken("first"));
  clock_->Advance(absl::Minutes(55));
  endpoint_->Hold();
  EXPECT_THAT(Get(*provider), HoldsToken("first"));
  provider->Invalidate(kTenant, kArm, "first");
  std::optional<absl::StatusOr<std::string>> result;
  provider->GetToken(kTenant, kArm, clock_->Now() + absl::Seconds(30),
                     [&](absl::StatusOr<std::string> token) { result = std::move(token); });
  EXPECT_FALSE(result.has_value()) << "the rejected token must not be handed out again";
  endpoint_->Release(testing::TokenResponse("second"));
  ASSERT_TRUE(result.has_value());
  EXPECT_THAT(*result, HoldsToken("second"));
  EXPECT_EQ(endpoint_->requests().size(), 2u);
}

// Every answer one caller of a shared token request got.
class Answers {
 public:
  http::TokenDone Callback() {
    return [this](absl::StatusOr<std::string> token) {
      absl::MutexLock lock(&mu_);
      answers_.push_back(std::move(token));
    };
  }
  std::vector<absl::StatusOr<std::string>> answers() const {
    absl::MutexLock lock(&mu_);
    return answers_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<absl::StatusOr<std::string>> answers_ ABSL_GUARDED_BY(mu_);
};

TEST_F(TokenProviderTest, AWaiterIsAnsweredAtItsOwnDeadlineWhileTheSharedRequestServesTheOthers) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  endpoint_->Hold();
  Answers first, hurried, patient;
  provider->GetToken(kTenant, kArm, clock_->Now() + absl::Seconds(30), first.Callback());
  provider->GetToken(kTenant, kArm, clock_->Now() + absl::Seconds(1), hurried.Callback());
  provider->GetToken(kTenant, kArm, clock_->Now() + absl::Seconds(60), patient.Callback());
  clock_->Advance(absl::Milliseconds(999));
  EXPECT_TRUE(hurried.answers().empty()) << "answered before its deadline";
  clock_->Advance(absl::Milliseconds(1));
  ASSERT_EQ(hurried.answers().size(), 1u);
  EXPECT_THAT(hurried.answers()[0], StatusIs(absl::StatusCode::kDeadlineExceeded,
                                             AllOf(HasSubstr(kTenant), HasSubstr(kArm))));
  EXPECT_TRUE(first.answers().empty());
  EXPECT_TRUE(patient.answers().empty());
  EXPECT_EQ(endpoint_->held(), 1) << "the shared request goes on";

  clock_->Advance(absl::Seconds(5));
  endpoint_->Release(testing::TokenResponse("late-token"));
  EXPECT_THAT(first.answers(), ::testing::ElementsAre(HoldsToken("late-token")));
  EXPECT_THAT(patient.answers(), ::testing::ElementsAre(HoldsToken("late-token")));
  EXPECT_EQ(hurried.answers().size(), 1u) << "answered twice";
  EXPECT_THAT(Get(*provider), HoldsToken("late-token"));
  EXPECT_EQ(provider->stats().cache_hits, 1);
  EXPECT_EQ(endpoint_->requests().size(), 1u);
  clock_->Advance(absl::Minutes(2));
  EXPECT_EQ(hurried.answers().size() + first.answers().size() + patient.answers().size(), 3u)
      << "a passing deadline answered a caller the token had answered";
}

TEST_F(TokenProviderTest, TheDeadlineOfTheCallerThatStartedTheRequestFailsOnlyThatCaller) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  endpoint_->Hold();
  Answers starter, other;
  provider->GetToken(kTenant, kArm, clock_->Now() + absl::Seconds(1), starter.Callback());
  provider->GetToken(kTenant, kArm, clock_->Now() + absl::Seconds(60), other.Callback());
  ASSERT_EQ(endpoint_->requests().size(), 1u);
  EXPECT_EQ(endpoint_->requests()[0].deadline, clock_->Now() + absl::Seconds(30))
      << "the shared request runs on its own timeout, not on the starter's deadline";
  clock_->Advance(absl::Seconds(1));
  ASSERT_EQ(starter.answers().size(), 1u);
  EXPECT_THAT(starter.answers()[0], StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_TRUE(other.answers().empty());
  endpoint_->Release(testing::TokenResponse("shared-token"));
  EXPECT_THAT(other.answers(), ::testing::ElementsAre(HoldsToken("shared-token")));
  EXPECT_EQ(starter.answers().size(), 1u);
  EXPECT_THAT(Get(*provider), HoldsToken("shared-token"));
  EXPECT_EQ(provider->stats().token_requests, 1);
}

TEST_F(TokenProviderTest, AFailedSharedRequestAfterAWaiterExpiredAnswersOnlyTheOthers) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  endpoint_->Hold();
  Answers hurried, patient;
  provider->GetToken(kTenant, kArm, clock_->Now() + absl::Seconds(1), hurried.Callback());
  provider->GetToken(kTenant, kArm, clock_->Now() + absl::Seconds(60), patient.Callback());
  clock_->Advance(absl::Seconds(2));
  endpoint_->Release(testing::JsonResponse(503, ""));
  ASSERT_EQ(hurried.answers().size(), 1u);
  EXPECT_THAT(hurried.answers()[0], StatusIs(absl::StatusCode::kDeadlineExceeded));
  ASSERT_EQ(patient.answers().size(), 1u);
  EXPECT_THAT(patient.answers()[0], StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(Get(*provider), HoldsToken("token-2")) << "a failure must not be cached";
}

// The token response and a waiter's deadline landing at the same moment, from two threads: each
// waiter is answered exactly once, with the token or DEADLINE_EXCEEDED, and the cache holds the
// token either way.
TEST_F(TokenProviderTest, TokenArrivingAtTheDeadlineAnswersEachWaiterOnce) {
  constexpr int kRounds = 50;
  constexpr int kWaiters = 20;
  for (int round = 0; round < kRounds; ++round) {
    std::shared_ptr<TokenProvider> provider = MakeProvider();
    endpoint_->Hold();
    std::vector<Answers> answers(kWaiters);
    for (Answers& waiter : answers) {
      provider->GetToken(kTenant, kArm, clock_->Now() + absl::Seconds(1), waiter.Callback());
    }
    const std::string token = absl::StrCat("round-", round);
    std::atomic<int> ready{0};
    auto start_together = [&] {
      ready.fetch_add(1);
      while (ready.load() < 2) std::this_thread::yield();
    };
    std::thread response([&] {
      start_together();
      endpoint_->Release(testing::TokenResponse(token));
    });
    std::thread deadline([&] {
      start_together();
      clock_->Advance(absl::Seconds(1));
    });
    response.join();
    deadline.join();
    for (const Answers& waiter : answers) {
      const std::vector<absl::StatusOr<std::string>> got = waiter.answers();
      ASSERT_EQ(got.size(), 1u) << "round " << round;
      if (got[0].ok()) {
        EXPECT_EQ(*got[0], token);
      } else {
        EXPECT_THAT(got[0], StatusIs(absl::StatusCode::kDeadlineExceeded));
      }
    }
    EXPECT_THAT(Get(*provider), HoldsToken(token));
  }
}

TEST_F(TokenProviderTest, ATokenAnswerBeforeTheDeadlineLeavesNothingForTheDeadline) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  endpoint_->Hold();
  Answers waiter;
  provider->GetToken(kTenant, kArm, clock_->Now() + absl::Seconds(1), waiter.Callback());
  EXPECT_EQ(clock_->pending_waits(), 1);
  endpoint_->Release(testing::TokenResponse("in-time"));
  clock_->Advance(absl::Seconds(1));
  EXPECT_THAT(waiter.answers(), ::testing::ElementsAre(HoldsToken("in-time")));
}

TEST_F(TokenProviderTest, AnAnswerWithoutWaitingSetsNoDeadlineTimer) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  EXPECT_THAT(Get(*provider), HoldsToken("token-1"));
  EXPECT_THAT(Get(*provider), HoldsToken("token-1"));
  EXPECT_EQ(clock_->pending_waits(), 0);
}

// A cancelled upstream call is answered at once even while its token is still being fetched; the
// fetch goes on and fills the cache, and the call is never answered a second time.
TEST_F(TokenProviderTest, CancellationEndsTheWaitForATokenAtOnce) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  auto upstream = std::make_shared<FakeTokenEndpoint>();
  http::PipelineOptions options;
  options.timer = clock_;
  options.log_sink = [](absl::string_view) {};
  std::unique_ptr<http::HttpClient> pipeline = http::MakeUpstreamPipeline(std::move(options), upstream, provider);
  endpoint_->Hold();
  auto request = std::make_shared<http::HttpRequest>();
  request->url = "https://management.example.test/subscriptions";
  request->token_tenant = kTenant;
  request->token_scope = kArm;
  request->deadline = clock_->Now() + absl::Seconds(60);
  std::shared_ptr<http::CancelToken> cancel = request->cancel;
  std::vector<absl::StatusOr<http::HttpResponse>> results;
  pipeline->Send(std::move(request), [&](absl::StatusOr<http::HttpResponse> response) {
    results.push_back(std::move(response));
  });
  EXPECT_TRUE(results.empty());
  cancel->Cancel();
  ASSERT_EQ(results.size(), 1u) << "cancellation must not wait for the token";
  EXPECT_THAT(results[0], StatusIs(absl::StatusCode::kCancelled));
  endpoint_->Release(testing::TokenResponse("after-cancel"));
  clock_->Advance(absl::Seconds(60));
  EXPECT_EQ(results.size(), 1u);
  EXPECT_THAT(Get(*provider), HoldsToken("after-cancel"));
  EXPECT_EQ(endpoint_->requests().size(), 1u);
}

TEST_F(TokenProviderTest, PlainHttpAuthorityOnlyOnLoopback) {
  for (const char* url : {"http://login.microsoftonline.com", "ftp://x", "https://", "login.microsoftonline.com"}) {
    TokenProviderOptions options;
    options.app_id = kAppId;
    options.authority_url = url;
    options.credential = ClientSecret{kSecret};
    EXPECT_THAT(TokenProvider::Create(std::move(options), endpoint_),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(url)));
  }
  TokenProviderOptions options;
  options.app_id = kAppId;
  options.authority_url = "http://127.0.0.1:8443";
  options.credential = ClientSecret{kSecret};
  EXPECT_THAT(TokenProvider::Create(std::move(options), endpoint_), IsOk());
}

struct ErrorCase {
  std::string name;
  absl::StatusOr<http::HttpResponse> response;
  absl::StatusCode code;
  std::vector<std::string> message_parts;

  friend void PrintTo(const ErrorCase& error_case, std::ostream* os) { *os << error_case.name; }
};

class TokenErrorTest : public TokenProviderTest, public ::testing::WithParamInterface<ErrorCase> {};

TEST_P(TokenErrorTest, MapsToAClearStatusWithoutTheSecretAndIsNotCached) {
  std::shared_ptr<TokenProvider> provider = MakeProvider();
  endpoint_->Script(GetParam().response);
  const absl::StatusOr<std::string> token = Get(*provider);
  EXPECT_THAT(token, StatusIs(GetParam().code));
  for (const std::string& part : GetParam().message_parts) EXPECT_THAT(token.status().message(), HasSubstr(part));
  EXPECT_THAT(token.status().ToString(), AllOf(Not(HasSubstr(kSecret)), Not(HasSubstr("s3cr3t"))));
  EXPECT_THAT(token.status().message(), Not(HasSubstr("Trace ID"))) << "only the first line of the description";
  EXPECT_THAT(Get(*provider), HoldsToken("token-2")) << "a failure must not be cached";
  EXPECT_EQ(provider->stats().failures, 1);
}

// Entra does not echo the secret, but a message built from its text must never carry it anyway.
const std::string kEcho = std::string("secret s3cr3t+Value/with&and=and %~ was sent");

INSTANTIATE_TEST_SUITE_P(
    Entra, TokenErrorTest,
    ::testing::Values(
        ErrorCase{"NotConsented",
                  testing::AadError(400, "unauthorized_client", 700016,
                                    "AADSTS700016: Application with identifier '0d7e2f4a' was not found in the "
                                    "directory 'Fabrikam'."),
                  absl::StatusCode::kFailedPrecondition,
                  {std::string("app ") + kAppId + " is not consented in customer tenant " + kTenant +
                       " (AADSTS700016): ",
                   "was not found in the directory 'Fabrikam'."}},
        ErrorCase{"NotConsentedFromDescriptionOnly",
                  testing::JsonResponse(400, R"({"error":"unauthorized_client","error_description":)"
                                             R"("AADSTS700016: Application not found.\r\nTrace ID: x"})"),
                  absl::StatusCode::kFailedPrecondition,
                  {"is not consented in customer tenant", "Application not found."}},
        ErrorCase{"WrongSecret",
                  testing::AadError(401, "invalid_client", 7000215, "AADSTS7000215: Invalid client secret. " + kEcho),
                  absl::StatusCode::kInternal,
                  {"the client secret was rejected", kTenant, kAppId}},
        ErrorCase{"ExpiredSecret",
                  testing::AadError(401, "invalid_client", 7000222, "AADSTS7000222: The provided client secret keys "
                                                                    "for app are expired. " + kEcho),
                  absl::StatusCode::kInternal,
                  {"the client secret has expired", kAppId}},
        ErrorCase{"TenantNotFound",
                  testing::AadError(400, "invalid_request", 90002, "AADSTS90002: Tenant not found."),
                  absl::StatusCode::kNotFound,
                  {std::string("tenant ") + kTenant + " not found"}},
        ErrorCase{"OtherAadError",
                  testing::AadError(400, "invalid_scope", 70011, "AADSTS70011: The provided value for scope is "
                                                                 "not valid. " + kEcho),
                  absl::StatusCode::kInternal,
                  {"AADSTS70011", "The provided value for scope is not valid.", "[redacted]", kTenant}},
        ErrorCase{"HtmlBadRequest", testing::JsonResponse(400, "<html>Bad Request</html>"),
                  absl::StatusCode::kInternal, {"token request failed with HTTP 400", kTenant, kAppId}},
        ErrorCase{"ServerError", testing::JsonResponse(503, "<html>busy</html>"), absl::StatusCode::kUnavailable,
                  {"503", kTenant}},
        ErrorCase{"Transport", absl::UnavailableError("connection reset by peer"), absl::StatusCode::kUnavailable,
                  {"connection reset by peer", kTenant}},
        ErrorCase{"MalformedJson", testing::JsonResponse(200, R"({"access_token": "abc", )"),
                  absl::StatusCode::kInternal, {"token endpoint returned an unusable response", kTenant}},
        ErrorCase{"MissingAccessToken", testing::JsonResponse(200, R"({"token_type":"Bearer","expires_in":3599})"),
                  absl::StatusCode::kInternal, {"token endpoint returned an unusable response"}},
        ErrorCase{"BadExpiresIn",
                  testing::JsonResponse(200, R"({"access_token":"abc","expires_in":"soon"})"),
                  absl::StatusCode::kInternal, {"token endpoint returned an unusable response"}},
        ErrorCase{"NotAnObject", testing::JsonResponse(200, R"(["access_token"])"), absl::StatusCode::kInternal,
                  {"token endpoint returned an unusable response"}}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return info.param.name; });

}  // namespace
}  // namespace partner::auth
