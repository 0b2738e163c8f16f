// Faults (issue 7.2): the emulator answers 10% 503, 5% 429 with Retry-After and resets 1% of
// connections; 2 000 mixed RPCs with a 10 s deadline each through partner-gateway -> at least
// 99.9% succeed, every failure carries a transient code, and no role assignment is duplicated.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/reliability/harness.h"

namespace partner::reliability {
namespace {

constexpr int kRpcs = 2000;
constexpr int kConcurrency = 16;
constexpr int kDeadlineSeconds = 10;
const char* const kRoles[] = {"Reader", "Contributor"};

// What the caller can do about a failure under injected faults: retry later. Anything else
// (INTERNAL, NOT_FOUND, ALREADY_EXISTS, ...) would be the gateway misreading a fault.
bool IsTransient(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::RESOURCE_EXHAUSTED ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

TEST(FaultsTest, MixedTrafficSucceedsThroughInjectedFaultsWithoutDuplicates) {
  TempDir dir;
  emulator::EmulatorOptions options;
  options.services.seed.customers = 16;
  // Only the injected faults throttle: ARM's own buckets would add 429s with minute-long waits.
  options.services.arm_throttling = false;
  absl::StatusOr<TestEmulator> emulator = StartEmulator(dir, options);
  ASSERT_TRUE(emulator.ok()) << emulator.status();
  // Six attempts with a short backoff: a request fails only if six rolls in a row hit a fault
  // (0.16^6, about 2e-5 per upstream request).
  GatewaySettings settings;
  settings.retry_max_attempts = 6;
  settings.retry_initial_backoff_ms = 50;
  settings.retry_max_backoff_ms = 1000;
  GatewayProcess gateway(dir.Write("gateway.textproto", GatewayConfig(dir, *emulator, settings)));
  std::string error;
  ASSERT_TRUE(gateway.WaitReady(&error)) << error;
  Stubs stubs(gateway.grpc_port());
  absl::StatusOr<std::vector<Target>> targets = DiscoverTargets(stubs, *emulator->emulator, 8, 4);
  ASSERT_TRUE(targets.ok()) << targets.status();

  emulator::FaultOptions faults;
  faults.unavailable_rate = 0.10;
  faults.throttle_rate = 0.05;
  faults.throttle_retry_after = absl::Milliseconds(300);
  faults.reset_rate = 0.01;
  faults.seed = 2026;
  emulator->emulator->SetFaults(faults);

  std::atomic<int> next{0};
  std::atomic<int> created{0};
  std::atomic<int> revoked{0};
  std::mutex mu;
  std::map<std::string, int> failures;  // "CODE message" -> count
  std::vector<std::string> wrong_codes;
  int ok = 0;
  absl::Duration slowest;
  const absl::Time start = absl::Now();
  auto worker = [&] {
    for (int i = next++; i < kRpcs; i = next++) {
      const Target& target = (*targets)[static_cast<std::size_t>(i) % targets->size()];
      const std::string& user = target.user_object_ids[static_cast<std::size_t>(i / 7) % target.user_object_ids.size()];
      const char* role = kRoles[(i / 3) % 2];
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(kDeadlineSeconds));
      grpc::Status status;
      const absl::Time began = absl::Now();
      switch (i % 5) {
        case 0: {
          v1::ListCustomersRequest request;
          request.set_page_size(20);
          v1::ListCustomersResponse response;
          status = stubs.customers->ListCustomers(&context, request, &response);
          break;
        }
        case 1: {
          v1::ListRoleAssignmentsRequest request;
          request.set_customer_id(target.customer_id);
          request.set_azure_subscription_id(target.azure_subscription_id);
          v1::ListRoleAssignmentsResponse response;
          status = stubs.access->ListRoleAssignments(&context, request, &response);
          break;
        }
        case 2: {
          v1::ListAzureSubscriptionsRequest request;
          request.set_customer_id(target.customer_id);
          v1::ListAzureSubscriptionsResponse response;
          status = stubs.subscriptions->ListAzureSubscriptions(&context, request, &response);
          break;
        }
        case 3: {
          v1::AssignRoleResponse response;
          status = stubs.access->AssignRole(&context, AssignRequest(target, user, role), &response);
          if (status.ok() && !response.already_existed()) ++created;
          break;
        }
        default: {
          v1::RevokeRoleRequest request;
          request.set_customer_id(target.customer_id);
          v1::RoleAssignmentTriple& triple = *request.mutable_triple();
          triple.set_azure_subscription_id(target.azure_subscription_id);
          triple.mutable_principal()->set_object_id(user);
          triple.mutable_role()->set_role_name(role);
          v1::RevokeRoleResponse response;
          status = stubs.access->RevokeRole(&context, request, &response);
          if (status.ok() && !response.already_absent()) ++revoked;
          break;
        }
      }
      const absl::Duration took = absl::Now() - began;
      std::lock_guard<std::mutex> lock(mu);
      slowest = std::max(slowest, took);
      if (status.ok()) {
        ++ok;
        continue;
      }
      ++failures[absl::StrCat(status.error_code(), " ", status.error_message())];
      if (!IsTransient(status.error_code())) {
        wrong_codes.push_back(absl::StrCat("rpc ", i, " kind ", i % 5, ": ", status.error_code(), " ", status.error_message()));
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kConcurrency; ++t) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  const absl::Duration elapsed = absl::Now() - start;
  emulator->emulator->SetFaults({});

  const emulator::Counters counters = emulator->emulator->services().counters();
  std::printf("[faults] %d/%d RPCs succeeded (%.3f%%) in %s, slowest %s, %lld upstream requests, %lld tokens\n", ok,
              kRpcs, 100.0 * ok / kRpcs, absl::FormatDuration(elapsed).c_str(), absl::FormatDuration(slowest).c_str(),
              static_cast<long long>(counters.upstream_requests), static_cast<long long>(counters.tokens_issued));
  std::printf("[faults] %d assignments created, %d revoked, %zu left\n", created.load(), revoked.load(),
              emulator->emulator->services().role_assignments().size());
  for (const auto& [failure, count] : failures) std::printf("[faults]   %d x %s\n", count, failure.c_str());
  EXPECT_GE(ok, kRpcs * 999 / 1000);
  EXPECT_THAT(wrong_codes, ::testing::IsEmpty());
  // The writes really happened: the mix is not just reads.
  EXPECT_GT(created.load(), 50);
  EXPECT_GT(revoked.load(), 50);
  EXPECT_THAT(DuplicateAssignments(*emulator->emulator), ::testing::IsEmpty());
  EXPECT_LE(slowest, absl::Seconds(kDeadlineSeconds + 1));
}

}  // namespace
}  // namespace partner::reliability
