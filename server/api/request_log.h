// Structured request logs: one JSON object per finished RPC (time, method, code, latency, caller,
// request and correlation ids, the error message). Never request bodies, tokens or secrets.
#ifndef PARTNER_SERVER_API_REQUEST_LOG_H_
#define PARTNER_SERVER_API_REQUEST_LOG_H_

#include <functional>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace partner::api {

struct RequestLogEntry {
  absl::Time time;
  std::string method;
  std::string code;  // gRPC status code name
  absl::Duration latency;
  std::string caller;
  std::string request_id;
  std::string correlation_id;
  std::string message;  // the error message; empty on success
};

std::string FormatRequestLogEntry(const RequestLogEntry& entry);

class RequestLog {
 public:
  virtual ~RequestLog() = default;
  virtual void Write(const RequestLogEntry& entry) = 0;
};

// One JSON line per entry, handed to `write_line` without its newline (the gateway's
// BatchedLineWriter on stderr).
class LineRequestLog final : public RequestLog {
 public:
  explicit LineRequestLog(std::function<void(absl::string_view)> write_line) : write_line_(std::move(write_line)) {}
  void Write(const RequestLogEntry& entry) override;

 private:
  const std::function<void(absl::string_view)> write_line_;
};

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_REQUEST_LOG_H_
