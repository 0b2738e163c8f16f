#include "server/api/json_line.h"

#include <cstdint>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/json_string.h"

namespace partner::api {

// Room for a whole request-log line, so it is not reallocated field by field.
JsonLine::JsonLine() {
  out_.reserve(320);
  out_.push_back('{');
}

void JsonLine::Name(absl::string_view name) {
  if (out_.size() > 1) out_.push_back(',');
  AppendJsonString(out_, name);
  out_.push_back(':');
}

JsonLine& JsonLine::String(absl::string_view name, absl::string_view value) {
  Name(name);
  AppendJsonString(out_, value);
  return *this;
}

JsonLine& JsonLine::Bool(absl::string_view name, bool value) {
  Name(name);
  out_ += value ? "true" : "false";
  return *this;
}

JsonLine& JsonLine::Integer(absl::string_view name, std::int64_t value) {
  Name(name);
  absl::StrAppend(&out_, value);
  return *this;
}

JsonLine& JsonLine::Milliseconds(absl::string_view name, absl::Duration value) {
  Name(name);
  // JSON has no infinity: an infinite duration is written as null.
  if (value == absl::InfiniteDuration() || value == -absl::InfiniteDuration()) {
    out_ += "null";
    return *this;
  }
  AppendMilliseconds(out_, value, 3);
  return *this;
}

JsonLine& JsonLine::Time(absl::string_view name, absl::Time value) {
  Name(name);
  if (value == absl::InfiniteFuture() || value == absl::InfinitePast()) {
    AppendJsonString(out_, absl::FormatTime(absl::RFC3339_full, value, absl::UTCTimeZone()));
    return *this;
  }
  // The calendar part changes once a second, so each thread keeps the last one it wrote: through
  // absl::FormatTime the time field was a third of a request-log line's cost (callgrind).
  thread_local std::int64_t cached_second = std::numeric_limits<std::int64_t>::min();
  thread_local std::string cached_calendar;
  const std::int64_t second = absl::ToUnixSeconds(value);
  if (second != cached_second) {
    cached_calendar = absl::FormatTime("%Y-%m-%d%ET%H:%M:%S", value, absl::UTCTimeZone());
    cached_second = second;
  }
  out_.push_back('"');
  out_ += cached_calendar;
  std::int64_t nanoseconds = absl::ToInt64Nanoseconds(value - absl::FromUnixSeconds(second));
  if (nanoseconds != 0) {
    char fraction[10] = {'.'};
    int digits = 9;
    while (nanoseconds % 10 == 0) {
      nanoseconds /= 10;
      --digits;
    }
    for (int at = digits; at >= 1; --at, nanoseconds /= 10) fraction[at] = static_cast<char>('0' + nanoseconds % 10);
    out_.append(fraction, static_cast<std::size_t>(digits) + 1);
  }
  out_ += "+00:00\"";
  return *this;
}

std::string JsonLine::Finish() && {
  out_.push_back('}');
  return std::move(out_);
}

}  // namespace partner::api
