#include "server/http/logging_policy.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/common/json_string.h"
#include "server/http/url_parts.h"

namespace partner::http {
namespace {

void AppendField(std::string& out, absl::string_view name, absl::string_view value) {
  absl::StrAppend(&out, ",\"", name, "\":");
  AppendJsonString(out, value);
}

std::string StatusClass(const absl::StatusOr<HttpResponse>& result) {
  if (!result.ok()) return "error";
  return absl::StrCat(result->status / 100, "xx");
}

}  // namespace

void StderrLogSink(absl::string_view line) {
  const std::string whole = absl::StrCat(line, "\n");
  // One fwrite per line: stdio locks the stream, so concurrent lines never interleave.
  std::fwrite(whole.data(), 1, whole.size(), stderr);
}

void LatencyHistogram::Observe(absl::Duration latency) {
  const double seconds = absl::ToDoubleSeconds(latency);
  for (std::size_t i = 0; i < kBucketsSeconds.size(); ++i) {
    if (seconds <= kBucketsSeconds[i]) ++buckets[i];
  }
  ++count;
  sum_seconds += seconds;
}

void HttpMetrics::Record(const std::string& operation, int attempt, const absl::StatusOr<HttpResponse>& result,
                         absl::Duration latency) {
  absl::MutexLock lock(&mu_);
  ++requests_[{operation, StatusClass(result)}];
  if (attempt > 1) ++retries_;
  if (result.ok() && result->status == 429) ++throttled_;
  latency_[operation.substr(0, operation.find('.'))].Observe(latency);
}

HttpMetrics::Snapshot HttpMetrics::snapshot() const {
  absl::MutexLock lock(&mu_);
  Snapshot snapshot;
  snapshot.requests.insert(requests_.begin(), requests_.end());
  snapshot.retries = retries_;
  snapshot.throttled = throttled_;
  snapshot.latency = latency_;
  return snapshot;
}

struct LoggingPolicy::Shared {
  LogSink sink;
  std::shared_ptr<HttpMetrics> metrics;
  std::shared_ptr<HttpClient> next;
};

LoggingPolicy::LoggingPolicy(LogSink sink, std::shared_ptr<HttpMetrics> metrics, std::shared_ptr<HttpClient> next)
    : shared_(std::make_shared<const Shared>(
          Shared{sink ? std::move(sink) : LogSink(&StderrLogSink), std::move(metrics), std::move(next)})) {}

void LoggingPolicy::Send(std::shared_ptr<HttpRequest> request, HttpDone done) {
  // Only allow-listed values are taken from the request, before it is handed on.
  const UrlParts url = SplitUrl(request->url);
  std::string line = "{\"event\":\"upstream_http\"";
  AppendField(line, "operation", request->operation);
  AppendField(line, "method", request->method);
  AppendField(line, "host", url.host);
  AppendField(line, "path", url.path);
  AppendField(line, "request_id", request->request_id);
  AppendField(line, "correlation_id", request->correlation_id);
  absl::StrAppend(&line, ",\"attempt\":", request->attempt);
  const absl::Time start = absl::Now();
  HttpClient& next = *shared_->next;
  next.Send(request, [shared = shared_, line = std::move(line), request, start,
                      done = std::move(done)](absl::StatusOr<HttpResponse> result) mutable {
    if (result.ok()) {
      absl::StrAppend(&line, ",\"status\":", result->status);
    } else {
      absl::StrAppend(&line, ",\"status\":0,\"error\":\"", absl::StatusCodeToString(result.status().code()), "\"");
    }
    const absl::Duration latency = absl::Now() - start;
    // The wall clock can step back; a line then says 0.0 rather than a negative latency.
    line += ",\"latency_ms\":";
    AppendMilliseconds(line, std::max(latency, absl::ZeroDuration()), 1);
    line.push_back('}');
    shared->sink(line);
    if (shared->metrics != nullptr) shared->metrics->Record(request->operation, request->attempt, result, latency);
    done(std::move(result));
  });
}

}  // namespace partner::http
