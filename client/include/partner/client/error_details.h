// The rich error details the gateway attaches to every failed call (a google.rpc.Status in the
// "grpc-status-details-bin" trailer), decoded into a small struct.
#ifndef PARTNER_CLIENT_ERROR_DETAILS_H_
#define PARTNER_CLIENT_ERROR_DETAILS_H_

#include <grpcpp/support/status.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"

namespace partner::client {

/// What google.rpc.ErrorInfo and google.rpc.RetryInfo said about a failure.
struct ErrorDetails {
  /// A partner.v1.ErrorReason name, e.g. "ERROR_REASON_NOT_FOUND"; empty when none was sent.
  std::string reason;
  /// "partner-gateway.v1" for errors of the gateway.
  std::string domain;
  /// "correlationId" always; "upstreamCode" and "upstreamRequestId" when an upstream call failed.
  std::map<std::string, std::string> metadata;
  /// How long to wait before trying again, when waiting helps.
  std::optional<std::chrono::milliseconds> retry_delay;

  /// The metadata value of `key`, or empty.
  std::string Metadata(const std::string& key) const;
};

/// The absl::Status payload key under which the client keeps the serialized google.rpc.Status.
inline constexpr char kStatusDetailsPayload[] = "type.googleapis.com/google.rpc.Status";

/// Decodes the details of a gRPC status; an empty struct when there are none or they do not parse.
ErrorDetails DecodeErrorDetails(const grpc::Status& status);

/// Decodes the details of a status returned by this library (kept as a payload, see above).
ErrorDetails DecodeErrorDetails(const absl::Status& status);

/// The same code and message as `status`, with its details kept as a payload.
absl::Status ToAbslStatus(const grpc::Status& status);

}  // namespace partner::client

#endif  // PARTNER_CLIENT_ERROR_DETAILS_H_
