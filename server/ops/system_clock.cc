#include "server/ops/system_clock.h"

#include <coroutine>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace partner::ops {
namespace {

// Whichever of the timer and the cancel signal comes first ends the sleep; the other finds it
// ended and does nothing.
class Sleeper {
 public:
  void End(bool elapsed) {
    std::coroutine_handle<> waiting;
    {
      absl::MutexLock lock(&mu_);
      if (ended_) return;
      ended_ = true;
      elapsed_ = elapsed;
      waiting = std::exchange(handle_, nullptr);
    }
    if (waiting) waiting.resume();
  }

  // False when the sleep already ended, so the coroutine carries on without suspending.
  bool Suspend(std::coroutine_handle<> handle) {
    absl::MutexLock lock(&mu_);
    if (ended_) return false;
    handle_ = handle;
    return true;
  }

  bool elapsed() {
    absl::MutexLock lock(&mu_);
    return elapsed_;
  }

 private:
  absl::Mutex mu_;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool elapsed_ ABSL_GUARDED_BY(mu_) = false;
  std::coroutine_handle<> handle_ ABSL_GUARDED_BY(mu_);
};

struct SleepAwaiter {
  std::shared_ptr<Sleeper> sleeper;
  bool await_ready() const { return false; }
  bool await_suspend(std::coroutine_handle<> handle) { return sleeper->Suspend(handle); }
  bool await_resume() const { return sleeper->elapsed(); }
};

}  // namespace

OpTask<bool> SystemOpClock::Sleep(const OpContext& ctx, absl::Duration delay) {
  if (ctx.cancel->cancelled()) co_return false;
  auto sleeper = std::make_shared<Sleeper>();
  ctx.cancel->OnCancel([sleeper] { sleeper->End(/*elapsed=*/false); });
  schedule_(delay, [sleeper](bool elapsed) { sleeper->End(elapsed); });
  // A named awaiter: GCC 12 mishandles the lifetime of brace-initialized temporaries that are
  // co_awaited directly.
  SleepAwaiter awaiter{sleeper};
  const bool elapsed = co_await awaiter;
  co_return elapsed;
}

}  // namespace partner::ops
