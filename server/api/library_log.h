// Log lines of the libraries the gateway runs on, as JSON lines like its own, and throttled:
// protobuf logs every request it refuses to parse (a string field that is not valid UTF-8) at
// ERROR, one line per request, so a hostile caller could otherwise flood the logs. Those requests
// are answered INVALID_ARGUMENT and counted in the RPC metrics; the line adds nothing per request.
#ifndef PARTNER_SERVER_API_LIBRARY_LOG_H_
#define PARTNER_SERVER_API_LIBRARY_LOG_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace partner::api {

// Admits at most one line per interval; the next admitted line says how many were dropped.
class ThrottledLibraryLog {
 public:
  explicit ThrottledLibraryLog(absl::Duration interval, absl::AnyInvocable<absl::Time()> clock = absl::Now)
      : interval_(interval), clock_(std::move(clock)) {}

  // The JSON line to write (no newline), or nullopt when it is dropped. `level` as the library
  // names it ("error", "warning", ...).
  std::optional<std::string> Admit(absl::string_view library, absl::string_view level, absl::string_view message);

 private:
  const absl::Duration interval_;
  absl::Mutex mu_;
  absl::AnyInvocable<absl::Time()> clock_ ABSL_GUARDED_BY(mu_);
  absl::Time last_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::int64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
};

// Routes protobuf's log lines to stderr through one ThrottledLibraryLog (one line per 10 s).
void InstallProtobufLogHandler();

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_LIBRARY_LOG_H_
