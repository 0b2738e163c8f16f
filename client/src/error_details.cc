#include "partner/client/error_details.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/types/optional.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace partner::client {
namespace {

ErrorDetails Decode(const std::string& serialized) {
  ErrorDetails out;
  google::rpc::Status status;
  if (serialized.empty() || !status.ParseFromString(serialized)) return out;
  for (const google::protobuf::Any& any : status.details()) {
    if (google::rpc::ErrorInfo info; any.UnpackTo(&info)) {
      out.reason = info.reason();
      out.domain = info.domain();
      out.metadata.insert(info.metadata().begin(), info.metadata().end());
    } else if (google::rpc::RetryInfo retry; any.UnpackTo(&retry)) {
      const auto& d = retry.retry_delay();
      out.retry_delay = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::seconds(d.seconds()) + std::chrono::nanoseconds(d.nanos()));
    }
  }
  return out;
}

}  // namespace

std::string ErrorDetails::Metadata(const std::string& key) const {
  auto it = metadata.find(key);
  return it == metadata.end() ? std::string() : it->second;
}

ErrorDetails DecodeErrorDetails(const grpc::Status& status) {
  return Decode(status.error_details());
}

ErrorDetails DecodeErrorDetails(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kStatusDetailsPayload);
  if (!payload.has_value()) return {};
  return Decode(std::string(*payload));
}

absl::Status ToAbslStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  // gRPC and absl share the canonical code numbering.
  absl::Status out(static_cast<absl::StatusCode>(static_cast<int>(status.error_code())),
                   status.error_message());
  if (!status.error_details().empty()) {
    out.SetPayload(kStatusDetailsPayload, absl::Cord(status.error_details()));
  }
  return out;
}

}  // namespace partner::client
