#include "server/upstream_stack.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/config/load_config.h"
#include "server/http/curl_transport.h"
#include "server/http/pipeline.h"
#include "server/http/timer.h"
#include "server/ops/gateway_operations.h"

namespace partner {
namespace {

http::RetryOptions RetryFrom(const config::v1::RetryOptions& retry) {
  http::RetryOptions options;
  options.max_attempts = retry.max_attempts();
  options.initial_backoff = absl::Milliseconds(retry.initial_backoff_ms());
  options.max_backoff = absl::Milliseconds(retry.max_backoff_ms());
  return options;
}

// Local token buckets, refilled at the configured rates with ten seconds of burst (ARM's own
// buckets hold ten seconds of refill: 250 reads at 25/s). Partner Center's per-customer bucket
// never exceeds its documented 500 requests per minute per tenant, nor ARM's writes their
// documented 10/s refill (CONTRACTS.md §2.6, §5.2).
http::RateLimits RateLimitsFrom(const config::v1::Limits& limits) {
  auto bucket = [](double per_second) { return http::BucketRate{per_second, std::max(1.0, per_second * 10)}; };
  const double pc = limits.partner_center_requests_per_second();
  const double arm = limits.arm_requests_per_second();
  return {{"pc", bucket(pc)},
          {"pc-customer", bucket(std::min(pc, 500.0 / 60))},
          {"arm-read", bucket(arm)},
          {"arm-write", bucket(std::min(arm, 10.0))},
          {"graph", bucket(limits.graph_requests_per_second())}};
}

absl::StatusOr<auth::TokenProviderOptions> TokenOptionsFrom(const config::v1::GatewayConfig& config) {
  auth::TokenProviderOptions options;
  options.authority_url = config.upstreams().authority_url();
  options.app_id = config.app_id();
  const config::v1::Credential& credential = config.credential();
  if (credential.has_certificate()) {
    options.credential = auth::ClientCertificate{credential.certificate().certificate_file(),
                                                 credential.certificate().private_key_file()};
  } else if (!credential.client_secret_file().empty()) {
    absl::StatusOr<std::string> secret = config::ReadFileToString(credential.client_secret_file());
    if (!secret.ok()) return secret.status();
    while (!secret->empty() && (secret->back() == '\n' || secret->back() == '\r')) secret->pop_back();
    if (secret->empty()) {
      return absl::InvalidArgumentError(absl::StrCat("credential.client_secret_file: \"", credential.client_secret_file(), "\" is empty"));
    }
    options.credential = auth::ClientSecret{*std::move(secret)};
  } else {
    options.credential = auth::ClientSecret{credential.client_secret()};
  }
  return options;
}

std::string Escape(const std::string& label) {
  std::string out;
  for (char c : label) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c == '\n' ? ' ' : c);
  }
  return out;
}

}  // namespace

UpstreamStack::~UpstreamStack() {
  if (transport_ != nullptr) transport_->Shutdown();
}

http::CurlTransportOptions TransportOptionsFrom(const config::v1::GatewayConfig& config) {
  http::CurlTransportOptions options;
  options.ca_bundle_file = config.upstreams().ca_bundle_file();
  options.allow_plain_http = config.allow_plain_http();
  options.max_concurrent_transfers = config.limits().max_concurrent_upstream_requests();
  options.loop_threads = config.limits().upstream_threads();
  options.attempt_timeout = absl::Seconds(config.upstreams().request_timeout_seconds());
  return options;
}

absl::StatusOr<std::unique_ptr<UpstreamStack>> UpstreamStack::Build(const config::v1::GatewayConfig& config,
                                                                    http::LogSink upstream_log) {
  std::unique_ptr<UpstreamStack> stack(new UpstreamStack());
  absl::StatusOr<std::unique_ptr<http::CurlTransport>> transport =
      http::CurlTransport::Create(TransportOptionsFrom(config));
  if (!transport.ok()) return transport.status();
  // The transport's loop threads also serve every wait: backoff, rate limits, the operations'
  // sleeps. No thread of the process exists only to keep time.
  std::shared_ptr<http::Timer> timer = (*transport)->timer();
  stack->transport_ = std::move(*transport);
  stack->http_metrics_ = std::make_shared<http::HttpMetrics>();

  // Token requests go through ids, retry and logging but carry no bearer token of their own.
  http::PipelineOptions token_pipeline;
  token_pipeline.retry = RetryFrom(config.retry());
  token_pipeline.metrics = stack->http_metrics_;
  token_pipeline.timer = timer;
  token_pipeline.log_sink = upstream_log;
  stack->token_http_ = http::MakeUpstreamPipeline(std::move(token_pipeline), stack->transport_, nullptr);
  absl::StatusOr<auth::TokenProviderOptions> token_options = TokenOptionsFrom(config);
  if (!token_options.ok()) return token_options.status();
  // Callers waiting for a shared token request are answered at their own deadlines on it.
  token_options->timer = timer;
  absl::StatusOr<std::shared_ptr<auth::TokenProvider>> tokens =
      auth::TokenProvider::Create(*std::move(token_options), stack->token_http_);
  if (!tokens.ok()) return tokens.status();
  stack->tokens_ = *std::move(tokens);

  http::PipelineOptions pipeline;
  pipeline.retry = RetryFrom(config.retry());
  pipeline.metrics = stack->http_metrics_;
  pipeline.timer = timer;
  pipeline.rate_limits = RateLimitsFrom(config.limits());
  pipeline.log_sink = std::move(upstream_log);
  stack->pipeline_ = http::MakeUpstreamPipeline(std::move(pipeline), stack->transport_, stack->tokens_);

  upstream::UpstreamOptions upstream;
  upstream.partner_center_url = config.upstreams().partner_center_url();
  upstream.arm_url = config.upstreams().arm_url();
  upstream.graph_url = config.upstreams().graph_url();
  upstream.partner_center_scope = config.upstreams().partner_center_scope();
  upstream.arm_scope = config.upstreams().arm_scope();
  upstream.graph_scope = config.upstreams().graph_scope();
  upstream.partner_tenant_id = config.partner_tenant_id();
  stack->partner_center_ = std::make_unique<upstream::PartnerCenterClient>(stack->pipeline_, upstream);
  stack->arm_ = std::make_unique<upstream::ArmClient>(stack->pipeline_, upstream);
  stack->graph_ = std::make_unique<upstream::GraphClient>(stack->pipeline_, upstream);
  stack->clock_ = std::make_unique<ops::SystemOpClock>(
      [timer](absl::Duration delay, absl::AnyInvocable<void(bool)> callback) {
        timer->After(delay, [callback = std::move(callback)](absl::Status waited) mutable { callback(waited.ok()); });
      });

  ops::OperationsOptions operations;
  operations.entitlements_ttl = absl::Seconds(config.caches().entitlements_ttl_seconds());
  operations.role_definitions_ttl = absl::Seconds(config.caches().role_definitions_ttl_seconds());
  operations.principal_not_found_backoff = absl::Milliseconds(config.retry().principal_not_found_initial_backoff_ms());
  operations.batch_concurrency = config.limits().batch_concurrency();
  operations.batch_per_customer_concurrency = config.limits().batch_per_customer_concurrency();
  stack->operations_ = ops::MakeGatewayOperations(*stack->partner_center_, *stack->arm_, *stack->graph_, *stack->clock_, operations);
  return stack;
}

std::string UpstreamStack::RenderMetrics() const {
  const http::HttpMetrics::Snapshot http = http_metrics_->snapshot();
  std::string out =
      "# HELP partner_upstream_requests_total Upstream HTTP attempts by operation and status class.\n"
      "# TYPE partner_upstream_requests_total counter\n";
  for (const auto& [key, count] : http.requests) {
    absl::StrAppend(&out, "partner_upstream_requests_total{operation=\"", Escape(key.first), "\",class=\"", Escape(key.second),
                    "\"} ", count, "\n");
  }
  absl::StrAppend(&out,
                  "# HELP partner_upstream_request_duration_seconds Upstream HTTP attempt latency by service.\n"
                  "# TYPE partner_upstream_request_duration_seconds histogram\n");
  for (const auto& [service, histogram] : http.latency) {
    for (std::size_t i = 0; i < histogram.buckets.size(); ++i) {
      absl::StrAppend(&out, "partner_upstream_request_duration_seconds_bucket{service=\"", Escape(service), "\",le=\"",
                      http::LatencyHistogram::kBucketsSeconds[i], "\"} ", histogram.buckets[i], "\n");
    }
    absl::StrAppend(&out, "partner_upstream_request_duration_seconds_bucket{service=\"", Escape(service),
                    "\",le=\"+Inf\"} ", histogram.count, "\n", "partner_upstream_request_duration_seconds_sum{service=\"",
                    Escape(service), "\"} ", histogram.sum_seconds, "\n",
                    "partner_upstream_request_duration_seconds_count{service=\"", Escape(service), "\"} ",
                    histogram.count, "\n");
  }
  const auth::TokenProviderStats tokens = tokens_->stats();
  absl::StrAppend(&out, "# TYPE partner_upstream_retries_total counter\npartner_upstream_retries_total ", http.retries, "\n",
                  "# TYPE partner_upstream_throttled_total counter\npartner_upstream_throttled_total ", http.throttled, "\n",
                  "# TYPE partner_token_requests_total counter\npartner_token_requests_total ", tokens.token_requests, "\n",
                  "# TYPE partner_token_refreshes_ahead_total counter\npartner_token_refreshes_ahead_total ", tokens.refreshes_ahead, "\n",
                  "# TYPE partner_token_cache_hits_total counter\npartner_token_cache_hits_total ", tokens.cache_hits, "\n",
                  "# TYPE partner_token_failures_total counter\npartner_token_failures_total ", tokens.failures, "\n");
  return out;
}

}  // namespace partner
