#include "server/api/metrics.h"

#include "absl/strings/str_cat.h"

namespace partner::api {

void Metrics::RpcStarted(absl::string_view method) {
  absl::MutexLock lock(&mu_);
  ++in_flight_[std::string(method)];
}

void Metrics::RpcFinished(absl::string_view method, absl::string_view code, absl::Duration latency) {
  const double seconds = absl::ToDoubleSeconds(latency);
  absl::MutexLock lock(&mu_);
  --in_flight_[std::string(method)];
  ++calls_[{std::string(method), std::string(code)}];
  Histogram& h = latency_[std::string(method)];
  for (size_t i = 0; i < kLatencyBucketsSeconds.size(); ++i) {
    if (seconds <= kLatencyBucketsSeconds[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::AddCollector(std::function<std::string()> collector) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::RenderPrometheus() const {
  std::string out;
  std::vector<std::function<std::string()>> collectors;
  {
    absl::MutexLock lock(&mu_);
    absl::StrAppend(&out, "# HELP partner_gateway_rpcs_in_flight RPCs being served.\n",
                    "# TYPE partner_gateway_rpcs_in_flight gauge\n");
    for (const auto& [method, n] : in_flight_) {
      absl::StrAppend(&out, "partner_gateway_rpcs_in_flight{method=\"", method, "\"} ", n, "\n");
    }
    absl::StrAppend(&out, "# HELP partner_gateway_rpcs_total RPCs finished, by method and code.\n",
                    "# TYPE partner_gateway_rpcs_total counter\n");
    for (const auto& [key, n] : calls_) {
      absl::StrAppend(&out, "partner_gateway_rpcs_total{method=\"", key.first, "\",code=\"",
                      key.second, "\"} ", n, "\n");
    }
    absl::StrAppend(&out, "# HELP partner_gateway_rpc_latency_seconds RPC latency by method.\n",
                    "# TYPE partner_gateway_rpc_latency_seconds histogram\n");
    for (const auto& [method, h] : latency_) {
      for (size_t i = 0; i < kLatencyBucketsSeconds.size(); ++i) {
        absl::StrAppend(&out, "partner_gateway_rpc_latency_seconds_bucket{method=\"", method,
                        "\",le=\"", kLatencyBucketsSeconds[i], "\"} ", h.buckets[i], "\n");
      }
      absl::StrAppend(&out, "partner_gateway_rpc_latency_seconds_bucket{method=\"", method,
                      "\",le=\"+Inf\"} ", h.count, "\n");
      absl::StrAppend(&out, "partner_gateway_rpc_latency_seconds_sum{method=\"", method, "\"} ",
                      h.sum, "\n");
      absl::StrAppend(&out, "partner_gateway_rpc_latency_seconds_count{method=\"", method, "\"} ",
                      h.count, "\n");
    }
    collectors = collectors_;
  }
  for (const auto& collector : collectors) out += collector();
  return out;
}

}  // namespace partner::api
