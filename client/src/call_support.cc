#include "client/src/call_support.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <thread>

namespace partner::client::internal {

Clock::time_point CallDeadline(const ClientOptions& options, const CallOptions& call) {
  return Clock::now() + call.timeout.value_or(options.default_timeout);
}

std::string CorrelationId(const CallOptions& call) {
  if (!call.correlation_id.empty()) return call.correlation_id;
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_int_distribution<uint64_t> bits;
  uint64_t hi = bits(random), lo = bits(random);
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof(text), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return text;
}

void PrepareContext(grpc::ClientContext& context, const ClientOptions& options,
                    const std::string& correlation_id, Clock::time_point deadline) {
  context.set_deadline(deadline);
  if (!options.bearer_token.empty()) {
    context.AddMetadata("authorization", "Bearer " + options.bearer_token);
  }
  context.AddMetadata("x-correlation-id", correlation_id);
}

std::chrono::milliseconds Backoff::Next(std::optional<std::chrono::milliseconds> server_hint) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  const auto base = std::min(next_, retry_.max_backoff);
  std::uniform_int_distribution<int64_t> jitter(0, base.count() / 2);
  std::chrono::milliseconds delay = base - std::chrono::milliseconds(jitter(random));
  if (server_hint.has_value()) delay = std::max(delay, std::min(*server_hint, retry_.max_backoff));
  next_ =
      std::min(retry_.max_backoff, std::chrono::milliseconds(static_cast<int64_t>(
                                       static_cast<double>(next_.count()) * retry_.multiplier)));
  return delay;
}

int MaxAttempts(const ClientOptions& options, const CallOptions& call, Idempotency idempotency) {
  if (idempotency == Idempotency::kNonIdempotent) return 1;
  return std::max(1, call.max_attempts.value_or(options.retry.max_attempts));
}

void SleepFor(std::chrono::milliseconds delay) { std::this_thread::sleep_for(delay); }

}  // namespace partner::client::internal
