#include "server/http/timer.h"

#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace partner::http {

struct ThreadTimer::State {
  absl::Mutex mu;
  absl::CondVar wake;
  // multimap: callbacks due at the same instant run in the order they were scheduled.
  std::multimap<absl::Time, TimerCallback> due ABSL_GUARDED_BY(mu);
  bool stopping ABSL_GUARDED_BY(mu) = false;

  void Run() {
    absl::MutexLock lock(&mu);
    while (!stopping) {
      if (due.empty()) {
        wake.Wait(&mu);
        continue;
      }
      const absl::Time next = due.begin()->first;
      if (absl::Now() < next) {
        wake.WaitWithDeadline(&mu, next);
        continue;
      }
      TimerCallback callback = std::move(due.begin()->second);
      due.erase(due.begin());
      mu.Unlock();
      callback(absl::OkStatus());
      // Destroyed before relocking: it may hold the last reference to the timer, whose destructor
      // takes `mu` (found by Abseil's deadlock detection under ASan).
      callback = nullptr;
      mu.Lock();
    }
  }
};

ThreadTimer::ThreadTimer() : state_(std::make_shared<State>()) {
  thread_ = std::thread([state = state_] { state->Run(); });
}

ThreadTimer::~ThreadTimer() {
  std::multimap<absl::Time, TimerCallback> pending;
  {
    absl::MutexLock lock(&state_->mu);
    state_->stopping = true;
    pending.swap(state_->due);
    state_->wake.SignalAll();
  }
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();
  } else {
    thread_.join();
  }
  for (auto& [when, callback] : pending) callback(absl::CancelledError("timer shut down"));
}

absl::Time ThreadTimer::Now() { return absl::Now(); }

void ThreadTimer::After(absl::Duration delay, TimerCallback callback) {
  const absl::Time when = absl::Now() + delay;
  {
    absl::MutexLock lock(&state_->mu);
    if (!state_->stopping) {
      const bool earliest = state_->due.empty() || when < state_->due.begin()->first;
      state_->due.emplace(when, std::move(callback));
      if (earliest) state_->wake.Signal();
      return;
    }
  }
  callback(absl::CancelledError("timer shut down"));
}

}  // namespace partner::http
