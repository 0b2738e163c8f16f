#include "client/src/call_support.h"

#include <algorithm>
#include <random>
#include <string>
#include <thread>

namespace partner::client::internal {

Clock::time_point CallDeadline(const ClientOptions& options, const CallOptions& call) {
  return Clock::now() + call.timeout.value_or(options.default_timeout);
}

void PrepareContext(grpc::ClientContext& context, const ClientOptions& options,
                    const CallOptions& call, Clock::time_point deadline) {
  context.set_deadline(deadline);
  if (!options.bearer_token.empty()) {
    context.AddMetadata("authorization", "Bearer " + options.bearer_token);
  }
  if (!call.correlation_id.empty()) context.AddMetadata("x-correlation-id", call.correlation_id);
}

std::chrono::milliseconds Backoff::Next(std::optional<std::chrono::milliseconds> server_hint) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  const auto base = std::min(next_, retry_.max_backoff);
  std::uniform_int_distribution<int64_t> jitter(0, base.count() / 2);
  std::chrono::milliseconds delay = base - std::chrono::milliseconds(jitter(random));
  if (server_hint.has_value()) delay = std::max(delay, std::min(*server_hint, retry_.max_backoff));
  next_ = std::min(retry_.max_backoff,
                   std::chrono::milliseconds(static_cast<int64_t>(
                       static_cast<double>(next_.count()) * retry_.multiplier)));
  return delay;
}

int MaxAttempts(const ClientOptions& options, const CallOptions& call, Idempotency idempotency) {
  if (idempotency == Idempotency::kNonIdempotent) return 1;
  return std::max(1, call.max_attempts.value_or(options.retry.max_attempts));
}

void SleepFor(std::chrono::milliseconds delay) { std::this_thread::sleep_for(delay); }

}  // namespace partner::client::internal
