// One JSON object on one line, for the request log, the audit log and library messages. Fields
// keep the order they are added in. Strings are escaped, and invalid UTF-8 is replaced by U+FFFD,
// so no caller-supplied text can make a line invalid or get it dropped.
#ifndef PARTNER_SERVER_API_JSON_LINE_H_
#define PARTNER_SERVER_API_JSON_LINE_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace partner::api {

class JsonLine {
 public:
  JsonLine();

  JsonLine& String(absl::string_view name, absl::string_view value);
  JsonLine& Bool(absl::string_view name, bool value);
  JsonLine& Integer(absl::string_view name, std::int64_t value);
  // A duration as a number of milliseconds with microsecond precision.
  JsonLine& Milliseconds(absl::string_view name, absl::Duration value);
  // A point in time as RFC 3339 text in UTC, as absl::RFC3339_full writes it
  // ("2026-12-02T11:05:01.1234+00:00": fractional seconds to the nanosecond, trailing zeros
  // dropped).
  JsonLine& Time(absl::string_view name, absl::Time value);

  // The object, without a line break.
  std::string Finish() &&;

 private:
  void Name(absl::string_view name);

  std::string out_;
};

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_JSON_LINE_H_
