#include "server/ops/system_clock.h"

#include <optional>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace partner::ops {
namespace {

// Stands in for the process timer: records each wait so the test decides when it ends.
struct FakeTimer {
  struct Wait {
    absl::Duration delay;
    absl::AnyInvocable<void(bool)> callback;
  };
  std::vector<Wait> waits;

  ScheduleAfter Scheduler() {
    return [this](absl::Duration delay, absl::AnyInvocable<void(bool)> callback) {
      waits.push_back({delay, std::move(callback)});
    };
  }
};

TEST(SystemOpClockTest, SleepEndsWhenTheTimerFiresAndNotBefore) {
  FakeTimer timer;
  SystemOpClock clock(timer.Scheduler());
  OpContext ctx;
  std::optional<bool> result;
  StartOpTask(clock.Sleep(ctx, absl::Milliseconds(250)), [&](bool elapsed) { result = elapsed; });
  ASSERT_EQ(timer.waits.size(), 1u);
  EXPECT_EQ(timer.waits[0].delay, absl::Milliseconds(250));
  EXPECT_FALSE(result.has_value());
  timer.waits[0].callback(true);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(*result);
}

TEST(SystemOpClockTest, CancellationEndsASleepEarlyAndTheLaterTimerIsIgnored) {
  FakeTimer timer;
  SystemOpClock clock(timer.Scheduler());
  OpContext ctx;
  int completions = 0;
  std::optional<bool> result;
  StartOpTask(clock.Sleep(ctx, absl::Hours(1)), [&](bool elapsed) {
    result = elapsed;
    ++completions;
  });
  ctx.cancel->Cancel();
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(*result);
  ASSERT_EQ(timer.waits.size(), 1u);
  timer.waits[0].callback(true);
  EXPECT_EQ(completions, 1);
  EXPECT_FALSE(*result);
}

TEST(SystemOpClockTest, AlreadyCancelledDoesNotSleep) {
  FakeTimer timer;
  SystemOpClock clock(timer.Scheduler());
  OpContext ctx;
  ctx.cancel->Cancel();
  std::optional<bool> result;
  StartOpTask(clock.Sleep(ctx, absl::Hours(1)), [&](bool elapsed) { result = elapsed; });
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(*result);
  EXPECT_TRUE(timer.waits.empty());
}

TEST(SystemOpClockTest, ATimerShuttingDownEndsTheSleepAsNotElapsed) {
  FakeTimer timer;
  SystemOpClock clock(timer.Scheduler());
  OpContext ctx;
  std::optional<bool> result;
  StartOpTask(clock.Sleep(ctx, absl::Hours(1)), [&](bool elapsed) { result = elapsed; });
  ASSERT_EQ(timer.waits.size(), 1u);
  timer.waits[0].callback(false);
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(*result);
}

}  // namespace
}  // namespace partner::ops
