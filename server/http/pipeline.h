// The upstream HTTP pipeline, assembled in one place, outermost first:
//   request/correlation ids -> User-Agent -> retry -> rate limit -> bearer token -> logging/metrics
//   -> transport.
// Ids sit above retry so all attempts of a call share one request id; the token policy sits below
// retry so each attempt gets a current token; logging sits last so each attempt is one line.
#ifndef PARTNER_SERVER_HTTP_PIPELINE_H_
#define PARTNER_SERVER_HTTP_PIPELINE_H_

#include <functional>
#include <memory>
#include <string>

#include "server/http/http_client.h"
#include "server/http/logging_policy.h"
#include "server/http/rate_limit_policy.h"
#include "server/http/retry_policy.h"
#include "server/http/timer.h"
#include "server/http/token_source.h"

namespace partner::http {

struct PipelineOptions {
  // Sent as "User-Agent: partner-gateway/<version>".
  std::string version = "0.1.0";
  RetryOptions retry;
  // Token buckets each attempt draws from (below retry, so every attempt counts); empty: none.
  RateLimits rate_limits;
  // Where backoff waits run; null: a ThreadTimer owned by the pipeline.
  std::shared_ptr<Timer> timer;
  // Empty: StderrLogSink.
  LogSink log_sink;
  // Null: counters nobody reads. Pass one in to serve /metrics from it.
  std::shared_ptr<HttpMetrics> metrics;
  // Empty: NewRequestId. Tests pin ids.
  std::function<std::string()> new_request_id;
};

// `tokens` may be null when no request will name a token scope (the token endpoint's pipeline).
std::unique_ptr<HttpClient> MakeUpstreamPipeline(PipelineOptions options, std::shared_ptr<HttpClient> transport,
                                                 std::shared_ptr<TokenSource> tokens);

}  // namespace partner::http

#endif  // PARTNER_SERVER_HTTP_PIPELINE_H_
