#include "server/ops/error_reason.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace partner::ops {
namespace {

constexpr char kReasonUrl[] = "partner-gateway.v1/reason";
constexpr char kFieldUrl[] = "partner-gateway.v1/field";

}  // namespace

absl::Status WithReason(absl::Status status, v1::ErrorReason reason) {
  if (status.ok()) return status;
  status.SetPayload(kReasonUrl, absl::Cord(v1::ErrorReason_Name(reason)));
  return status;
}

std::optional<v1::ErrorReason> GetReason(const absl::Status& status) {
  auto payload = status.GetPayload(kReasonUrl);
  if (!payload.has_value()) return std::nullopt;
  v1::ErrorReason reason;
  if (!v1::ErrorReason_Parse(std::string(*payload), &reason)) return std::nullopt;
  return reason;
}

absl::Status InvalidField(absl::string_view field, absl::string_view what) {
  absl::Status status = absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
  status.SetPayload(kFieldUrl, absl::Cord(field));
  return WithReason(std::move(status), v1::ERROR_REASON_INVALID_FIELD);
}

std::optional<std::string> GetField(const absl::Status& status) {
  auto payload = status.GetPayload(kFieldUrl);
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

}  // namespace partner::ops
