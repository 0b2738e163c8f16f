#include "server/ops/system_clock.h"

#include <vector>

namespace partner::ops {

struct SystemOpClock::Awaiter {
  SystemOpClock* clock;
  std::shared_ptr<Sleeper> sleeper;
  absl::Time wake_at;
  bool await_ready() const { return false; }
  bool await_suspend(std::coroutine_handle<> handle) {
    absl::MutexLock lock(&clock->mu_);
    if (clock->stopping_ || sleeper->cancelled) return false;
    sleeper->handle = handle;
    clock->timers_.emplace(wake_at, sleeper);
    return true;
  }
  bool await_resume() const {
    absl::MutexLock lock(&clock->mu_);
    return !sleeper->cancelled && !clock->stopping_;
  }
};

SystemOpClock::SystemOpClock() : thread_([this] { Run(); }) {}

SystemOpClock::~SystemOpClock() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

OpTask<bool> SystemOpClock::Sleep(const OpContext& ctx, absl::Duration delay) {
  if (ctx.cancel->cancelled()) co_return false;
  auto sleeper = std::make_shared<Sleeper>();
  // Registered before suspending: a cancel that comes first finds no handle and only marks it.
  ctx.cancel->OnCancel([this, sleeper] { Wake(sleeper, /*cancelled=*/true); });
  // A named awaiter: GCC 12 mishandles the lifetime of brace-initialized temporaries that are
  // co_awaited directly.
  Awaiter awaiter{this, sleeper, absl::Now() + delay};
  const bool full = co_await awaiter;
  co_return full;
}

void SystemOpClock::Wake(const std::shared_ptr<Sleeper>& sleeper, bool cancelled) {
  std::coroutine_handle<> handle;
  {
    absl::MutexLock lock(&mu_);
    if (sleeper->woken || !sleeper->handle) {
      sleeper->cancelled = sleeper->cancelled || cancelled;
      return;
    }
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->second == sleeper) {
        timers_.erase(it);
        break;
      }
    }
    sleeper->woken = true;
    sleeper->cancelled = cancelled;
    handle = sleeper->handle;
  }
  handle.resume();
}

void SystemOpClock::Run() {
  while (true) {
    std::vector<std::shared_ptr<Sleeper>> due;
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || (!timers_.empty() && timers_.begin()->first <= absl::Now());
      };
      const absl::Time next = timers_.empty() ? absl::Now() + absl::Milliseconds(100) : timers_.begin()->first;
      mu_.AwaitWithDeadline(absl::Condition(&ready), std::min(next, absl::Now() + absl::Milliseconds(100)));
      stopping = stopping_;
      const absl::Time now = absl::Now();
      while (!timers_.empty() && (stopping || timers_.begin()->first <= now)) {
        std::shared_ptr<Sleeper> s = timers_.begin()->second;
        timers_.erase(timers_.begin());
        s->woken = true;
        s->cancelled = stopping;
        due.push_back(std::move(s));
      }
    }
    for (const std::shared_ptr<Sleeper>& s : due) s->handle.resume();
    if (stopping) return;
  }
}

}  // namespace partner::ops
