// Options of the partner-gateway client library: where the gateway is, how to authenticate, and
// the deadline and retry behaviour of every call. Plain values; copy freely, share across threads.
#ifndef PARTNER_CLIENT_CLIENT_OPTIONS_H_
#define PARTNER_CLIENT_CLIENT_OPTIONS_H_

#include <grpcpp/channel.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace partner::client {

/// How idempotent reads are retried when the gateway answers UNAVAILABLE. Mutations never are.
struct RetryOptions {
  /// Attempts in total, the first one included; 1 disables retries.
  int max_attempts = 4;
  /// Wait before the second attempt; each later wait is `multiplier` times longer, up to
  /// `max_backoff`, with up to 50% random jitter taken off so many clients do not retry in step.
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  double multiplier = 2.0;
};

/// Options shared by every call of a client.
struct ClientOptions {
  /// "host:port" of the gateway (any gRPC target string).
  std::string target = "127.0.0.1:50051";
  /// Use TLS. Implied when any of the file options below is set.
  bool use_tls = false;
  /// PEM file of the CA certificates trusted for the gateway; empty means the system roots.
  std::string tls_root_file;
  /// PEM client certificate chain and private key for mutual TLS; both or neither.
  std::string tls_cert_file;
  std::string tls_key_file;
  /// Sent as "authorization: Bearer <token>" on every call when not empty.
  std::string bearer_token;
  /// Deadline of a call (all of its attempts together) unless the call overrides it.
  std::chrono::milliseconds default_timeout{std::chrono::seconds(30)};
  RetryOptions retry;
};

/// Per-call overrides, merged over the client's options.
struct CallOptions {
  /// Replaces ClientOptions::default_timeout for this call.
  std::optional<std::chrono::milliseconds> timeout;
  /// Sent as "x-correlation-id" so the call can be found in the gateway's logs and audit trail.
  /// When empty the library makes up a random UUID, the same for every attempt of the call.
  std::string correlation_id;
  /// Replaces ClientOptions::retry.max_attempts for this call.
  std::optional<int> max_attempts;
};

/// Opens a channel to `options.target` with the credentials the options describe.
/// @return INVALID_ARGUMENT when a TLS file cannot be read or only one of cert/key is given.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ClientOptions& options);

}  // namespace partner::client

#endif  // PARTNER_CLIENT_CLIENT_OPTIONS_H_
