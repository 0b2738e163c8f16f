// absl::Status -> grpc::Status, the only place that builds grpc::Status: the code maps 1:1, and
// grpc-status-details-bin carries a google.rpc.Status with an ErrorInfo (domain
// "partner-gateway.v1", reason an ErrorReason name, metadata correlationId, field, upstreamCode,
// upstreamRequestId) and, for throttling, a RetryInfo.
#ifndef PARTNER_SERVER_API_STATUS_CONVERSION_H_
#define PARTNER_SERVER_API_STATUS_CONVERSION_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "partner/v1/resources.pb.h"

namespace partner::api {

inline constexpr char kErrorDomain[] = "partner-gateway.v1";

// The reason tagged on the status (ops::WithReason), else one derived from the code.
v1::ErrorReason ReasonFor(const absl::Status& status);

grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view correlation_id);

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_STATUS_CONVERSION_H_
