#include "server/api/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/ops/error_reason.h"

namespace partner::api {
namespace {

absl::Status AuditUnavailable(absl::string_view what) {
  return ops::WithReason(absl::UnavailableError(absl::StrCat("audit log: ", what,
                                                             "; the mutation was refused")),
                         v1::ERROR_REASON_AUDIT_UNAVAILABLE);
}

}  // namespace

std::string FormatAuditRecord(const AuditRecord& r) {
  nlohmann::ordered_json j;
  j["time"] = absl::FormatTime(absl::RFC3339_full, r.time, absl::UTCTimeZone());
  j["caller"] = r.caller;
  j["method"] = r.method;
  j["requestId"] = r.request_id;
  j["correlationId"] = r.correlation_id;
  j["customerId"] = r.customer_id;
  if (!r.scope.empty()) j["scope"] = r.scope;
  if (!r.principal.empty()) j["principal"] = r.principal;
  if (!r.role.empty()) j["role"] = r.role;
  j["validateOnly"] = r.validate_only;
  j["outcome"] = r.outcome;
  if (!r.detail.empty()) j["detail"] = r.detail;
  if (!r.upstream_request_id.empty()) j["upstreamRequestId"] = r.upstream_request_id;
  // Invalid UTF-8 is replaced rather than thrown on: a record is never dropped.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

absl::StatusOr<std::unique_ptr<FileAuditLog>> FileAuditLog::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit_log_path: cannot open \"", path, "\": ", std::strerror(errno)));
  }
  return std::unique_ptr<FileAuditLog>(new FileAuditLog(path, fd));
}

FileAuditLog::~FileAuditLog() {
  absl::MutexLock lock(&mu_);
  if (fd_ >= 0) ::close(fd_);
}

absl::Status FileAuditLog::Append(const AuditRecord& record) {
  std::string line = FormatAuditRecord(record);
  line.push_back('\n');
  absl::MutexLock lock(&mu_);
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return AuditUnavailable(std::strerror(errno));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd_) != 0) return AuditUnavailable(std::strerror(errno));
  return absl::OkStatus();
}

}  // namespace partner::api
