#include "server/http/retry_policy.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/nothing_sent.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/http/fakes.h"

namespace partner::http {
namespace {

using ::partner::http::testing::FakeTimer;
using ::partner::http::testing::Response;
using ::partner::http::testing::ScriptedClient;
using ::partner::http::testing::Shared;
using ::partner::testing::IsOk;
using ::partner::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct Harness {
  explicit Harness(std::deque<absl::StatusOr<HttpResponse>> script, RetryOptions options = Pinned(),
                   bool auto_fire = true)
      : next(std::make_shared<ScriptedClient>(std::move(script))),
        timer(std::make_shared<FakeTimer>(auto_fire)),
        policy(std::move(options), timer, next) {}

  // Backoff pinned to its cap, so waits are predictable.
  static RetryOptions Pinned() {
    RetryOptions options;
    options.max_attempts = 4;
    options.initial_backoff = absl::Milliseconds(100);
    options.max_backoff = absl::Seconds(1);
    options.jitter = [] { return 1.0; };
    return options;
  }

  std::optional<absl::StatusOr<HttpResponse>> Send(HttpRequest request) {
    std::optional<absl::StatusOr<HttpResponse>> result;
    policy.Send(Shared(std::move(request)), [&result](absl::StatusOr<HttpResponse> r) { result = std::move(r); });
    return result;
  }

  std::shared_ptr<ScriptedClient> next;
  std::shared_ptr<FakeTimer> timer;
  RetryPolicy policy;
};

HttpRequest Get() {
  HttpRequest request;
  request.url = "https://api.partnercenter.microsoft.com/v1/customers";
  return request;
}

HttpRequest Post() {
  HttpRequest request = Get();
  request.method = "POST";
  request.idempotent = false;
  return request;
}

TEST(RetryPolicyTest, RetriesTransientStatusesUntilSuccess) {
  for (int status : {408, 429, 500, 502, 503, 504}) {
    Harness harness({Response(status), Response(status), Response(200)});
    auto result = harness.Send(Get());
    ASSERT_TRUE(result.has_value());
    ASSERT_THAT(result->status(), IsOk());
    EXPECT_EQ((*result)->status, 200) << status;
    ASSERT_EQ(harness.next->requests.size(), 3U) << status;
    EXPECT_EQ(harness.next->requests[0].attempt, 1);
    EXPECT_EQ(harness.next->requests[2].attempt, 3);
  }
}

TEST(RetryPolicyTest, PermanentStatusIsReturnedAtOnce) {
  for (int status : {400, 401, 403, 404, 409, 501}) {
    Harness harness({Response(status)});
    auto result = harness.Send(Get());
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ((*result)->status, status);
    EXPECT_EQ(harness.next->requests.size(), 1U);
    EXPECT_THAT(harness.timer->waits, IsEmpty());
  }
}

TEST(RetryPolicyTest, ReturnsTheLastResponseWhenAttemptsRunOut) {
  Harness harness({Response(503), Response(503), Response(503), Response(503), Response(200)});
  auto result = harness.Send(Get());
  EXPECT_EQ((*result)->status, 503);
  EXPECT_EQ(harness.next->requests.size(), 4U);
  // Exponential, with the jitter pinned at its top: 100, 200, 400 ms.
  EXPECT_THAT(harness.timer->waits,
              ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200), absl::Milliseconds(400)));
}

TEST(RetryPolicyTest, BackoffIsCappedAndJittered) {
  RetryOptions options = Harness::Pinned();
  options.max_attempts = 6;
  options.max_backoff = absl::Milliseconds(300);
  options.jitter = [] { return 0.5; };
  Harness harness({Response(500), Response(500), Response(500), Response(500), Response(200)}, options);
  harness.Send(Get());
  EXPECT_THAT(harness.timer->waits, ElementsAre(absl::Milliseconds(50), absl::Milliseconds(100),
                                                absl::Milliseconds(150), absl::Milliseconds(150)));
}

TEST(RetryPolicyTest, HonoursEveryRetryAfterForm) {
  struct Case {
    Header header;
    absl::Duration wait;
  };
  const Case cases[] = {
      {{"retry-after", "3"}, absl::Seconds(3)},
      {{"retry-after", "2.5"}, absl::Milliseconds(2500)},
      // FakeTimer's clock is 2023-11-14T22:13:20Z; the date is 7 s later.
      {{"retry-after", "Tue, 14 Nov 2023 22:13:27 GMT"}, absl::Seconds(7)},
      {{"retry-after-ms", "1500"}, absl::Milliseconds(1500)},
      {{"x-ms-retry-after-ms", "250"}, absl::Milliseconds(250)},
  };
  for (const Case& c : cases) {
    Harness harness({Response(429, {c.header}), Response(200)});
    auto result = harness.Send(Get());
    EXPECT_EQ((*result)->status, 200) << c.header.first << ": " << c.header.second;
    EXPECT_THAT(harness.timer->waits, ElementsAre(c.wait)) << c.header.first << ": " << c.header.second;
  }
}

TEST(RetryPolicyTest, GarbageRetryAfterFallsBackToBackoff) {
  Harness harness({Response(503, {{"retry-after", "soon, maybe"}}), Response(200)});
  auto result = harness.Send(Get());
  EXPECT_EQ((*result)->status, 200);
  EXPECT_THAT(harness.timer->waits, ElementsAre(absl::Milliseconds(100)));
}

TEST(RetryPolicyTest, StopsAtOnceWhenTheWaitWouldPassTheDeadline) {
  Harness harness({Response(429, {{"retry-after", "10"}}), Response(200)});
  HttpRequest request = Get();
  request.deadline = harness.timer->now + absl::Seconds(5);
  auto result = harness.Send(std::move(request));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ((*result)->status, 429);
  EXPECT_EQ((*result)->FindHeader("retry-after"), "10");
  EXPECT_EQ(harness.next->requests.size(), 1U);
  EXPECT_THAT(harness.timer->waits, IsEmpty());
}

TEST(RetryPolicyTest, ServerDelayBeyondTheLimitIsNotWaitedFor) {
  Harness harness({Response(503, {{"retry-after", "3600"}}), Response(200)});
  auto result = harness.Send(Get());
  EXPECT_EQ((*result)->status, 503);
  EXPECT_THAT(harness.timer->waits, IsEmpty());
}

TEST(RetryPolicyTest, PostIsNotRetriedOnceItReachedTheServer) {
  Harness harness({Response(503), Response(201)});
  auto result = harness.Send(Post());
  EXPECT_EQ((*result)->status, 503);
  EXPECT_EQ(harness.next->requests.size(), 1U);

  Harness reset({absl::UnavailableError("connection reset by peer"), Response(201)});
  EXPECT_THAT(reset.Send(Post())->status(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(reset.next->requests.size(), 1U);
}

TEST(RetryPolicyTest, PostIsRetriedWhenNothingWasSent) {
  Harness harness({MarkNothingSent(absl::UnavailableError("connection refused")), Response(201)});
  auto result = harness.Send(Post());
  ASSERT_THAT(result->status(), IsOk());
  EXPECT_EQ((*result)->status, 201);
  EXPECT_EQ(harness.next->requests.size(), 2U);
}

TEST(RetryPolicyTest, TransportFailuresAreRetriedThenReportedWithTheReason) {
  Harness harness({absl::UnavailableError("reset"), absl::UnavailableError("reset"),
                   MarkNothingSent(absl::UnavailableError("refused")), absl::UnavailableError("reset")});
  auto result = harness.Send(Get());
  EXPECT_THAT(result->status(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("gave up after 4 attempts")));
  EXPECT_EQ(harness.next->requests.size(), 4U);
}

TEST(RetryPolicyTest, DeadlineAndCancellationFromBelowAreFinal) {
  for (absl::Status status : {absl::DeadlineExceededError("late"), absl::CancelledError("stop"),
                              absl::ResourceExhaustedError("too large")}) {
    Harness harness({status, Response(200)});
    EXPECT_THAT(harness.Send(Get())->status(), StatusIs(status.code()));
    EXPECT_EQ(harness.next->requests.size(), 1U);
  }
}

TEST(RetryPolicyTest, CancelDuringTheWaitCompletesWithCancelled) {
  Harness harness({Response(503), Response(200)}, Harness::Pinned(), /*auto_fire=*/false);
  HttpRequest request = Get();
  std::shared_ptr<CancelToken> cancel = request.cancel;
  int calls = 0;
  absl::StatusOr<HttpResponse> result;
  harness.policy.Send(Shared(std::move(request)), [&](absl::StatusOr<HttpResponse> r) {
    ++calls;
    result = std::move(r);
  });
  EXPECT_EQ(calls, 0);
  ASSERT_EQ(harness.timer->waits.size(), 1U);
  cancel->Cancel();
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(result.status(), StatusIs(absl::StatusCode::kCancelled));
  harness.timer->Fire();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(harness.next->requests.size(), 1U);
}

TEST(RetryPolicyTest, AlreadyCancelledCallSendsNothing) {
  Harness harness({Response(200)});
  HttpRequest request = Get();
  request.cancel->Cancel();
  EXPECT_THAT(harness.Send(std::move(request))->status(), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(harness.next->requests, IsEmpty());
}

TEST(RetryPolicyTest, TimerShutdownDuringTheWaitCompletesWithCancelled) {
  Harness harness({Response(503), Response(200)}, Harness::Pinned(), /*auto_fire=*/false);
  std::optional<absl::StatusOr<HttpResponse>> result;
  harness.policy.Send(Shared(Get()), [&](absl::StatusOr<HttpResponse> r) { result = std::move(r); });
  harness.timer->Fire(absl::CancelledError("timer shut down"));
  ASSERT_TRUE(result.has_value());
  EXPECT_THAT(result->status(), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(harness.next->requests.size(), 1U);
}

}  // namespace
}  // namespace partner::http
