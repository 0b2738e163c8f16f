// Drives the emulator's REST API directly with libcurl's multi interface over HTTP/1.1
// keep-alive: what a script calling Partner Center itself would cost, for the overhead ratio.
#ifndef PARTNER_BENCH_LOADGEN_REST_DRIVER_H_
#define PARTNER_BENCH_LOADGEN_REST_DRIVER_H_

#include <curl/curl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/loadgen/grpc_driver.h"
#include "bench/loadgen/stats.h"
#include "bench/loadgen/workload.h"

namespace partner::bench {

struct RestOptions {
  std::string base_url;  // the emulator, e.g. "https://127.0.0.1:PORT"
  std::string ca_file;   // PEM trusted for https; empty: the system store
  std::string partner_tenant_id = "5c1b2a3d-0e9f-4a8b-9c7d-6e5f4a3b2c1d";
  std::string app_id = "0d7e2f4a-91c3-4b6e-8a55-3f1e9c2b7d60";
  std::string client_secret = "sandbox-client-secret";
  int page_size = 100;
};

// One GET, body returned when the status is 2xx.
absl::StatusOr<std::string> HttpGet(const std::string& url, const std::string& ca_file);

class RestDriver {
 public:
  explicit RestDriver(RestOptions options);

  // Gets a Partner Center token and the first `customers` customer ids.
  absl::Status Prepare(int customers);
  // The user principal names of a customer tenant straight from Graph, with a token of that tenant
  // requested here: lets token-storm find AssignRole principals without the gateway ever touching
  // the tenant.
  absl::StatusOr<std::vector<std::string>> UserPrincipalNames(const std::string& tenant) const;
  // After Prepare: the Partner Center token and the customer ids it fetched.
  const std::string& token() const { return token_; }
  const std::vector<std::string>& customer_ids() const { return customer_ids_; }
  // Closed loop, as GrpcDriver::RunClosed; the mix may hold only get (GET /v1/customers/{id}) and
  // list (GET /v1/customers?size=N).
  absl::Status RunClosed(const Mix& mix, int in_flight, const RunLimits& limits, MeasuredWindow* window);
  // Open loop, as GrpcDriver::RunOpen: a call due every 1/rate seconds, latency counting from
  // then. HTTP/1.1 carries one request per connection at a time, so at most `max_in_flight`
  // transfers (and connections) run; due calls beyond them wait, as a script's would for a free
  // connection in its pool. The same mixes as RunClosed.
  absl::Status RunOpen(const Mix& mix, double rate, int max_in_flight, const RunLimits& limits,
                       MeasuredWindow* window);

 private:
  // The next call's sequence number, or nullopt when no call may start.
  using SequenceClaim = std::function<std::optional<std::uint64_t>()>;

  // One libcurl multi handle with `in_flight` transfers, on the calling thread, until claim() ends.
  absl::Status RunLoop(const Mix& mix, int in_flight, const SequenceClaim& claim, MeasuredWindow* window) const;
  // The calls of RunOpen, on the calling thread, from `start` until no call may start.
  absl::Status CallAtRate(const Mix& mix, double rate, int max_in_flight, const RunLimits& limits,
                          absl::Time start, MeasuredWindow* window) const;
  using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;
  // Every call's request headers.
  HeaderList RequestHeaders() const;
  std::string UrlFor(Method method, std::uint64_t sequence) const;
  absl::StatusOr<std::string> Token(const std::string& tenant, const std::string& scope) const;

  RestOptions options_;
  std::string token_;
  std::vector<std::string> customer_ids_;
};

}  // namespace partner::bench

#endif  // PARTNER_BENCH_LOADGEN_REST_DRIVER_H_
