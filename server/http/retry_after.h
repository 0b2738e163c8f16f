// How long an upstream asks us to wait before trying again.
#ifndef PARTNER_SERVER_HTTP_RETRY_AFTER_H_
#define PARTNER_SERVER_HTTP_RETRY_AFTER_H_

#include <optional>
#include <string_view>

#include "absl/time/time.h"
#include "server/http/http_client.h"

namespace partner::http {

// `Retry-After` as whole or fractional seconds ("2.128", Graph) or an HTTP-date; nullopt for a
// missing, negative or unparseable value (a garbage header is not an error, just no hint).
std::optional<absl::Duration> ParseRetryAfterValue(std::string_view value, absl::Time now);

// The delay a response asks for: `retry-after-ms` or `x-ms-retry-after-ms` (milliseconds) first,
// then `Retry-After`.
std::optional<absl::Duration> RetryAfter(const HttpResponse& response, absl::Time now);

}  // namespace partner::http

#endif  // PARTNER_SERVER_HTTP_RETRY_AFTER_H_
