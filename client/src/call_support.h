// What every RPC of the connections shares: a context per attempt (deadline, bearer token,
// correlation id) and the retry loop for idempotent reads. Internal to the library.
#ifndef PARTNER_CLIENT_SRC_CALL_SUPPORT_H_
#define PARTNER_CLIENT_SRC_CALL_SUPPORT_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "partner/client/client_options.h"
#include "partner/client/error_details.h"

namespace partner::client::internal {

enum class Idempotency { kIdempotent, kNonIdempotent };

using Clock = std::chrono::system_clock;

// The deadline of a whole call, all attempts together.
Clock::time_point CallDeadline(const ClientOptions& options, const CallOptions& call);

// The call's correlation id: the caller's, else a new random UUID, so that every attempt of a
// retried call shows up under one id in the gateway's logs.
std::string CorrelationId(const CallOptions& call);

// Sets the deadline and the metadata every attempt carries.
void PrepareContext(grpc::ClientContext& context, const ClientOptions& options,
                    const std::string& correlation_id, Clock::time_point deadline);

// Exponential backoff with jitter; the server's RetryInfo, when present, is a lower bound
// (capped by max_backoff) because the gateway knows how long its upstream asked to wait.
class Backoff {
 public:
  explicit Backoff(const RetryOptions& retry) : retry_(retry), next_(retry.initial_backoff) {}
  std::chrono::milliseconds Next(std::optional<std::chrono::milliseconds> server_hint);

 private:
  RetryOptions retry_;
  std::chrono::milliseconds next_;
};

void SleepFor(std::chrono::milliseconds delay);

// How many attempts a call may make.
int MaxAttempts(const ClientOptions& options, const CallOptions& call, Idempotency idempotency);

// Runs `attempt(grpc::ClientContext*, Response*) -> grpc::Status` until it succeeds, fails with
// anything but UNAVAILABLE, runs out of attempts, or the next wait would pass the deadline.
// Every attempt gets a fresh context: a gRPC context is single use.
template <typename Response, typename Attempt>
absl::StatusOr<Response> UnaryCall(const ClientOptions& options, const CallOptions& call,
                                   Idempotency idempotency, Attempt&& attempt) {
  const Clock::time_point deadline = CallDeadline(options, call);
  const int max_attempts = MaxAttempts(options, call, idempotency);
  const std::string correlation_id = CorrelationId(call);
  Backoff backoff(options.retry);
  for (int attempt_number = 1;; ++attempt_number) {
    grpc::ClientContext context;
    PrepareContext(context, options, correlation_id, deadline);
    Response response;
    const grpc::Status status = attempt(&context, &response);
    if (status.ok()) return response;
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE || attempt_number >= max_attempts) {
      return ToAbslStatus(status);
    }
    const std::chrono::milliseconds delay = backoff.Next(DecodeErrorDetails(status).retry_delay);
    if (Clock::now() + delay >= deadline) return ToAbslStatus(status);
    SleepFor(delay);
  }
}

}  // namespace partner::client::internal

#endif  // PARTNER_CLIENT_SRC_CALL_SUPPORT_H_
