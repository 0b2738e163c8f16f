// Upstream hostility (issue 7.6): every upstream response malformed, truncated, oversized or
// trickling -> the RPC fails cleanly, UNAVAILABLE or INTERNAL with a message naming the problem,
// within its deadline; the gateway keeps serving afterwards.
#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/reliability/harness.h"

namespace partner::reliability {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;

constexpr int kDeadlineSeconds = 10;

class UpstreamHostilityTest : public ::testing::TestWithParam<const char*> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    emulator::EmulatorOptions options;
    options.services.seed.customers = 4;
    absl::StatusOr<TestEmulator> started = StartEmulator(*dir_, options);
    ASSERT_TRUE(started.ok()) << started.status();
    emulator_ = new TestEmulator(*std::move(started));
    // A per-attempt timeout well inside the RPC deadline, so a trickling body ends as a failed
    // attempt (UNAVAILABLE) rather than as the caller's DEADLINE_EXCEEDED.
    GatewaySettings settings;
    settings.request_timeout_seconds = 2;
    settings.retry_max_attempts = 3;
    config_file_ = dir_->Write("gateway.textproto", GatewayConfig(*dir_, *emulator_, settings));
    gateway_ = new GatewayProcess(config_file_);
    std::string error;
    ASSERT_TRUE(gateway_->WaitReady(&error)) << error;
    stubs_ = new Stubs(gateway_->grpc_port());
    customer_id_ = emulator_->emulator->services().customers().front().id;
  }
  static void TearDownTestSuite() {
    delete stubs_;
    delete gateway_;
    delete emulator_;
    delete dir_;
  }
  void TearDown() override { emulator_->emulator->SetFaults({}); }

  // Sets the fault named by the test parameter at 100%.
  static void SetFault(const std::string& name) {
    emulator::FaultOptions faults;
    faults.oversized_bytes = 20 << 20;
    faults.slow_body_interval = absl::Milliseconds(100);
    if (name == "malformed") faults.malformed_rate = 1;
    if (name == "truncated") faults.truncated_rate = 1;
    if (name == "oversized") faults.oversized_rate = 1;
    if (name == "slow") faults.slow_body_rate = 1;
    emulator_->emulator->SetFaults(faults);
  }

  // Runs `call` with the deadline; checks the outcome and the time it took.
  template <typename Call>
  static void ExpectCleanFailure(const std::string& what, const Call& call) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(kDeadlineSeconds));
    const absl::Time start = absl::Now();
    const grpc::Status status = call(&context);
    const absl::Duration took = absl::Now() - start;
    SCOPED_TRACE(absl::StrCat(what, ": code ", status.error_code(), " '", status.error_message(), "' after ",
                              absl::FormatDuration(took)));
    EXPECT_THAT(status.error_code(), AnyOf(Eq(grpc::StatusCode::UNAVAILABLE), Eq(grpc::StatusCode::INTERNAL)));
    EXPECT_FALSE(status.error_message().empty());
    EXPECT_LT(status.error_message().size(), 1000u) << "an upstream body leaked into the message";
    EXPECT_LE(took, absl::Seconds(kDeadlineSeconds + 1));
    std::printf("[hostility] %s: %d '%s' in %s\n", what.c_str(), status.error_code(), status.error_message().c_str(),
                absl::FormatDuration(took).c_str());
  }

  static TempDir* dir_;
  static TestEmulator* emulator_;
  static GatewayProcess* gateway_;
  static Stubs* stubs_;
  static std::string customer_id_;
  static std::string config_file_;
};

TempDir* UpstreamHostilityTest::dir_ = nullptr;
TestEmulator* UpstreamHostilityTest::emulator_ = nullptr;
GatewayProcess* UpstreamHostilityTest::gateway_ = nullptr;
Stubs* UpstreamHostilityTest::stubs_ = nullptr;
std::string UpstreamHostilityTest::customer_id_;
std::string UpstreamHostilityTest::config_file_;

TEST_P(UpstreamHostilityTest, EveryRouteFailsCleanlyWithinTheDeadlineAndTheGatewayKeepsServing) {
  const std::string fault = GetParam();
  auto list_customers = [](grpc::ClientContext* context) {
    v1::ListCustomersRequest request;
    request.set_page_size(10);
    v1::ListCustomersResponse response;
    return stubs_->customers->ListCustomers(context, request, &response);
  };
  auto get_customer = [](grpc::ClientContext* context) {
    v1::GetCustomerRequest request;
    request.set_customer_id(customer_id_);
    v1::GetCustomerResponse response;
    return stubs_->customers->GetCustomer(context, request, &response);
  };
  auto list_azure = [](grpc::ClientContext* context) {
    v1::ListAzureSubscriptionsRequest request;
    request.set_customer_id(customer_id_);
    v1::ListAzureSubscriptionsResponse response;
    return stubs_->subscriptions->ListAzureSubscriptions(context, request, &response);
  };
  // Tokens for Partner Center and ARM come first, so the fault meets the data routes.
  for (auto* call : {+list_customers, +list_azure}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(kDeadlineSeconds));
    ASSERT_TRUE(call(&context).ok());
  }
  SetFault(fault);
  ExpectCleanFailure(fault + " ListCustomers", list_customers);
  ExpectCleanFailure(fault + " GetCustomer", get_customer);
  ExpectCleanFailure(fault + " ListAzureSubscriptions", list_azure);
  {
    // A gateway with no token yet meets the fault at the token endpoint first.
    GatewayProcess cold(config_file_);
    std::string error;
    ASSERT_TRUE(cold.WaitReady(&error)) << error;
    Stubs cold_stubs(cold.grpc_port());
    ExpectCleanFailure(fault + " ListCustomers, token endpoint", [&](grpc::ClientContext* context) {
      v1::ListCustomersRequest request;
      v1::ListCustomersResponse response;
      return cold_stubs.customers->ListCustomers(context, request, &response);
    });
  }
  emulator_->emulator->SetFaults({});
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(kDeadlineSeconds));
  EXPECT_TRUE(list_customers(&context).ok()) << "the gateway stopped serving after the " << fault << " fault";
}

INSTANTIATE_TEST_SUITE_P(Faults, UpstreamHostilityTest, ::testing::Values("malformed", "truncated", "oversized", "slow"),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

}  // namespace
}  // namespace partner::reliability
