// Append-only audit log of mutations: one JSON object per line, written and fsynced before the
// RPC answers. A record that cannot be written fails the mutation closed (UNAVAILABLE with
// ERROR_REASON_AUDIT_UNAVAILABLE). Records hold identifiers only, never secrets or passwords.
#ifndef PARTNER_SERVER_API_AUDIT_LOG_H_
#define PARTNER_SERVER_API_AUDIT_LOG_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
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

class AuditLog {
 public:
  virtual ~AuditLog() = default;
  // Returns once the record is durable.
  virtual absl::Status Append(const AuditRecord& record) = 0;
};

// Appends to a file (created 0600 when absent), fsync after every record.
class FileAuditLog final : public AuditLog {
 public:
  static absl::StatusOr<std::unique_ptr<FileAuditLog>> Open(const std::string& path);
  ~FileAuditLog() override;
  absl::Status Append(const AuditRecord& record) override;
  const std::string& path() const { return path_; }

 private:
  FileAuditLog(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  const std::string path_;
  absl::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_);
};

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_AUDIT_LOG_H_
