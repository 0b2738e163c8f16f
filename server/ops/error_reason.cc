#include "server/ops/error_reason.h"

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace partner::ops {
namespace {

constexpr char kReasonUrl[] = "partner-gateway.v1/reason";
constexpr char kFieldUrl[] = "partner-gateway.v1/field";
constexpr char kUpstreamUrl[] = "partner-gateway.v1/upstream";
constexpr char kRetryUrl[] = "partner-gateway.v1/retry-delay-ms";

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

absl::Status WithUpstreamDetails(absl::Status status, const std::map<std::string, std::string>& details) {
  if (status.ok()) return status;
  // Keys and values are joined with control characters that never occur in them.
  std::string encoded;
  for (const auto& [key, value] : details) {
    if (value.empty()) continue;
    absl::StrAppend(&encoded, key, "\x1f", value, "\x1e");
  }
  status.SetPayload(kUpstreamUrl, absl::Cord(encoded));
  return status;
}

std::map<std::string, std::string> GetUpstreamDetails(const absl::Status& status) {
  std::map<std::string, std::string> out;
  auto payload = status.GetPayload(kUpstreamUrl);
  if (!payload.has_value()) return out;
  for (absl::string_view entry : absl::StrSplit(std::string(*payload), '\x1e', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(entry, absl::MaxSplits('\x1f', 1));
    out[kv.first] = kv.second;
  }
  return out;
}

absl::Status WithRetryDelay(absl::Status status, absl::Duration delay) {
  if (status.ok()) return status;
  status.SetPayload(kRetryUrl, absl::Cord(absl::StrCat(absl::ToInt64Milliseconds(delay))));
  return status;
}

std::optional<absl::Duration> GetRetryDelay(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryUrl);
  int64_t ms = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &ms)) return std::nullopt;
  return absl::Milliseconds(ms);
}

}  // namespace partner::ops
