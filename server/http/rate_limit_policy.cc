#include "server/http/rate_limit_policy.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace partner::http {
namespace {

// The fewest buckets worth a sweep: below this the map costs nothing worth reclaiming.
constexpr std::size_t kFewestBucketsToDrop = 1024;

const BucketRate* RateFor(const RateLimits& limits, absl::string_view key) {
  auto it = limits.find(key.substr(0, key.find('/')));
  return it == limits.end() || it->second.per_second <= 0 ? nullptr : &it->second;
}

// A request waiting for its slot: completed once, by the timer or by cancellation.
struct Waiting {
  std::shared_ptr<HttpRequest> request;
  HttpDone done;
  std::atomic<bool> finished{false};
};

}  // namespace

RateLimitPolicy::RateLimitPolicy(RateLimits limits, std::shared_ptr<Timer> timer, std::shared_ptr<HttpClient> next)
    : limits_(std::move(limits)), timer_(std::move(timer)), next_(std::move(next)), drop_full_at_(kFewestBucketsToDrop) {}

double RateLimitPolicy::Bucket::TokensAt(const BucketRate& rate, absl::Time now) const {
  if (updated == absl::Time()) return rate.burst;
  return std::min(rate.burst, tokens + absl::ToDoubleSeconds(now - updated) * rate.per_second);
}

std::size_t RateLimitPolicy::BucketsForTest() {
  absl::MutexLock lock(&mu_);
  return buckets_.size();
}

void RateLimitPolicy::DropFullBuckets(absl::Time now) {
  absl::erase_if(buckets_, [&](const auto& entry) {
    const BucketRate* rate = RateFor(limits_, entry.first);
    const Bucket& bucket = entry.second;
    return rate == nullptr || bucket.TokensAt(*rate, now) >= rate->burst;
  });
  drop_full_at_ = std::max(kFewestBucketsToDrop, 2 * buckets_.size());
}

absl::Duration RateLimitPolicy::Reserve(const HttpRequest& request, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (buckets_.size() >= drop_full_at_) DropFullBuckets(now);
  absl::Duration wait = absl::ZeroDuration();
  for (const std::string& key : request.rate_limit_keys) {
    const BucketRate* rate = RateFor(limits_, key);
    if (rate == nullptr) continue;
    Bucket& bucket = buckets_[key];
    bucket.tokens = bucket.TokensAt(*rate, now);
    bucket.updated = now;
    bucket.tokens -= 1;
    if (bucket.tokens < 0) wait = std::max(wait, absl::Seconds(-bucket.tokens / rate->per_second));
  }
  return wait;
}

void RateLimitPolicy::Release(const HttpRequest& request) {
  absl::MutexLock lock(&mu_);
  for (const std::string& key : request.rate_limit_keys) {
    const BucketRate* rate = RateFor(limits_, key);
    auto bucket = buckets_.find(key);
    // A dropped bucket was full: there is nothing to give back.
    if (rate != nullptr && bucket != buckets_.end()) {
      bucket->second.tokens = std::min(rate->burst, bucket->second.tokens + 1);
    }
  }
}

void RateLimitPolicy::Send(std::shared_ptr<HttpRequest> request, HttpDone done) {
  const absl::Time now = timer_->Now();
  const absl::Duration wait = Reserve(*request, now);
  if (wait <= absl::ZeroDuration()) return next_->Send(std::move(request), std::move(done));
  if (now + wait > request->deadline) {
    Release(*request);
    done(absl::ResourceExhaustedError(absl::StrFormat(
        "%s: the local rate limit for %s has no slot for %.1fs, past the call's deadline", request->operation,
        request->rate_limit_keys.front().substr(0, request->rate_limit_keys.front().find('/')),
        absl::ToDoubleSeconds(wait))));
    return;
  }
  auto waiting = std::make_shared<Waiting>();
  waiting->request = std::move(request);
  waiting->done = std::move(done);
  // The callbacks hold no pointer to this policy: the timer may run them while it is destroyed.
  // Weak: the request's own cancel token must not keep its waiting entry alive (a cycle).
  waiting->request->cancel->OnCancel([weak = std::weak_ptr<Waiting>(waiting)] {
    std::shared_ptr<Waiting> waiting = weak.lock();
    if (waiting != nullptr && !waiting->finished.exchange(true)) {
      waiting->done(absl::CancelledError("the call was cancelled while queued for a rate limit slot"));
    }
  });
  timer_->After(wait, [waiting, next = next_](absl::Status waited) {
    if (waiting->finished.exchange(true)) return;
    if (!waited.ok()) return waiting->done(waited);
    next->Send(std::move(waiting->request), std::move(waiting->done));
  });
}

}  // namespace partner::http
