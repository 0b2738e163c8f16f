// Retry-After in all its forms (seconds, fractional seconds, HTTP-date) and the millisecond
// headers: any bytes parse to a delay or to nothing, never to a crash or a negative wait.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "server/http/http_client.h"
#include "server/http/retry_after.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using partner::http::HttpResponse;
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  const absl::Time now = absl::FromUnixSeconds(1741944067);
  const std::optional<absl::Duration> delay = partner::http::ParseRetryAfterValue(value, now);
  if (delay.has_value() && *delay < absl::ZeroDuration()) std::abort();
  for (const char* header : {"retry-after", "retry-after-ms", "x-ms-retry-after-ms"}) {
    HttpResponse response;
    response.status = 429;
    response.headers.emplace_back(header, std::string(value));
    const std::optional<absl::Duration> wait = partner::http::RetryAfter(response, now);
    if (wait.has_value() && *wait < absl::ZeroDuration()) std::abort();
  }
  return 0;
}
