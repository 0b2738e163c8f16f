// What a load run measures: per-call latency and status, and the server process's cost as the
// kernel reports it (/proc/<pid>).
#ifndef PARTNER_BENCH_LOADGEN_STATS_H_
#define PARTNER_BENCH_LOADGEN_STATS_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace partner::bench {

// Thread-safe: completions arrive on the client library's threads.
class LatencyRecorder {
 public:
  // `code` is a gRPC status code, or an HTTP status for the REST driver (0 and 2xx are success).
  void Record(int code, absl::Duration latency);
  std::int64_t completed() const;
  std::int64_t succeeded() const;
  // {"completed","ok","errors":{code:n},"latency_ms":{"p50","p90","p99","p999","max","mean"}}
  nlohmann::json Summary() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<std::uint32_t> micros_ ABSL_GUARDED_BY(mu_);
  std::map<int, std::int64_t> codes_ ABSL_GUARDED_BY(mu_);
};

// The measured stretch of a load run. A driver runs without a break through a warm-up, this window
// and a drain, and a call counts in the figures when it completes while the window is open: the
// start, when every slot begins at once, and the drain, when slots empty one by one, would
// otherwise count at less than the steady rate. The hooks take the CPU and counter snapshots at the
// window's edges, so every figure spans the same stretch.
class MeasuredWindow {
 public:
  // `opening` runs just before the window opens, `closed` just after it closes, on the thread that
  // calls Open() and Close().
  MeasuredWindow(std::function<void()> opening, std::function<void()> closed)
      : opening_(std::move(opening)), closed_(std::move(closed)) {}

  void Open();
  void Close();
  bool opened() const { return phase_.load() != Phase::kWarmUp; }
  bool closed() const { return phase_.load() == Phase::kClosed; }
  // Valid once opened.
  absl::Time opened_at() const { return opened_at_; }

  // Thread-safe: completions arrive on the client library's threads.
  void Record(int code, absl::Duration latency);
  std::int64_t completed() const { return measured_.completed(); }

  // The window's calls as LatencyRecorder::Summary() gives them, with "seconds" (the window's
  // length), "throughput_rps" (its calls per second) and "unmeasured": {"warm_up","drain"}, each
  // {"completed","ok","errors"}, so that no failed call goes unseen.
  nlohmann::json Summary() const;

 private:
  enum class Phase { kWarmUp, kOpen, kClosed };

  std::function<void()> opening_;
  std::function<void()> closed_;
  std::atomic<Phase> phase_{Phase::kWarmUp};
  // Written by the thread that opens and closes the window, before and after the phase changes.
  absl::Time opened_at_;
  absl::Time closed_at_;
  LatencyRecorder warm_up_;
  LatencyRecorder measured_;
  LatencyRecorder drain_;
};

// How long a run lasts. With `total_calls` > 0: until that many calls were made, the window open
// from the first call to the last completion. Otherwise `warm_up`, then a window of `duration`,
// after which no call starts; either way every started call is waited for.
struct RunLimits {
  absl::Duration warm_up = absl::ZeroDuration();
  absl::Duration duration = absl::Seconds(10);
  std::int64_t total_calls = 0;

  bool counted() const { return total_calls > 0; }
  // A run of total_calls, or one without a warm-up: the window covers the first calls too, such
  // as the threads and connections they start.
  bool OpensAtFirstCall() const { return counted() || warm_up <= absl::ZeroDuration(); }
  // Whether the `sequence`-th call of a closed loop may start.
  bool MayStart(std::uint64_t sequence, const MeasuredWindow& window) const {
    return counted() ? sequence < static_cast<std::uint64_t>(total_calls) : !window.closed();
  }
};

// For a run of a duration, on the thread that drives it: opens `window` once the warm-up since
// `start` has passed (unless it is open already), and closes it `limits.duration` after it opened.
void HoldWindow(const RunLimits& limits, absl::Time start, MeasuredWindow* window);

// One run's schedule around its calls, for every driver: opens `window` at the start when the run
// opens it at its first call, runs `launch(start)` (which starts the calls, or hands them to
// threads, and returns), holds the window for a run of a duration, runs `wait_for_calls`, and
// closes the window after the last completion for a run of total_calls.
void RunInWindow(const RunLimits& limits, MeasuredWindow* window, absl::FunctionRef<void(absl::Time start)> launch,
                 absl::FunctionRef<void()> wait_for_calls);

// An open loop's schedule, on the thread that drives it from `start`: runs `call(sequence, due)`
// `rate` times a second, each when due or as soon after as this thread gets there, opening
// `window` once the warm-up has passed, until the run's calls are made or its window's duration is
// over. Latency should count from `due`, so that a stalled caller cannot hide a server's delay.
void PaceAtRate(double rate, const RunLimits& limits, absl::Time start, MeasuredWindow* window,
                absl::FunctionRef<void(std::uint64_t sequence, absl::Time due)> call);

// CPU seconds (user + system) this process has used so far, every thread included.
double OwnCpuSeconds();

// Context switches (voluntary + involuntary) of this process so far, every thread included.
std::int64_t OwnContextSwitches();

// Samples a process while the run lasts: the CPU it used in between, and the highest thread count
// and RSS seen (VmHWM covers peaks between samples). Also how its threads were scheduled in between:
// their context switches, and the time they spent runnable, waiting for a CPU (schedstat). Those two
// are per thread in /proc, so a thread that ends before the run does is left out of them.
class ProcessSampler {
 public:
  explicit ProcessSampler(pid_t pid) : pid_(pid) {}
  ~ProcessSampler() { Stop(); }
  // NotFound when the process cannot be read, so a mistyped pid is not reported as an idle one.
  absl::Status Check() const;
  // As Check(), then samples until Stop().
  absl::Status Start();
  void Stop();
  // {"pid","cpu_seconds","peak_rss_mib","max_threads","threads_at_end",
  //  "context_switches":{"voluntary","involuntary"},"run_queue_wait_seconds"}; empty when pid is 0.
  nlohmann::json Summary() const;

 private:
  struct Scheduling {
    std::int64_t voluntary_switches = 0;
    std::int64_t involuntary_switches = 0;
    std::int64_t run_queue_wait_ns = 0;
  };
  struct Snapshot {
    double cpu_seconds = 0;
    std::int64_t threads = 0;
    std::int64_t rss_kib = 0;
    std::int64_t hwm_kib = 0;
    bool readable = false;
  };
  Snapshot Read() const;
  // By thread id.
  std::map<pid_t, Scheduling> ReadScheduling() const;

  const pid_t pid_;
  Snapshot start_;
  Snapshot end_;
  std::map<pid_t, Scheduling> scheduling_at_start_;
  Scheduling scheduled_;
  std::int64_t max_threads_ = 0;
  std::int64_t max_rss_kib_ = 0;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace partner::bench

#endif  // PARTNER_BENCH_LOADGEN_STATS_H_
