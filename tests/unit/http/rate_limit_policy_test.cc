#include "server/http/rate_limit_policy.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/http/fakes.h"

namespace partner::http {
namespace {

using ::partner::http::testing::FakeTimer;
using ::partner::http::testing::ScriptedClient;
using ::partner::http::testing::Shared;
using ::partner::testing::IsOk;
using ::partner::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct Harness {
  explicit Harness(RateLimits limits, bool auto_fire = false)
      : next(std::make_shared<ScriptedClient>()),
        timer(std::make_shared<FakeTimer>(auto_fire)),
        policy(std::move(limits), timer, next) {}

  // Sends and reports whether `done` ran (synchronously or later through the timer).
  std::shared_ptr<std::optional<absl::StatusOr<HttpResponse>>> Send(HttpRequest request) {
    auto result = std::make_shared<std::optional<absl::StatusOr<HttpResponse>>>();
    policy.Send(Shared(std::move(request)), [result](absl::StatusOr<HttpResponse> r) { *result = std::move(r); });
    return result;
  }

  std::shared_ptr<ScriptedClient> next;
  std::shared_ptr<FakeTimer> timer;
  RateLimitPolicy policy;
};

HttpRequest Keyed(std::vector<std::string> keys, absl::Time deadline = absl::InfiniteFuture()) {
  HttpRequest request;
  request.url = "https://management.azure.com/subscriptions";
  request.operation = "arm.list";
  request.rate_limit_keys = std::move(keys);
  request.deadline = deadline;
  return request;
}

TEST(RateLimitPolicyTest, ABurstWithinTheBucketGoesStraightThrough) {
  Harness harness({{"arm-read", {10, 3}}});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(harness.Send(Keyed({"arm-read/s1"}))->has_value());
  EXPECT_EQ(harness.next->requests.size(), 3u);
  EXPECT_THAT(harness.timer->waits, IsEmpty());
}

TEST(RateLimitPolicyTest, BeyondTheBurstRequestsQueueAtTheRefillRate) {
  Harness harness({{"arm-read", {10, 2}}});
  harness.Send(Keyed({"arm-read/s1"}));
  harness.Send(Keyed({"arm-read/s1"}));
  auto third = harness.Send(Keyed({"arm-read/s1"}));
  auto fourth = harness.Send(Keyed({"arm-read/s1"}));
  EXPECT_FALSE(third->has_value());
  EXPECT_FALSE(fourth->has_value());
  EXPECT_THAT(harness.timer->waits, ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200)));
  harness.timer->Fire();
  ASSERT_TRUE(third->has_value());
  EXPECT_THAT(third->value().status(), IsOk());
  EXPECT_EQ(harness.next->requests.size(), 4u);
}

TEST(RateLimitPolicyTest, BucketsAreSeparatePerKeyAndUnknownFamiliesAreUnlimited) {
  Harness harness({{"arm-read", {1, 1}}});
  EXPECT_TRUE(harness.Send(Keyed({"arm-read/s1"}))->has_value());
  EXPECT_TRUE(harness.Send(Keyed({"arm-read/s2"}))->has_value()) << "another subscription's bucket";
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(harness.Send(Keyed({"graph/t1"}))->has_value());
  EXPECT_TRUE(harness.Send(Keyed({}))->has_value());
}

TEST(RateLimitPolicyTest, ARequestWaitsForItsSlowestBucket) {
  Harness harness({{"pc", {100, 1}}, {"pc-customer", {2, 1}}});
  harness.Send(Keyed({"pc/partner", "pc-customer/c1"}));
  auto second = harness.Send(Keyed({"pc/partner", "pc-customer/c1"}));
  EXPECT_FALSE(second->has_value());
  EXPECT_THAT(harness.timer->waits, ElementsAre(absl::Milliseconds(500)));
}

TEST(RateLimitPolicyTest, AWaitPastTheDeadlineFailsAtOnceAndGivesItsSlotBack) {
  Harness harness({{"arm-write", {1, 1}}});
  harness.Send(Keyed({"arm-write/s1"}));
  auto late = harness.Send(Keyed({"arm-write/s1"}, harness.timer->now + absl::Milliseconds(500)));
  ASSERT_TRUE(late->has_value());
  EXPECT_THAT(late->value().status(), StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("arm-write")));
  EXPECT_EQ(harness.next->requests.size(), 1u);
  harness.timer->now += absl::Seconds(1);
  EXPECT_TRUE(harness.Send(Keyed({"arm-write/s1"}))->has_value()) << "the refused request did not keep a slot";
}

TEST(RateLimitPolicyTest, CancellingAQueuedRequestCompletesItWithoutSending) {
  Harness harness({{"graph", {1, 1}}});
  harness.Send(Keyed({"graph/t1"}));
  HttpRequest queued = Keyed({"graph/t1"});
  std::shared_ptr<CancelToken> cancel = queued.cancel;
  auto result = harness.Send(std::move(queued));
  EXPECT_FALSE(result->has_value());
  cancel->Cancel();
  ASSERT_TRUE(result->has_value());
  EXPECT_THAT(result->value().status(), StatusIs(absl::StatusCode::kCancelled));
  harness.timer->Fire();
  EXPECT_EQ(harness.next->requests.size(), 1u) << "a cancelled request is never sent";
}

TEST(RateLimitPolicyTest, BucketsOfKeysNoLongerCalledAreDropped) {
  Harness harness({{"pc-customer", {10, 1}}});
  // One call each for 20 000 customer ids, 1 ms apart: a bucket refills 100 ms after its call.
  for (int i = 0; i < 20'000; ++i) {
    ASSERT_TRUE(harness.Send(Keyed({absl::StrCat("pc-customer/c", i)}))->has_value());
    harness.timer->now += absl::Milliseconds(1);
  }
  EXPECT_LE(harness.policy.BucketsForTest(), 1024u);
}

TEST(RateLimitPolicyTest, DroppingFullBucketsKeepsAThrottledKeysQueue) {
  Harness harness({{"pc-customer", {1, 1}}});
  harness.Send(Keyed({"pc-customer/busy"}));
  harness.Send(Keyed({"pc-customer/busy"}));
  harness.Send(Keyed({"pc-customer/busy"}));
  harness.timer->now += absl::Milliseconds(500);
  for (int i = 0; i < 5'000; ++i) harness.Send(Keyed({absl::StrCat("pc-customer/once", i)}));
  harness.timer->now += absl::Seconds(1);
  for (int i = 0; i < 5'000; ++i) harness.Send(Keyed({absl::StrCat("pc-customer/later", i)}));
  ASSERT_LT(harness.policy.BucketsForTest(), 10'000u) << "the first 5 000 were dropped";

  auto fourth = harness.Send(Keyed({"pc-customer/busy"}));
  EXPECT_FALSE(fourth->has_value());
  EXPECT_EQ(harness.timer->waits.back(), absl::Milliseconds(1500)) << "two queued, 1.5 s refilled";
}

}  // namespace
}  // namespace partner::http
