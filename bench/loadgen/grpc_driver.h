// Drives the gateway (or the echo service) over gRPC with the callback API: no thread waits for
// a response, so one client process holds tens of thousands of calls in flight.
#ifndef PARTNER_BENCH_LOADGEN_GRPC_DRIVER_H_
#define PARTNER_BENCH_LOADGEN_GRPC_DRIVER_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/loadgen/stats.h"
#include "bench/loadgen/workload.h"
#include "nlohmann/json.hpp"
#include "partner/v1/access_service.grpc.pb.h"
#include "partner/v1/customer_service.grpc.pb.h"
#include "partner/v1/subscription_service.grpc.pb.h"

namespace partner::bench {

struct GrpcOptions {
  std::string target;   // host:port
  int channels = 4;     // separate HTTP/2 connections, calls spread over them in turn
  absl::Duration deadline = absl::Seconds(60);
  int page_size = 100;  // ListCustomers
};

// A customer tenant's user principal names, found some other way than through the target.
using UsersLookup = std::function<absl::StatusOr<std::vector<std::string>>(const std::string& customer_id)>;

class GrpcDriver {
 public:
  explicit GrpcDriver(const GrpcOptions& options);

  // Finds `customers` customers through the gateway, after skipping the first `offset` listed;
  // with `details`, only those that have an Azure subscription and users (what AssignRole needs),
  // looked up 16 at a time. `users`, when set, replaces ListCustomerUsers (which would fetch the
  // tenant's Graph token through the gateway).
  absl::Status Discover(int customers, bool details, int offset, const UsersLookup& users = nullptr);
  // Instead of Discover(), for a target that serves only GetCustomer (the echo service).
  void SetCustomers(std::vector<CustomerTarget> customers) { customers_ = std::move(customers); }
  const std::vector<CustomerTarget>& customers() const { return customers_; }

  // Closed loop: `in_flight` calls outstanding at all times; opens and closes `window`.
  void RunClosed(const Mix& mix, int in_flight, const RunLimits& limits, MeasuredWindow* window);
  // Open loop: calls started at `rate` per second whatever the responses do; opens and closes
  // `window`.
  void RunOpen(const Mix& mix, double rate, const RunLimits& limits, MeasuredWindow* window);

  // One BatchAssignRoles stream of `items` AssignItem()s; its wall time and per-item outcomes.
  nlohmann::json RunBatch(int items);
  // The same first `items` items as AssignRole calls one at a time, as a script would make them.
  nlohmann::json RunSequential(int items);

 private:
  // Starts one call of `method` (the `sequence`-th of the run); `done` gets its status code.
  void Start(Method method, std::uint64_t sequence, std::function<void(int)> done);
  template <typename Stub>
  Stub& Pick(std::vector<std::unique_ptr<Stub>>& stubs, std::uint64_t sequence) {
    return *stubs[sequence % stubs.size()];
  }

  GrpcOptions options_;
  std::vector<std::unique_ptr<v1::CustomerService::Stub>> customer_stubs_;
  std::vector<std::unique_ptr<v1::SubscriptionService::Stub>> subscription_stubs_;
  std::vector<std::unique_ptr<v1::AccessService::Stub>> access_stubs_;
  std::vector<CustomerTarget> customers_;
};

}  // namespace partner::bench

#endif  // PARTNER_BENCH_LOADGEN_GRPC_DRIVER_H_
