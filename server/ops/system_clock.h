// The production OpClock: wall-clock time, and sleeps served by one timer thread, so a waiting
// operation (the PrincipalNotFound backoff) holds no thread of its own.
#ifndef PARTNER_SERVER_OPS_SYSTEM_CLOCK_H_
#define PARTNER_SERVER_OPS_SYSTEM_CLOCK_H_

#include <coroutine>
#include <map>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/ops/upstream_ports.h"

namespace partner::ops {

class SystemOpClock final : public OpClock {
 public:
  SystemOpClock();
  // Wakes every sleeper (as cancelled) and joins the timer thread.
  ~SystemOpClock() override;

  absl::Time Now() override { return absl::Now(); }
  OpTask<bool> Sleep(const OpContext& ctx, absl::Duration delay) override;

 private:
  struct Sleeper {
    std::coroutine_handle<> handle;
    bool woken = false;
    bool cancelled = false;
  };
  struct Awaiter;

  void Run();
  void Wake(const std::shared_ptr<Sleeper>& sleeper, bool cancelled);

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::multimap<absl::Time, std::shared_ptr<Sleeper>> timers_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace partner::ops

#endif  // PARTNER_SERVER_OPS_SYSTEM_CLOCK_H_
