// Append-only audit log of mutations: one JSON object per line, written and fsynced before the
// RPC answers. A record that cannot be written fails the mutation closed (UNAVAILABLE with
// ERROR_REASON_AUDIT_UNAVAILABLE). Records hold identifiers only, never secrets or passwords.
#ifndef PARTNER_SERVER_API_AUDIT_LOG_H_
#define PARTNER_SERVER_API_AUDIT_LOG_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace partner::api {

struct AuditRecord {
  absl::Time time;
  std::string caller;
  std::string method;  // e.g. "AssignRole"
  std::string request_id;
  std::string correlation_id;
  std::string customer_id;
  std::string scope;
  std::string principal;
  std::string role;
  bool validate_only = false;
  // "OK", or the status code name, e.g. "PERMISSION_DENIED" for a denied mutation.
  std::string outcome;
  std::string detail;  // short, e.g. "already_existed", or the error message
  std::string upstream_request_id;
};

// The line written for a record (no trailing newline).
std::string FormatAuditRecord(const AuditRecord& record);

// Told the outcome of one record: OK once it is durable, else why it is not.
using AuditDone = absl::AnyInvocable<void(absl::Status) &&>;

class AuditLog {
 public:
  virtual ~AuditLog() = default;
  // Queues the record; `durable` runs once it is on disk, or with the error that kept it off,
  // possibly on a thread of the log's.
  virtual void Append(AuditRecord record, AuditDone durable) = 0;
  // Append, waiting for the outcome.
  virtual absl::Status AppendAndWait(AuditRecord record);

 protected:
  // Calls `append` with a callback and waits until the callback has run; its status.
  static absl::Status WaitFor(absl::FunctionRef<void(AuditDone)> append);
};

struct FileAuditLogOptions {
  // Under load, fsyncs start at most this far apart, and the records that arrive in between share
  // the next one. An fsync costs ~130 µs of CPU whether it carries one record or fifty, so a
  // stream of AssignRole calls costs a bounded number of them per second; a record that arrives
  // after a quiet spell is written at once, and so is one a thread waits for (AppendAndWait: a
  // denial, audited on a gRPC thread), which must not hold that thread for the interval.
  absl::Duration commit_interval = absl::Milliseconds(10);
};

// Appends to a file (created 0600 when absent). A writer thread, started by the first record,
// writes whatever has queued since its last fsync and fsyncs once for all of it (group commit):
// no caller's thread waits on the disk, and under load one fsync makes many records durable.
// A batch that cannot be written fails every record in it and goes to stderr instead.
class FileAuditLog final : public AuditLog {
 public:
  static absl::StatusOr<std::unique_ptr<FileAuditLog>> Open(const std::string& path,
                                                            FileAuditLogOptions options = {});
  // Writes what is queued, then stops the writer.
  ~FileAuditLog() override;
  void Append(AuditRecord record, AuditDone durable) override;
  // Not held by the commit interval. On the writer thread itself (an AuditDone whose work
  // completes another call, e.g. a batch item sharing a failed lookup) the record is written
  // inline: queueing it would wait forever.
  absl::Status AppendAndWait(AuditRecord record) override;
  const std::string& path() const { return path_; }

 private:
  struct Pending {
    AuditRecord record;
    AuditDone durable;
  };
  void Enqueue(AuditRecord record, AuditDone durable, bool waited_for);
  bool IntervalCutShort() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || waited_for_queued_; }

  FileAuditLog(std::string path, int fd, FileAuditLogOptions options)
      : path_(std::move(path)), fd_(fd), options_(options) {}
  void WriteQueued();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || stopping_; }
  // Writes and fsyncs the lines (to stderr too when that fails); only the writer thread
  // touches the file.
  absl::Status WriteDurably(const std::string& lines, size_t records);

  const std::string path_;
  const int fd_;
  const FileAuditLogOptions options_;
  // When the last fsync started; only the writer thread touches it.
  absl::Time last_sync_ = absl::InfinitePast();
  absl::Mutex mu_;
  std::vector<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // A queued record has a thread blocked on it.
  bool waited_for_queued_ ABSL_GUARDED_BY(mu_) = false;
  std::thread writer_ ABSL_GUARDED_BY(mu_);
};

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_AUDIT_LOG_H_
