#include "server/api/audit_log.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/ops/error_reason.h"
#include "tests/testing/status_matchers.h"

namespace partner::api {
namespace {

using ::partner::testing::IsOk;
using ::partner::testing::StatusIs;

TEST(AuditLogTest, AppendsOneParseableJsonLinePerRecord) {
  char tmpl[] = "/tmp/partner-audit-test-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  {
    absl::StatusOr<std::unique_ptr<FileAuditLog>> log = FileAuditLog::Open(tmpl);
    ASSERT_THAT(log.status(), IsOk());
    AuditRecord r;
    r.time = absl::FromUnixSeconds(1700000000);
    r.caller = "provisioning";
    r.method = "AssignRole";
    r.customer_id = "c";
    r.scope = "/subscriptions/s";
    r.principal = "mila@x.com\n\"quoted\"";
    r.role = "Reader";
    r.outcome = "OK";
    EXPECT_THAT((*log)->Append(r), IsOk());
    r.outcome = "PERMISSION_DENIED";
    EXPECT_THAT((*log)->Append(r), IsOk());
  }
  std::ifstream in(tmpl);
  std::string line;
  std::vector<nlohmann::json> records;
  while (std::getline(in, line)) records.push_back(nlohmann::json::parse(line, nullptr, false));
  ::unlink(tmpl);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_FALSE(records[0].is_discarded());
  EXPECT_EQ(records[0]["method"], "AssignRole");
  EXPECT_EQ(records[0]["principal"], "mila@x.com\n\"quoted\"");
  EXPECT_EQ(records[0]["time"], "2023-11-14T22:13:20+00:00");
  EXPECT_EQ(records[1]["outcome"], "PERMISSION_DENIED");
}

TEST(AuditLogTest, UnwritableLogFailsClosed) {
  EXPECT_THAT(FileAuditLog::Open("/nonexistent-dir/audit.jsonl").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // /dev/full accepts open and fails every write with ENOSPC.
  absl::StatusOr<std::unique_ptr<FileAuditLog>> full = FileAuditLog::Open("/dev/full");
  ASSERT_THAT(full.status(), IsOk());
  absl::Status s = (*full)->Append(AuditRecord{});
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(ops::GetReason(s), v1::ERROR_REASON_AUDIT_UNAVAILABLE);
}

}  // namespace
}  // namespace partner::api
