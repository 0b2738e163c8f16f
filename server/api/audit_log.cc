#include "server/api/audit_log.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "server/api/json_line.h"
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
  JsonLine line;
  line.Time("time", r.time)
      .String("caller", r.caller)
      .String("method", r.method)
      .String("requestId", r.request_id)
      .String("correlationId", r.correlation_id)
      .String("customerId", r.customer_id);
  if (!r.scope.empty()) line.String("scope", r.scope);
  if (!r.principal.empty()) line.String("principal", r.principal);
  if (!r.role.empty()) line.String("role", r.role);
  line.Bool("validateOnly", r.validate_only).String("outcome", r.outcome);
  if (!r.detail.empty()) line.String("detail", r.detail);
  if (!r.upstream_request_id.empty()) line.String("upstreamRequestId", r.upstream_request_id);
  // Invalid UTF-8 is replaced, never refused: a record is never dropped.
  return std::move(line).Finish();
}

absl::StatusOr<std::unique_ptr<FileAuditLog>> FileAuditLog::Open(const std::string& path,
                                                                 FileAuditLogOptions options) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit_log_path: cannot open \"", path, "\": ", std::strerror(errno)));
  }
  return std::unique_ptr<FileAuditLog>(new FileAuditLog(path, fd, options));
}

FileAuditLog::~FileAuditLog() {
  std::thread writer;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    writer = std::move(writer_);
  }
  if (writer.joinable()) writer.join();
  ::close(fd_);
}

absl::Status AuditLog::WaitFor(absl::FunctionRef<void(AuditDone)> append) {
  absl::Notification written;
  absl::Status outcome;
  append([&](absl::Status status) {
    outcome = std::move(status);
    written.Notify();
  });
  written.WaitForNotification();
  return outcome;
}

absl::Status AuditLog::AppendAndWait(AuditRecord record) {
  return WaitFor([&](AuditDone written) { Append(std::move(record), std::move(written)); });
}

void FileAuditLog::Append(AuditRecord record, AuditDone durable) {
  Enqueue(std::move(record), std::move(durable), /*waited_for=*/false);
}

void FileAuditLog::Enqueue(AuditRecord record, AuditDone durable, bool waited_for) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      queue_.push_back({std::move(record), std::move(durable)});
      waited_for_queued_ = waited_for_queued_ || waited_for;
      if (!writer_.joinable()) {
        writer_ = std::thread([this] { WriteQueued(); });
        pthread_setname_np(writer_.native_handle(), "audit-writer");
      }
      return;
    }
  }
  std::move(durable)(AuditUnavailable("the gateway is shutting down"));
}

void FileAuditLog::WriteQueued() {
  for (;;) {
    std::vector<Pending> batch;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &FileAuditLog::HasWork));
      if (queue_.empty()) return;  // stopping, and everything queued is written
      mu_.AwaitWithDeadline(absl::Condition(this, &FileAuditLog::IntervalCutShort),
                            last_sync_ + options_.commit_interval);
      batch.swap(queue_);
      waited_for_queued_ = false;
    }
    last_sync_ = absl::Now();
    std::string lines;
    for (const Pending& pending : batch) absl::StrAppend(&lines, FormatAuditRecord(pending.record), "\n");
    const absl::Status written = WriteDurably(lines, batch.size());
    for (Pending& pending : batch) std::move(pending.durable)(written);
  }
}

absl::Status FileAuditLog::AppendAndWait(AuditRecord record) {
  bool on_writer = false;
  {
    absl::MutexLock lock(&mu_);
    on_writer = writer_.get_id() == std::this_thread::get_id();
  }
  if (on_writer) return WriteDurably(absl::StrCat(FormatAuditRecord(record), "\n"), 1);
  return WaitFor([&](AuditDone written) { Enqueue(std::move(record), std::move(written), /*waited_for=*/true); });
}

absl::Status FileAuditLog::WriteDurably(const std::string& lines, size_t records) {
  absl::Status status;
  size_t written = 0;
  while (status.ok() && written < lines.size()) {
    const ssize_t n = ::write(fd_, lines.data() + written, lines.size() - written);
    if (n >= 0) {
      written += static_cast<size_t>(n);
    } else if (errno != EINTR) {
      status = AuditUnavailable(std::strerror(errno));
    }
  }
  if (status.ok() && ::fsync(fd_) != 0) status = AuditUnavailable(std::strerror(errno));
  if (!status.ok()) {
    // Never silently dropped: the records go to stderr with the reason they missed the log.
    std::fprintf(stderr, "partner-gateway: audit write failed (%s) for %zu records:\n%s",
                 std::string(status.message()).c_str(), records, lines.c_str());
  }
  return status;
}

}  // namespace partner::api
