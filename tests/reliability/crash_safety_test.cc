// Crash safety (issue 7.3): partner-gateway is killed with SIGKILL in the middle of a 500-item
// BatchAssignRoles; a restarted gateway reruns the same batch -> every item is assigned exactly
// once upstream, and the audit log holds only whole JSON lines.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "emulator/world.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/reliability/harness.h"

namespace partner::reliability {
namespace {

constexpr int kItems = 500;
constexpr int kKillAfterResults = 150;
const char* const kRoles[] = {"Reader", "Contributor", "Owner", "User Access Administrator",
                              "Role Based Access Control Administrator"};

// Every line ends in '\n' and is a JSON object. A crash may lose the last record, never tear it.
void ExpectWholeJsonLines(const std::string& path, int* lines) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  const std::string text = content.str();
  ASSERT_FALSE(text.empty()) << "no audit record in " << path;
  EXPECT_EQ(text.back(), '\n') << "torn last line: " << text.substr(text.rfind('\n') + 1);
  std::size_t start = 0;
  *lines = 0;
  for (std::size_t end = text.find('\n'); end != std::string::npos; start = end + 1, end = text.find('\n', start)) {
    const std::string line = text.substr(start, end - start);
    EXPECT_TRUE(nlohmann::json::parse(line, nullptr, false).is_object()) << "line " << *lines + 1 << ": " << line;
    ++*lines;
  }
}

struct BatchOutcome {
  int results = 0;
  int created = 0;
  int already_existed = 0;
  int failed = 0;
  bool summary = false;
  grpc::Status status;
};

// Streams the batch; after `kill_after` item results (0: never) SIGKILLs `gateway`.
BatchOutcome RunBatch(Stubs& stubs, const v1::BatchAssignRolesRequest& batch, GatewayProcess* gateway, int kill_after) {
  BatchOutcome outcome;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  std::unique_ptr<grpc::ClientReader<v1::BatchAssignRolesResponse>> reader = stubs.access->BatchAssignRoles(&context, batch);
  v1::BatchAssignRolesResponse response;
  while (reader->Read(&response)) {
    if (response.has_summary()) {
      outcome.summary = true;
      continue;
    }
    ++outcome.results;
    if (response.item().error_code() != 0) {
      ++outcome.failed;
      ADD_FAILURE() << "item " << response.item().index() << ": " << response.item().error_message();
    } else if (response.item().response().already_existed()) {
      ++outcome.already_existed;
    } else {
      ++outcome.created;
    }
    if (kill_after > 0 && outcome.results == kill_after) gateway->Kill(SIGKILL);
  }
  outcome.status = reader->Finish();
  return outcome;
}

TEST(CrashSafetyTest, KilledMidBatchThenRerunAssignsEveryItemExactlyOnce) {
  TempDir dir;
  emulator::EmulatorOptions options;
  options.services.seed.customers = 24;
  options.services.arm_throttling = false;
  absl::StatusOr<TestEmulator> emulator = StartEmulator(dir, options);
  ASSERT_TRUE(emulator.ok()) << emulator.status();
  const std::string config = dir.Write("gateway.textproto", GatewayConfig(dir, *emulator, GatewaySettings{}));

  auto gateway = std::make_unique<GatewayProcess>(config);
  std::string error;
  ASSERT_TRUE(gateway->WaitReady(&error)) << error;
  auto stubs = std::make_unique<Stubs>(gateway->grpc_port());
  absl::StatusOr<std::vector<Target>> targets = DiscoverTargets(*stubs, *emulator->emulator, 24, 12);
  ASSERT_TRUE(targets.ok()) << targets.status();
  v1::BatchAssignRolesRequest batch;
  for (const char* role : kRoles) {
    for (const Target& target : *targets) {
      for (const std::string& user : target.user_object_ids) {
        if (batch.items_size() < kItems) *batch.add_items() = AssignRequest(target, user, role);
      }
    }
  }
  ASSERT_EQ(batch.items_size(), kItems) << "the seeded world has too few users";
  // Latency stretches the batch over seconds, so the kill lands with writes in flight.
  emulator::FaultOptions slow;
  slow.latency = absl::Milliseconds(40);
  slow.latency_jitter = absl::Milliseconds(20);
  emulator->emulator->SetFaults(slow);

  const absl::Time start = absl::Now();
  const BatchOutcome first = RunBatch(*stubs, batch, gateway.get(), kKillAfterResults);
  const absl::Duration until_kill = absl::Now() - start;
  EXPECT_EQ(gateway->Wait(), 128 + SIGKILL);
  EXPECT_FALSE(first.status.ok());
  EXPECT_FALSE(first.summary);
  // Requests the gateway sent just before it died may still sit in the emulator's socket buffers.
  absl::SleepFor(absl::Milliseconds(500));
  const std::size_t upstream_after_kill = emulator->emulator->services().role_assignments().size();
  int lines_after_kill = 0;
  ExpectWholeJsonLines(dir.Path("audit.jsonl"), &lines_after_kill);

  gateway = std::make_unique<GatewayProcess>(config);
  ASSERT_TRUE(gateway->WaitReady(&error)) << error;
  stubs = std::make_unique<Stubs>(gateway->grpc_port());
  const absl::Time rerun_start = absl::Now();
  const BatchOutcome second = RunBatch(*stubs, batch, nullptr, 0);
  const absl::Duration rerun = absl::Now() - rerun_start;
  EXPECT_TRUE(second.status.ok()) << second.status.error_message();
  EXPECT_TRUE(second.summary);
  EXPECT_EQ(second.results, kItems);
  EXPECT_EQ(second.failed, 0);
  // What the killed gateway had already written upstream is found, not written again.
  EXPECT_EQ(second.already_existed, static_cast<int>(upstream_after_kill));
  EXPECT_EQ(second.created, kItems - static_cast<int>(upstream_after_kill));

  std::map<std::string, std::string> guid_of;
  for (const emulator::RoleDefinition& role : emulator::BuiltInRoles()) guid_of[role.role_name] = role.guid;
  std::map<std::string, int> assigned;  // scope principal role -> count
  for (const emulator::RoleAssignment& a : emulator->emulator->services().role_assignments()) {
    ++assigned[absl::StrCat(absl::AsciiStrToLower(a.scope), " ", a.principal_id, " ", a.role_definition_guid)];
  }
  for (const v1::AssignRoleRequest& item : batch.items()) {
    const std::string key = absl::StrCat("/subscriptions/", absl::AsciiStrToLower(item.azure_subscription_id()), " ",
                                         item.principal().object_id(), " ", guid_of[item.role().role_name()]);
    EXPECT_EQ(assigned[key], 1) << key;
  }
  EXPECT_EQ(emulator->emulator->services().role_assignments().size(), static_cast<std::size_t>(kItems));
  int lines_after_rerun = 0;
  ExpectWholeJsonLines(dir.Path("audit.jsonl"), &lines_after_rerun);
  EXPECT_GT(lines_after_rerun, lines_after_kill);
  std::printf("[crash] killed after %d results (%s); %zu assignments upstream at the kill, %d audit lines; rerun: "
              "%d created, %d already existed, %d failed in %s; %d audit lines\n",
              first.results, absl::FormatDuration(until_kill).c_str(), upstream_after_kill, lines_after_kill,
              second.created, second.already_existed, second.failed, absl::FormatDuration(rerun).c_str(),
              lines_after_rerun);
}

}  // namespace
}  // namespace partner::reliability
