#include "server/api/request_log.h"

#include <cstdio>

#include "nlohmann/json.hpp"

namespace partner::api {

std::string FormatRequestLogEntry(const RequestLogEntry& e) {
  nlohmann::ordered_json j;
  j["time"] = absl::FormatTime(absl::RFC3339_full, e.time, absl::UTCTimeZone());
  j["level"] = e.code == "OK" ? "info" : "warning";
  j["msg"] = "rpc";
  j["method"] = e.method;
  j["code"] = e.code;
  j["latencyMs"] = absl::ToDoubleMilliseconds(e.latency);
  j["caller"] = e.caller;
  j["requestId"] = e.request_id;
  j["correlationId"] = e.correlation_id;
  if (!e.message.empty()) j["error"] = e.message;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void StderrRequestLog::Write(const RequestLogEntry& entry) {
  const std::string line = FormatRequestLogEntry(entry) + "\n";
  // One fwrite per line keeps lines whole when RPCs finish on several threads.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace partner::api
