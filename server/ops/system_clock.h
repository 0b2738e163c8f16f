// The production OpClock: wall-clock time, and sleeps served by the process's one timer (handed
// in by the composition root), so a waiting operation (the PrincipalNotFound backoff) holds no
// thread of its own and the process runs no timer thread of the clock's own.
#ifndef PARTNER_SERVER_OPS_SYSTEM_CLOCK_H_
#define PARTNER_SERVER_OPS_SYSTEM_CLOCK_H_

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "server/ops/upstream_ports.h"

namespace partner::ops {

// Runs the callback once: with true after `delay`, or with false if the timer shuts down first.
using ScheduleAfter = absl::AnyInvocable<void(absl::Duration delay, absl::AnyInvocable<void(bool elapsed)> callback)>;

class SystemOpClock final : public OpClock {
 public:
  explicit SystemOpClock(ScheduleAfter schedule) : schedule_(std::move(schedule)) {}

  absl::Time Now() override { return absl::Now(); }
  // A sleep ends at the first of: the delay elapsing (true), ctx being cancelled (false), the
  // timer shutting down (false). The coroutine resumes on the thread that ended it.
  OpTask<bool> Sleep(const OpContext& ctx, absl::Duration delay) override;

 private:
  ScheduleAfter schedule_;
};

}  // namespace partner::ops

#endif  // PARTNER_SERVER_OPS_SYSTEM_CLOCK_H_
