// Opaque, integrity-protected page tokens. A token carries the paging state (an upstream
// continuation or an offset) plus an HMAC-SHA256 under the deployment's key over that state and
// the request's filter, so a tampered token, a token of another deployment, or a token reused
// with a different filter is refused with INVALID_ARGUMENT (ERROR_REASON_INVALID_PAGE_TOKEN).
#ifndef PARTNER_SERVER_API_PAGE_TOKEN_H_
#define PARTNER_SERVER_API_PAGE_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace partner::api {

class PageTokenCodec {
 public:
  // `key`: at least 32 bytes of secret.
  explicit PageTokenCodec(std::string key);

  // `binding` describes the request the token belongs to: method and every filter field.
  std::string Encode(absl::string_view binding, absl::string_view state) const;

  // The state of a token produced by Encode with the same key and binding.
  absl::StatusOr<std::string> Decode(absl::string_view binding, absl::string_view token) const;

 private:
  std::string Mac(absl::string_view binding, absl::string_view state) const;

  std::string key_;
};

// Random key for deployments without a key file (the sandbox); tokens die with the process.
absl::StatusOr<std::string> RandomPageTokenKey();

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_PAGE_TOKEN_H_
