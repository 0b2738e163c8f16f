#include "server/http/nothing_sent.h"

#include <utility>

#include "absl/strings/cord.h"

namespace partner::http {
namespace {

constexpr char kNothingSentUrl[] = "type.partner-gateway/http.NothingSent";

}  // namespace

absl::Status MarkNothingSent(absl::Status status) {
  if (!status.ok()) status.SetPayload(kNothingSentUrl, absl::Cord("1"));
  return status;
}

bool NothingSent(const absl::Status& status) {
  return status.GetPayload(kNothingSentUrl).has_value();
}

}  // namespace partner::http
