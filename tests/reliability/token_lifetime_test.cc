// Token lifetime (issue 7.4): the emulator's access tokens live 5 s; 60 s of continuous traffic
// through partner-gateway -> zero failures, no expired token ever reaches an upstream, and tokens
// are refreshed ahead of expiry. Label `reliability`: it runs a minute by design.
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

constexpr absl::Duration kTokenLifetime = absl::Seconds(5);
constexpr absl::Duration kTraffic = absl::Seconds(60);
constexpr int kConcurrency = 4;

TEST(TokenLifetimeTest, ShortLivedTokensAreRefreshedAheadWithoutOneFailedCall) {
  TempDir dir;
  emulator::EmulatorOptions options;
  options.services.seed.customers = 8;
  options.services.token_lifetime = kTokenLifetime;
  options.services.arm_throttling = false;
  absl::StatusOr<TestEmulator> emulator = StartEmulator(dir, options);
  ASSERT_TRUE(emulator.ok()) << emulator.status();
  GatewayProcess gateway(dir.Write("gateway.textproto", GatewayConfig(dir, *emulator, GatewaySettings{})));
  std::string error;
  ASSERT_TRUE(gateway.WaitReady(&error)) << error;
  Stubs stubs(gateway.grpc_port());
  absl::StatusOr<std::vector<Target>> targets = DiscoverTargets(stubs, *emulator->emulator, 4, 2);
  ASSERT_TRUE(targets.ok()) << targets.status();

  std::atomic<int> calls{0};
  std::mutex mu;
  std::vector<std::string> failures;
  const absl::Time start = absl::Now();
  const absl::Time until = start + kTraffic;
  auto worker = [&](int id) {
    for (int i = id; absl::Now() < until; i += kConcurrency) {
      const Target& target = (*targets)[static_cast<std::size_t>(i) % targets->size()];
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      grpc::Status status;
      // Partner Center, ARM and Graph tokens (the last for the UPN lookup) all stay in use.
      if (i % 3 == 0) {
        v1::ListCustomersRequest request;
        v1::ListCustomersResponse response;
        status = stubs.customers->ListCustomers(&context, request, &response);
      } else if (i % 3 == 1) {
        v1::ListRoleAssignmentsRequest request;
        request.set_customer_id(target.customer_id);
        request.set_azure_subscription_id(target.azure_subscription_id);
        v1::ListRoleAssignmentsResponse response;
        status = stubs.access->ListRoleAssignments(&context, request, &response);
      } else {
        v1::ListCustomerUsersRequest request;
        request.set_customer_id(target.customer_id);
        v1::ListCustomerUsersResponse response;
        status = stubs.customers->ListCustomerUsers(&context, request, &response);
      }
      ++calls;
      if (!status.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        failures.push_back(absl::StrCat(absl::FormatDuration(absl::Now() - start), " call ", i, ": ",
                                        status.error_code(), " ", status.error_message()));
      }
      // A steady stream rather than a flood: the point is time passing, not load.
      absl::SleepFor(absl::Milliseconds(20));
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kConcurrency; ++t) threads.emplace_back(worker, t);
  for (std::thread& t : threads) t.join();

  const emulator::Counters counters = emulator->emulator->services().counters();
  const std::string metrics = HttpGet(gateway.admin_port(), "/metrics");
  const double refreshed_ahead = MetricSum(metrics, "partner_token_refreshes_ahead_total");
  std::printf("[tokens] %d calls in %s, %zu failed; %lld tokens issued, %lld upstream rejections, %.0f refreshed ahead\n",
              calls.load(), absl::FormatDuration(absl::Now() - start).c_str(), failures.size(),
              static_cast<long long>(counters.tokens_issued), static_cast<long long>(counters.rejected_tokens),
              refreshed_ahead);
  for (const auto& [tenant, issued] : counters.tokens_by_tenant) std::printf("[tokens]   %s: %lld\n", tenant.c_str(), static_cast<long long>(issued));
  EXPECT_THAT(failures, ::testing::IsEmpty());
  EXPECT_EQ(counters.rejected_tokens, 0) << "an expired or unknown token reached an upstream";
  EXPECT_GT(refreshed_ahead, 0);
  // Tokens are reused while valid: the token endpoint is not asked once per call.
  EXPECT_LT(counters.tokens_issued, calls.load() / 4);
  // Over 60 s a 5 s token is replaced about a dozen times per tenant and scope.
  for (const auto& [tenant, issued] : counters.tokens_by_tenant) EXPECT_GE(issued, 10) << tenant;
}

}  // namespace
}  // namespace partner::reliability
