#include "server/http/retry_after.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace partner::http {
namespace {

// Longer waits than this are treated as this: no upstream legitimately asks for more, and an
// absurd value must not overflow arithmetic downstream.
constexpr absl::Duration kMaxDelay = absl::Hours(24);

std::optional<absl::Duration> FromSeconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return std::nullopt;
  return std::min(absl::Seconds(seconds), kMaxDelay);
}

}  // namespace

std::optional<absl::Duration> ParseRetryAfterValue(std::string_view raw, absl::Time now) {
  const absl::string_view value = absl::StripAsciiWhitespace(absl::string_view(raw.data(), raw.size()));
  if (value.empty()) return std::nullopt;
  if (absl::ascii_isdigit(static_cast<unsigned char>(value.front())) || value.front() == '.') {
    double seconds = 0;
    if (!absl::SimpleAtod(value, &seconds)) return std::nullopt;
    return FromSeconds(seconds);
  }
  // RFC 9110 IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT".
  absl::Time when;
  std::string error;
  if (!absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", std::string(value), absl::UTCTimeZone(), &when, &error)) {
    return std::nullopt;
  }
  return std::clamp(when - now, absl::ZeroDuration(), kMaxDelay);
}

std::optional<absl::Duration> RetryAfter(const HttpResponse& response, absl::Time now) {
  for (std::string_view name : {"retry-after-ms", "x-ms-retry-after-ms"}) {
    if (auto value = response.FindHeader(name)) {
      double millis = 0;
      if (absl::SimpleAtod(absl::StripAsciiWhitespace(absl::string_view(value->data(), value->size())), &millis)) {
        if (auto delay = FromSeconds(millis / 1000)) return delay;
      }
    }
  }
  if (auto value = response.FindHeader("retry-after")) return ParseRetryAfterValue(*value, now);
  return std::nullopt;
}

}  // namespace partner::http
