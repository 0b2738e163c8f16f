// RPC metrics of the gateway in Prometheus text format: calls and latency histograms by method
// and code, and RPCs in flight. Other components add their own text through collectors.
#ifndef PARTNER_SERVER_API_METRICS_H_
#define PARTNER_SERVER_API_METRICS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace partner::api {

class Metrics {
 public:
  static constexpr std::array<double, 12> kLatencyBucketsSeconds = {
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

  void RpcStarted(absl::string_view method);
  // `code` is the gRPC status code name, e.g. "OK", "INVALID_ARGUMENT".
  void RpcFinished(absl::string_view method, absl::string_view code, absl::Duration latency);

  // Adds a source of further exposition text (already in Prometheus format).
  void AddCollector(std::function<std::string()> collector);

  std::string RenderPrometheus() const;

 private:
  struct Histogram {
    std::array<uint64_t, kLatencyBucketsSeconds.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };

  mutable absl::Mutex mu_;
  std::map<std::string, int64_t> in_flight_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, uint64_t> calls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Histogram> latency_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<std::string()>> collectors_ ABSL_GUARDED_BY(mu_);
};

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_METRICS_H_
