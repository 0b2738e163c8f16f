// The innermost policy: one JSON line per attempt and the counters behind /metrics. Logging is by
// allow-list: operation, method, host, path without the query, status, latency, attempt, request
// and correlation ids. No other header, no body and no query string is ever written, so tokens,
// secrets and passwords cannot reach a log through this layer.
#ifndef PARTNER_SERVER_HTTP_LOGGING_POLICY_H_
#define PARTNER_SERVER_HTTP_LOGGING_POLICY_H_

#include <cstdint>
#include <functional>
#include <array>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/http/http_client.h"

namespace partner::http {

// Receives one complete JSON object per call, without a trailing newline. Called concurrently.
using LogSink = std::function<void(absl::string_view line)>;

// Writes each line to stderr, whole.
void StderrLogSink(absl::string_view line);

// Cumulative-bucket latency histogram in the Prometheus layout.
struct LatencyHistogram {
  static constexpr std::array<double, 12> kBucketsSeconds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                             0.5,   1,    2.5,   5,    10,  30};
  std::array<std::int64_t, kBucketsSeconds.size()> buckets{};  // observations <= each bound
  std::int64_t count = 0;
  double sum_seconds = 0;

  void Observe(absl::Duration latency);
};

// Upstream request counters. Thread-safe.
class HttpMetrics {
 public:
  struct Snapshot {
    // (operation, status class) -> attempts. Classes: "2xx".."5xx", or "error" for a transport
    // failure.
    std::map<std::pair<std::string, std::string>, std::int64_t> requests;
    std::int64_t retries = 0;    // attempts after the first of their call
    std::int64_t throttled = 0;  // 429 responses
    // Attempt latency by service (the operation's prefix: "pc", "arm", "graph", "token").
    std::map<std::string, LatencyHistogram> latency;
  };

  void Record(const std::string& operation, int attempt, const absl::StatusOr<HttpResponse>& result,
              absl::Duration latency);
  Snapshot snapshot() const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::pair<std::string, std::string>, std::int64_t> requests_ ABSL_GUARDED_BY(mu_);
  std::int64_t retries_ ABSL_GUARDED_BY(mu_) = 0;
  std::int64_t throttled_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, LatencyHistogram> latency_ ABSL_GUARDED_BY(mu_);
};

class LoggingPolicy final : public HttpClient {
 public:
  LoggingPolicy(LogSink sink, std::shared_ptr<HttpMetrics> metrics, std::shared_ptr<HttpClient> next);
  void Send(std::shared_ptr<HttpRequest> request, HttpDone done) override;

 private:
  struct Shared;

  // Shared with calls in flight, which may outlive the policy.
  std::shared_ptr<const Shared> shared_;
};

}  // namespace partner::http

#endif  // PARTNER_SERVER_HTTP_LOGGING_POLICY_H_
