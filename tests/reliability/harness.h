// What the reliability suites share: the emulator in this process over HTTPS (its state outlives
// any gateway), partner-gateway as a child process configured against it (so kill -9 is real),
// gRPC stubs, and the seeded data the traffic runs over.
#ifndef PARTNER_TESTS_RELIABILITY_HARNESS_H_
#define PARTNER_TESTS_RELIABILITY_HARNESS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "emulator/emulator.h"
#include "partner/v1/access_service.grpc.pb.h"
#include "partner/v1/customer_service.grpc.pb.h"
#include "partner/v1/subscription_service.grpc.pb.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace partner::reliability {

using ::partner::testing::TempDir;

// An HTTPS emulator in process. The CA file is written into `dir`.
struct TestEmulator {
  std::unique_ptr<emulator::Emulator> emulator;
  std::string ca_file;
};
absl::StatusOr<TestEmulator> StartEmulator(const TempDir& dir, emulator::EmulatorOptions options);

struct GatewaySettings {
  int retry_max_attempts = 6;
  int retry_initial_backoff_ms = 50;
  int retry_max_backoff_ms = 1000;
  int request_timeout_seconds = 30;
  int batch_concurrency = 16;
  int batch_per_customer_concurrency = 4;
};

// textproto of a non-sandbox gateway against `emulator`, files under `dir`; the audit log is
// dir.Path("audit.jsonl").
std::string GatewayConfig(const TempDir& dir, const TestEmulator& emulator, const GatewaySettings& settings);

// partner-gateway --config FILE as a child process, killed on destruction. Its stderr (the
// per-request log, which would flood the test output) goes to FILE.stderr.
class GatewayProcess {
 public:
  explicit GatewayProcess(const std::string& config_file);

  // Reads the start-up lines; false (with the reason in *error) if the process did not come up.
  bool WaitReady(std::string* error);
  int grpc_port() const { return grpc_port_; }
  int admin_port() const { return admin_port_; }
  void Kill(int signal);
  // Exit code, or 128 + signal.
  int Wait();

 private:
  testing::Subprocess process_;
  int grpc_port_ = 0;
  int admin_port_ = 0;
};

// GET http://127.0.0.1:port/path over plain HTTP/1.0; the whole response, headers included.
std::string HttpGet(int port, const std::string& path);
// The value of an unlabelled or labelled Prometheus sample whose line starts with `prefix`,
// summed over matching lines; -1 when none matches.
double MetricSum(const std::string& metrics, const std::string& prefix);

struct Stubs {
  explicit Stubs(int port);
  std::unique_ptr<v1::CustomerService::Stub> customers;
  std::unique_ptr<v1::SubscriptionService::Stub> subscriptions;
  std::unique_ptr<v1::AccessService::Stub> access;
};

// A customer with an Azure subscription and the users the traffic assigns roles to.
struct Target {
  std::string customer_id;
  std::string azure_subscription_id;
  std::vector<std::string> user_object_ids;
};
// Up to max_targets customers of the emulator that have an Azure subscription (asked through the
// gateway), each with up to `users_per_target` users.
absl::StatusOr<std::vector<Target>> DiscoverTargets(Stubs& stubs, emulator::Emulator& emulator, int max_targets,
                                                    int users_per_target);

// Role assignments that share scope + principal + role definition: none may ever exist.
std::vector<std::string> DuplicateAssignments(emulator::Emulator& emulator);

v1::AssignRoleRequest AssignRequest(const Target& target, const std::string& user_object_id, const std::string& role);

}  // namespace partner::reliability

#endif  // PARTNER_TESTS_RELIABILITY_HARNESS_H_
