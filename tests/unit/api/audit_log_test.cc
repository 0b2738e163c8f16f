#include "server/api/audit_log.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

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
    EXPECT_THAT((*log)->AppendAndWait(r), IsOk());
    r.outcome = "PERMISSION_DENIED";
    EXPECT_THAT((*log)->AppendAndWait(r), IsOk());
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
  absl::Status s = (*full)->AppendAndWait(AuditRecord{});
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(ops::GetReason(s), v1::ERROR_REASON_AUDIT_UNAVAILABLE);
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class TempAuditFile {
 public:
  TempAuditFile() {
    char tmpl[] = "/tmp/partner-audit-test-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    if (fd >= 0) ::close(fd);
    path_ = tmpl;
  }
  ~TempAuditFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(AuditLogTest, EachRecordIsInTheFileWhenItsCallerIsTold) {
  TempAuditFile file;
  absl::StatusOr<std::unique_ptr<FileAuditLog>> log = FileAuditLog::Open(file.path());
  ASSERT_THAT(log.status(), IsOk());
  constexpr int kThreads = 8;
  constexpr int kRecordsEach = 200;
  absl::Mutex mu;
  int told = 0;
  std::vector<std::string> missing;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRecordsEach; ++i) {
        AuditRecord r;
        r.request_id = absl::StrCat("t", t, "-", i);
        r.outcome = "OK";
        (*log)->Append(r, [&, id = r.request_id, path = file.path()](absl::Status written) {
          // Read back at the moment the caller learns the record is durable.
          const std::vector<std::string> lines = ReadLines(path);
          const bool present = std::any_of(lines.begin(), lines.end(), [&](const std::string& line) {
            return absl::StrContains(line, absl::StrCat("\"", id, "\""));
          });
          absl::MutexLock lock(&mu);
          ++told;
          if (!written.ok() || !present) missing.push_back(id);
        });
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  log->reset();  // writes what is still queued

  EXPECT_EQ(told, kThreads * kRecordsEach);
  EXPECT_THAT(missing, ::testing::IsEmpty());
  const std::vector<std::string> lines = ReadLines(file.path());
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kRecordsEach));
  for (const std::string& line : lines) EXPECT_FALSE(nlohmann::json::parse(line, nullptr, false).is_discarded()) << line;
}

TEST(AuditLogTest, RecordsQueuedDuringAWriteShareTheNextOne) {
  TempAuditFile file;
  absl::StatusOr<std::unique_ptr<FileAuditLog>> log = FileAuditLog::Open(file.path());
  ASSERT_THAT(log.status(), IsOk());
  // The first notification blocks the writer until all ten records are queued, so at most two
  // batches exist: each batch is one write and one fsync, and every record of a batch sees the
  // same file when it is told. One fsync per record would show ten different line counts.
  absl::Mutex mu;
  std::vector<size_t> lines_when_told;
  auto tell = [&](absl::Status written) {
    EXPECT_THAT(written, IsOk());
    absl::MutexLock lock(&mu);
    lines_when_told.push_back(ReadLines(file.path()).size());
  };
  {
    absl::MutexLock lock(&mu);
    for (int i = 0; i < 10; ++i) (*log)->Append(AuditRecord{}, tell);
  }
  log->reset();
  ASSERT_EQ(lines_when_told.size(), 10u);
  const std::set<size_t> distinct(lines_when_told.begin(), lines_when_told.end());
  EXPECT_LE(distinct.size(), 2u);
  EXPECT_EQ(lines_when_told.back(), 10u);
}

// A log whose commit interval outlasts any test, with its first record written: until the log
// is destroyed, records appended without waiting stay queued.
std::unique_ptr<FileAuditLog> OpenWithAnHourLongInterval(const std::string& path) {
  absl::StatusOr<std::unique_ptr<FileAuditLog>> log =
      FileAuditLog::Open(path, FileAuditLogOptions{.commit_interval = absl::Hours(1)});
  EXPECT_THAT(log.status(), IsOk());
  if (!log.ok()) return nullptr;
  // The first record follows no fsync, so it is written at once.
  EXPECT_THAT((*log)->AppendAndWait(AuditRecord{}), IsOk());
  return *std::move(log);
}

TEST(AuditLogTest, RecordsArrivingWithinACommitIntervalOfAnFsyncShareTheNextOne) {
  TempAuditFile file;
  std::unique_ptr<FileAuditLog> log = OpenWithAnHourLongInterval(file.path());
  ASSERT_NE(log, nullptr);
  // The next ten arrive within the hour after that fsync: none is written until the interval
  // ends (here: until shutdown cuts it short), and then all ten go in one write and one fsync.
  absl::Mutex mu;
  std::vector<size_t> lines_when_told;
  for (int i = 0; i < 10; ++i) {
    log->Append(AuditRecord{}, [&](absl::Status written) {
      EXPECT_THAT(written, IsOk());
      absl::MutexLock lock(&mu);
      lines_when_told.push_back(ReadLines(file.path()).size());
    });
  }
  EXPECT_EQ(ReadLines(file.path()).size(), 1u);
  log.reset();
  EXPECT_THAT(lines_when_told, ::testing::Each(11u));
  EXPECT_EQ(lines_when_told.size(), 10u);
}

TEST(AuditLogTest, ARecordAThreadWaitsForCutsTheCommitIntervalShort) {
  TempAuditFile file;
  std::unique_ptr<FileAuditLog> log = OpenWithAnHourLongInterval(file.path());
  ASSERT_NE(log, nullptr);
  std::atomic<int> told{0};
  for (int i = 0; i < 3; ++i) log->Append(AuditRecord{}, [&](absl::Status) { ++told; });
  // A denial is audited on the gRPC thread that refuses the call, which waits for the record:
  // it is written now, with the records queued before it, not at the end of the hour.
  absl::Notification waited;
  absl::Status denial_written = absl::UnknownError("not written");
  std::thread denial([&] {
    denial_written = log->AppendAndWait(AuditRecord{});
    waited.Notify();
  });
  const bool in_time = waited.WaitForNotificationWithTimeout(absl::Seconds(10));
  EXPECT_EQ(ReadLines(file.path()).size(), 5u);
  log.reset();  // releases the waiting thread if the interval held it
  denial.join();
  EXPECT_TRUE(in_time) << "the waiting thread was held for the commit interval";
  EXPECT_THAT(denial_written, IsOk());
  EXPECT_EQ(told.load(), 3);
}

TEST(AuditLogTest, WaitingForARecordFromInsideANotificationWritesItThere) {
  TempAuditFile file;
  absl::StatusOr<std::unique_ptr<FileAuditLog>> log = FileAuditLog::Open(file.path());
  ASSERT_THAT(log.status(), IsOk());
  AuditRecord inner;
  inner.request_id = "inner";
  absl::Notification done;
  absl::Status inner_written = absl::UnknownError("not called");
  (*log)->Append(AuditRecord{}, [&](absl::Status) {
    inner_written = (*log)->AppendAndWait(inner);
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10))) << "AppendAndWait deadlocked on the writer";
  EXPECT_THAT(inner_written, IsOk());
  log->reset();
  const std::vector<std::string> lines = ReadLines(file.path());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], ::testing::HasSubstr("\"inner\""));
}

TEST(AuditLogTest, ShutdownWritesWhatIsQueued) {
  TempAuditFile file;
  std::atomic<int> ok{0};
  {
    absl::StatusOr<std::unique_ptr<FileAuditLog>> log = FileAuditLog::Open(file.path());
    ASSERT_THAT(log.status(), IsOk());
    for (int i = 0; i < 100; ++i) {
      (*log)->Append(AuditRecord{}, [&](absl::Status written) {
        if (written.ok()) ++ok;
      });
    }
  }
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(ReadLines(file.path()).size(), 100u);
}

}  // namespace
}  // namespace partner::api
