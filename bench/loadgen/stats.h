// What a load run measures: per-call latency and status, and the server process's cost as the
// kernel reports it (/proc/<pid>).
#ifndef PARTNER_BENCH_LOADGEN_STATS_H_
#define PARTNER_BENCH_LOADGEN_STATS_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

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

// CPU seconds (user + system) this process has used so far, every thread included.
double OwnCpuSeconds();

// Samples a process while the run lasts: the CPU it used in between, and the highest thread count
// and RSS seen (VmHWM covers peaks between samples).
class ProcessSampler {
 public:
  explicit ProcessSampler(pid_t pid) : pid_(pid) {}
  ~ProcessSampler() { Stop(); }
  // NotFound when the process cannot be read, so a mistyped pid is not reported as an idle one.
  absl::Status Start();
  void Stop();
  // {"pid","cpu_seconds","peak_rss_mib","max_threads","threads_at_end"}; empty when pid is 0.
  nlohmann::json Summary() const;

 private:
  struct Snapshot {
    double cpu_seconds = 0;
    std::int64_t threads = 0;
    std::int64_t rss_kib = 0;
    std::int64_t hwm_kib = 0;
    bool readable = false;
  };
  Snapshot Read() const;

  const pid_t pid_;
  Snapshot start_;
  Snapshot end_;
  std::int64_t max_threads_ = 0;
  std::int64_t max_rss_kib_ = 0;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace partner::bench

#endif  // PARTNER_BENCH_LOADGEN_STATS_H_
