#include "server/api/status_conversion.h"

#include <string>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/ops/error_reason.h"

namespace partner::api {
namespace {

// Statuses the gateway raises itself are tagged (ops::WithReason); untagged ones come from the
// upstream layers, which is what the defaults below assume.
v1::ErrorReason DerivedReason(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return v1::ERROR_REASON_INVALID_FIELD;
    case absl::StatusCode::kUnauthenticated:
      return v1::ERROR_REASON_UNAUTHENTICATED;
    case absl::StatusCode::kPermissionDenied:
      return v1::ERROR_REASON_UPSTREAM_PERMISSION_DENIED;
    case absl::StatusCode::kNotFound:
      return v1::ERROR_REASON_NOT_FOUND;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return v1::ERROR_REASON_CONFLICT;
    case absl::StatusCode::kFailedPrecondition:
      return v1::ERROR_REASON_APP_NOT_CONSENTED;
    case absl::StatusCode::kResourceExhausted:
      return v1::ERROR_REASON_UPSTREAM_THROTTLED;
    case absl::StatusCode::kUnavailable:
      return v1::ERROR_REASON_UPSTREAM_UNAVAILABLE;
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
      return v1::ERROR_REASON_DEADLINE_EXCEEDED;
    default:
      return v1::ERROR_REASON_UPSTREAM_MALFORMED;
  }
}

}  // namespace

v1::ErrorReason ReasonFor(const absl::Status& status) {
  if (std::optional<v1::ErrorReason> tagged = ops::GetReason(status); tagged.has_value()) {
    return *tagged;
  }
  return DerivedReason(status);
}

grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view correlation_id) {
  if (status.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbering.
  const auto code = static_cast<grpc::StatusCode>(static_cast<int>(status.code()));
  const std::string message(status.message());

  google::rpc::ErrorInfo info;
  info.set_domain(kErrorDomain);
  info.set_reason(v1::ErrorReason_Name(ReasonFor(status)));
  auto& metadata = *info.mutable_metadata();
  metadata["correlationId"] = std::string(correlation_id);
  if (std::optional<std::string> field = ops::GetField(status); field.has_value()) {
    metadata["field"] = *field;
  }
  for (const auto& [key, value] : ops::GetUpstreamDetails(status)) metadata[key] = value;

  google::rpc::Status details;
  details.set_code(static_cast<int>(code));
  details.set_message(message);
  details.add_details()->PackFrom(info);
  if (status.code() == absl::StatusCode::kResourceExhausted ||
      status.code() == absl::StatusCode::kUnavailable) {
    absl::Duration delay = ops::GetRetryDelay(status).value_or(absl::Seconds(1));
    google::rpc::RetryInfo retry;
    const int64_t nanos = absl::ToInt64Nanoseconds(delay);
    retry.mutable_retry_delay()->set_seconds(nanos / 1000000000);
    retry.mutable_retry_delay()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
    details.add_details()->PackFrom(retry);
  }
  return grpc::Status(code, message, details.SerializeAsString());
}

}  // namespace partner::api
