#include "server/http/retry_policy.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/http/nothing_sent.h"
#include "server/http/retry_after.h"

namespace partner::http {
namespace {

double RandomJitter() {
  thread_local absl::BitGen random;
  return absl::Uniform(random, 0.0, 1.0);
}

// The same failure, saying why no further attempt was made; payloads (NothingSent) are kept.
absl::Status WhyStopped(const absl::Status& status, absl::string_view why) {
  absl::Status annotated(status.code(), absl::StrCat(status.message(), " (", why, ")"));
  status.ForEachPayload(
      [&annotated](absl::string_view url, const absl::Cord& payload) { annotated.SetPayload(url, payload); });
  return annotated;
}

}  // namespace

bool IsRetryable(const HttpRequest& request, const absl::StatusOr<HttpResponse>& result) {
  if (!result.ok()) {
    return result.status().code() == absl::StatusCode::kUnavailable &&
           (request.idempotent || NothingSent(result.status()));
  }
  // Any response means the request reached the upstream, which may have acted on it.
  if (!request.idempotent) return false;
  switch (result->status) {
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return true;
    default:
      return false;
  }
}

struct RetryPolicy::Shared {
  RetryOptions options;
  std::shared_ptr<Timer> timer;
  std::shared_ptr<HttpClient> next;
};

class RetryPolicy::Call : public std::enable_shared_from_this<Call> {
 public:
  Call(std::shared_ptr<const Shared> shared, std::shared_ptr<HttpRequest> request, HttpDone done)
      : shared_(std::move(shared)), request_(std::move(request)), done_(std::move(done)) {}

  void Start() {
    if (request_->cancel != nullptr) {
      // Weak: the token may live long after the call, and must not keep it alive.
      request_->cancel->OnCancel([weak = weak_from_this()] {
        if (auto call = weak.lock()) call->Finish(absl::CancelledError("upstream call cancelled"));
      });
    }
    if (!Finished()) Attempt();
  }

 private:
  void Attempt() {
    ++attempt_;
    request_->attempt = attempt_;
    shared_->next->Send(request_, [self = shared_from_this()](absl::StatusOr<HttpResponse> result) {
      self->OnResult(std::move(result));
    });
  }

  void OnResult(absl::StatusOr<HttpResponse> result);
  absl::Duration Backoff() const;

  bool Finished() {
    absl::MutexLock lock(&mu_);
    return done_ == nullptr;
  }

  // The first caller completes the call; later ones (a cancellation racing with a result) are
  // ignored.
  void Finish(absl::StatusOr<HttpResponse> result) {
    HttpDone done;
    {
      absl::MutexLock lock(&mu_);
      done = std::move(done_);
      done_ = nullptr;
    }
    if (done != nullptr) done(std::move(result));
  }

  const std::shared_ptr<const Shared> shared_;
  const std::shared_ptr<HttpRequest> request_;
  int attempt_ = 0;
  absl::Mutex mu_;
  HttpDone done_ ABSL_GUARDED_BY(mu_);
};

void RetryPolicy::Call::OnResult(absl::StatusOr<HttpResponse> result) {
  if (Finished()) return;
  if (!IsRetryable(*request_, result)) return Finish(std::move(result));
  if (attempt_ >= shared_->options.max_attempts) {
    if (!result.ok()) result = WhyStopped(result.status(), absl::StrCat("gave up after ", attempt_, " attempts"));
    return Finish(std::move(result));
  }
  const absl::Time now = shared_->timer->Now();
  std::optional<absl::Duration> delay;
  if (result.ok()) {
    delay = RetryAfter(*result, now);
    if (delay.has_value() && *delay > shared_->options.max_retry_after) return Finish(std::move(result));
  }
  if (!delay.has_value()) delay = Backoff();
  if (now + *delay >= request_->deadline) {
    if (!result.ok()) result = WhyStopped(result.status(), "no time left to retry before the deadline");
    return Finish(std::move(result));
  }
  shared_->timer->After(*delay, [self = shared_from_this()](absl::Status waited) {
    if (self->Finished()) return;
    if (!waited.ok()) return self->Finish(absl::CancelledError("upstream call cancelled: shutting down"));
    self->Attempt();
  });
}

absl::Duration RetryPolicy::Call::Backoff() const {
  const RetryOptions& options = shared_->options;
  // Full jitter (a uniform draw below the exponential cap) spreads the retries of many callers
  // hit by the same failure instead of sending them back in lockstep.
  const double exponent = std::min(attempt_ - 1, 30);
  const absl::Duration cap = std::min(options.max_backoff, options.initial_backoff * std::exp2(exponent));
  const double draw = options.jitter ? options.jitter() : RandomJitter();
  return cap * std::clamp(draw, 0.0, 1.0);
}

RetryPolicy::RetryPolicy(RetryOptions options, std::shared_ptr<Timer> timer, std::shared_ptr<HttpClient> next)
    : shared_(std::make_shared<const Shared>(Shared{std::move(options), std::move(timer), std::move(next)})) {}

void RetryPolicy::Send(std::shared_ptr<HttpRequest> request, HttpDone done) {
  std::make_shared<Call>(shared_, std::move(request), std::move(done))->Start();
}

}  // namespace partner::http
