#include "server/http/timer.h"

#include <atomic>
#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace partner::http {
namespace {

TEST(ThreadTimerTest, RunsCallbacksInDeadlineOrderAfterTheirDelay) {
  ThreadTimer timer;
  absl::Mutex mu;
  std::vector<int> order;
  absl::Notification done;
  const absl::Time start = absl::Now();
  absl::Time fired_at;
  timer.After(absl::Milliseconds(80), [&](absl::Status status) {
    EXPECT_TRUE(status.ok());
    absl::MutexLock lock(&mu);
    order.push_back(2);
    fired_at = absl::Now();
    done.Notify();
  });
  timer.After(absl::Milliseconds(20), [&](absl::Status status) {
    EXPECT_TRUE(status.ok());
    absl::MutexLock lock(&mu);
    order.push_back(1);
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_GE(fired_at - start, absl::Milliseconds(80));
}

TEST(ThreadTimerTest, DestructionCancelsWaitsThatHaveNotFired) {
  std::atomic<int> cancelled{0};
  {
    ThreadTimer timer;
    for (int i = 0; i < 3; ++i) {
      timer.After(absl::Hours(1), [&](absl::Status status) {
        if (absl::IsCancelled(status)) cancelled.fetch_add(1);
      });
    }
  }
  EXPECT_EQ(cancelled.load(), 3);
}

TEST(ThreadTimerTest, MayBeDestroyedFromItsOwnCallback) {
  auto timer = std::make_shared<ThreadTimer>();
  absl::Notification done;
  timer->After(absl::Milliseconds(1), [&timer, &done](absl::Status) {
    timer.reset();
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(timer, nullptr);
}

}  // namespace
}  // namespace partner::http
