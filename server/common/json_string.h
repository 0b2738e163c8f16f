// JSON string literals and numbers for the gateway's own log lines (request log, audit log, upstream log).
// Any thread; no state.
#ifndef PARTNER_SERVER_COMMON_JSON_STRING_H_
#define PARTNER_SERVER_COMMON_JSON_STRING_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace partner {

// Appends `text` as a JSON string literal, quotes included. Quotes, backslashes and control
// characters are escaped, and each byte that starts no well-formed UTF-8 sequence becomes U+FFFD,
// so no caller- or upstream-supplied text can make a line invalid or get it dropped.
void AppendJsonString(std::string& out, absl::string_view text);

// Appends finite `value` as a JSON number of milliseconds with `decimals` (0 to 6) decimal places,
// rounded half away from zero ("-2.500" for -2.5 ms at 3). Written by hand: "%.*f" through
// absl::StrAppendFormat cost more than all the rest of a log line (callgrind).
void AppendMilliseconds(std::string& out, absl::Duration value, int decimals);

}  // namespace partner

#endif  // PARTNER_SERVER_COMMON_JSON_STRING_H_
