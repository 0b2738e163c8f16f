#include "server/api/library_log.h"

#include <google/protobuf/stubs/logging.h>

#include <cstdio>
#include <utility>

#include "server/api/json_line.h"

namespace partner::api {

std::optional<std::string> ThrottledLibraryLog::Admit(absl::string_view library, absl::string_view level,
                                                      absl::string_view message) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_();
  if (now - last_ < interval_) {
    ++dropped_;
    return std::nullopt;
  }
  last_ = now;
  JsonLine line;
  line.Time("time", now)
      .String("level", level)
      .String("msg", library)
      .String("detail", message)
      .Integer("droppedSinceLast", dropped_);
  dropped_ = 0;
  return std::move(line).Finish();
}

namespace {

void WriteProtobufLine(google::protobuf::LogLevel level, const char*, int, const std::string& message) {
  if (level == google::protobuf::LOGLEVEL_FATAL) {
    // The process is about to end: this line is never dropped.
    std::fprintf(stderr, "partner-gateway: protobuf fatal: %s\n", message.c_str());
    return;
  }
  static ThrottledLibraryLog* const log = new ThrottledLibraryLog(absl::Seconds(10));
  const char* name = level == google::protobuf::LOGLEVEL_INFO      ? "info"
                     : level == google::protobuf::LOGLEVEL_WARNING ? "warning"
                                                                   : "error";
  std::optional<std::string> line = log->Admit("protobuf", name, message);
  if (!line.has_value()) return;
  line->push_back('\n');
  std::fwrite(line->data(), 1, line->size(), stderr);
}

}  // namespace

void InstallProtobufLogHandler() { google::protobuf::SetLogHandler(&WriteProtobufLine); }

}  // namespace partner::api
