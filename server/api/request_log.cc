#include "server/api/request_log.h"

#include <utility>

#include "server/api/json_line.h"

namespace partner::api {

std::string FormatRequestLogEntry(const RequestLogEntry& e) {
  JsonLine line;
  line.Time("time", e.time)
      .String("level", e.code == "OK" ? "info" : "warning")
      .String("msg", "rpc")
      .String("method", e.method)
      .String("code", e.code)
      .Milliseconds("latencyMs", e.latency)
      .String("caller", e.caller)
      .String("requestId", e.request_id)
      .String("correlationId", e.correlation_id);
  if (!e.message.empty()) line.String("error", e.message);
  return std::move(line).Finish();
}

void LineRequestLog::Write(const RequestLogEntry& entry) { write_line_(FormatRequestLogEntry(entry)); }

}  // namespace partner::api
