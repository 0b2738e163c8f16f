// Waiting without holding a thread: the retry policy's backoff runs on a Timer. Tests inject a
// fake whose clock advances only when told, so no test sleeps through a backoff.
#ifndef PARTNER_SERVER_HTTP_TIMER_H_
#define PARTNER_SERVER_HTTP_TIMER_H_

#include <map>
#include <memory>
#include <thread>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace partner::http {

using TimerCallback = absl::AnyInvocable<void(absl::Status)>;

class Timer {
 public:
  virtual ~Timer() = default;
  virtual absl::Time Now() = 0;
  // Runs `callback` exactly once: with OK once `delay` has passed, or with CANCELLED if the timer
  // shuts down first (inline when it already has).
  virtual void After(absl::Duration delay, TimerCallback callback) = 0;
};

// One thread serving every wait of the process from a time-ordered queue.
class ThreadTimer final : public Timer {
 public:
  ThreadTimer();
  // Runs the callbacks still waiting with CANCELLED. Safe to call from a callback.
  ~ThreadTimer() override;
  ThreadTimer(const ThreadTimer&) = delete;
  ThreadTimer& operator=(const ThreadTimer&) = delete;

  absl::Time Now() override;
  void After(absl::Duration delay, TimerCallback callback) override;

 private:
  struct State;

  // Shared with the thread, which may outlive this object when destroyed from a callback.
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace partner::http

#endif  // PARTNER_SERVER_HTTP_TIMER_H_
