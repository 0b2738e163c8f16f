// Retries one logical call: throttling and transient server statuses (408, 429, 500, 502, 503,
// 504) and transport failures a retry may cure. The wait is the server's Retry-After when it gives
// one, else exponential backoff with full jitter; it runs on a Timer, never on a blocked thread.
// Bounded by max_attempts and by the request's deadline: when the next wait would end past the
// deadline the call stops at once with the last response (a final 429 keeps its Retry-After for
// the layer above to report). A non-idempotent request is retried only when nothing reached the
// wire. Cancellation, also during a wait, completes the call with CANCELLED.
#ifndef PARTNER_SERVER_HTTP_RETRY_POLICY_H_
#define PARTNER_SERVER_HTTP_RETRY_POLICY_H_

#include <functional>
#include <memory>

#include "absl/time/time.h"
#include "server/http/http_client.h"
#include "server/http/timer.h"

namespace partner::http {

struct RetryOptions {
  int max_attempts = 4;  // including the first
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(10);
  // A server asking for a longer wait than this is not waited for: its response is returned.
  absl::Duration max_retry_after = absl::Seconds(60);
  // Uniform draws in [0, 1) for the jitter; empty uses a random generator. Tests pin it.
  std::function<double()> jitter;
};

// Whether `result` of `request` may be retried (attempts and deadline aside).
bool IsRetryable(const HttpRequest& request, const absl::StatusOr<HttpResponse>& result);

class RetryPolicy final : public HttpClient {
 public:
  RetryPolicy(RetryOptions options, std::shared_ptr<Timer> timer, std::shared_ptr<HttpClient> next);
  void Send(std::shared_ptr<HttpRequest> request, HttpDone done) override;

 private:
  struct Shared;
  class Call;

  // Shared with calls in flight, which may outlive the policy.
  std::shared_ptr<const Shared> shared_;
};

}  // namespace partner::http

#endif  // PARTNER_SERVER_HTTP_RETRY_POLICY_H_
