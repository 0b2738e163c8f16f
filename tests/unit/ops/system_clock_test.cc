#include "server/ops/system_clock.h"

#include <atomic>
#include <optional>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace partner::ops {
namespace {

TEST(SystemOpClockTest, SleepResumesAfterTheDelayOnTheTimerThread) {
  SystemOpClock clock;
  OpContext ctx;
  absl::Notification done;
  std::atomic<bool> slept{false};
  const absl::Time start = absl::Now();
  StartOpTask(clock.Sleep(ctx, absl::Milliseconds(30)), [&](bool full) {
    slept = full;
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_TRUE(slept);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(30));
}

TEST(SystemOpClockTest, CancellationEndsASleepEarly) {
  SystemOpClock clock;
  OpContext ctx;
  absl::Notification done;
  std::atomic<bool> slept{true};
  StartOpTask(clock.Sleep(ctx, absl::Hours(1)), [&](bool full) {
    slept = full;
    done.Notify();
  });
  ctx.cancel->Cancel();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_FALSE(slept);
}

TEST(SystemOpClockTest, AlreadyCancelledDoesNotSleep) {
  SystemOpClock clock;
  OpContext ctx;
  ctx.cancel->Cancel();
  std::optional<bool> result;
  StartOpTask(clock.Sleep(ctx, absl::Hours(1)), [&](bool full) { result = full; });
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(*result);
}

TEST(SystemOpClockTest, DestructionWakesSleepersAsCancelled) {
  absl::Notification done;
  std::atomic<bool> slept{true};
  OpContext ctx;
  {
    SystemOpClock clock;
    StartOpTask(clock.Sleep(ctx, absl::Hours(1)), [&](bool full) {
      slept = full;
      done.Notify();
    });
  }
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_FALSE(slept);
}

}  // namespace
}  // namespace partner::ops
