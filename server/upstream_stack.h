// The composition root of the request path below the api layer: curl transport -> policy
// pipeline -> token provider -> Partner Center / ARM / Graph clients -> operations, built from the
// validated configuration. Owned by main; destroyed top down (operations first, transport last).
#ifndef PARTNER_SERVER_UPSTREAM_STACK_H_
#define PARTNER_SERVER_UPSTREAM_STACK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/auth/token/token_provider.h"
#include "server/config/config.pb.h"
#include "server/http/curl_transport.h"
#include "server/http/http_client.h"
#include "server/http/logging_policy.h"
#include "server/ops/operations.h"
#include "server/ops/system_clock.h"
#include "server/upstream/arm_client.h"
#include "server/upstream/graph_client.h"
#include "server/upstream/partner_center_client.h"

namespace partner {

// The HTTP transport's options as the gateway sets them from `config` (defaults applied): the
// bench's relay builds its transport with them too, so that it stays the gateway's.
http::CurlTransportOptions TransportOptionsFrom(const config::v1::GatewayConfig& config);

class UpstreamStack {
 public:
  // Fails, naming the field, when a credential file cannot be loaded or the transport cannot start.
  // `upstream_log` receives one line per upstream attempt; empty: http::StderrLogSink.
  static absl::StatusOr<std::unique_ptr<UpstreamStack>> Build(const config::v1::GatewayConfig& config,
                                                              http::LogSink upstream_log = {});
  // Shuts the transport down first: requests still in flight (a token fetch, an attempt its caller
  // gave up on) complete with CANCELLED while everything above the transport still exists, and
  // no loop thread outlives the stack.
  ~UpstreamStack();
  UpstreamStack(const UpstreamStack&) = delete;
  UpstreamStack& operator=(const UpstreamStack&) = delete;

  ops::Operations& operations() { return *operations_; }
  // Prometheus text for /metrics: upstream requests by operation and status class, retries, 429s,
  // token requests and cache hits.
  std::string RenderMetrics() const;

 private:
  UpstreamStack() = default;

  std::shared_ptr<http::CurlTransport> transport_;
  std::shared_ptr<http::HttpMetrics> http_metrics_;
  std::shared_ptr<http::HttpClient> token_http_;
  std::shared_ptr<auth::TokenProvider> tokens_;
  std::shared_ptr<http::HttpClient> pipeline_;
  std::unique_ptr<upstream::PartnerCenterClient> partner_center_;
  std::unique_ptr<upstream::ArmClient> arm_;
  std::unique_ptr<upstream::GraphClient> graph_;
  std::unique_ptr<ops::SystemOpClock> clock_;
  std::unique_ptr<ops::Operations> operations_;
};

}  // namespace partner

#endif  // PARTNER_SERVER_UPSTREAM_STACK_H_
