// Tags an absl::Status with the API's ErrorReason and the offending request field, so that the
// api layer can fill google.rpc.ErrorInfo without parsing messages.
#ifndef PARTNER_SERVER_OPS_ERROR_REASON_H_
#define PARTNER_SERVER_OPS_ERROR_REASON_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "partner/v1/resources.pb.h"

namespace partner::ops {

absl::Status WithReason(absl::Status status, v1::ErrorReason reason);
std::optional<v1::ErrorReason> GetReason(const absl::Status& status);

// INVALID_ARGUMENT "field: what", tagged ERROR_REASON_INVALID_FIELD and the field name.
absl::Status InvalidField(absl::string_view field, absl::string_view what);
std::optional<std::string> GetField(const absl::Status& status);

// ErrorInfo metadata about the upstream failure behind a status ("upstreamCode",
// "upstreamRequestId", ...), attached where the upstream error is mapped.
absl::Status WithUpstreamDetails(absl::Status status, const std::map<std::string, std::string>& details);
std::map<std::string, std::string> GetUpstreamDetails(const absl::Status& status);

// How long to wait before retrying (the upstream's Retry-After), for RetryInfo.
absl::Status WithRetryDelay(absl::Status status, absl::Duration delay);
std::optional<absl::Duration> GetRetryDelay(const absl::Status& status);

}  // namespace partner::ops

#endif  // PARTNER_SERVER_OPS_ERROR_REASON_H_
