#include "bench/loadgen/wakeup_probe.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace partner::bench {
namespace {

// The wake-ups sent and not yet seen by the sleeper, which may read several at once.
struct Sent {
  absl::Mutex mu;
  std::deque<absl::Time> at ABSL_GUARDED_BY(mu);
  bool finished ABSL_GUARDED_BY(mu) = false;
};

void Wake(int fd) {
  const std::uint64_t one = 1;
  // An eventfd write fails only when its counter would overflow, far beyond any run's wake-ups.
  (void)!::write(fd, &one, sizeof one);
}

}  // namespace

absl::Status RunWakeupProbe(double rate, const RunLimits& limits, MeasuredWindow* window) {
  const int wake_fd = ::eventfd(0, EFD_CLOEXEC);
  if (wake_fd < 0) return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  Sent sent;
  std::thread sleeper([&] {
    for (;;) {
      std::uint64_t count = 0;
      if (::read(wake_fd, &count, sizeof count) != sizeof count) continue;
      const absl::Time running = absl::Now();
      absl::MutexLock lock(&sent.mu);
      for (; count > 0 && !sent.at.empty(); --count) {
        window->Record(0, running - sent.at.front());
        sent.at.pop_front();
      }
      if (sent.finished && sent.at.empty()) return;
    }
  });
  const auto wake_at_rate = [&](absl::Time start) {
    PaceAtRate(rate, limits, start, window, [&](std::uint64_t, absl::Time) {
      {
        absl::MutexLock lock(&sent.mu);
        sent.at.push_back(absl::Now());
      }
      Wake(wake_fd);
    });
  };
  const auto wait_for_sleeper = [&] {
    {
      absl::MutexLock lock(&sent.mu);
      sent.finished = true;
    }
    // Once more, in case the sleeper's last read took every wake-up before `finished` was set.
    Wake(wake_fd);
    sleeper.join();
  };
  RunInWindow(limits, window, wake_at_rate, wait_for_sleeper);
  ::close(wake_fd);
  return absl::OkStatus();
}

}  // namespace partner::bench
