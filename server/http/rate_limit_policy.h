// Token buckets in front of the upstreams: every attempt takes one token from each bucket its
// request names (HttpRequest::rate_limit_keys), waiting on the timer when a bucket is empty.
// Waiting honours the deadline (a wait that would end past it fails at once with
// RESOURCE_EXHAUSTED) and cancellation.
#ifndef PARTNER_SERVER_HTTP_RATE_LIMIT_POLICY_H_
#define PARTNER_SERVER_HTTP_RATE_LIMIT_POLICY_H_

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/http/http_client.h"
#include "server/http/timer.h"

namespace partner::http {

struct BucketRate {
  double per_second = 0;  // refill rate; <= 0: unlimited
  double burst = 1;       // capacity
};

// Rates by family: the part of a key before its first '/'. Keys of other families are unlimited.
using RateLimits = std::map<std::string, BucketRate, std::less<>>;

class RateLimitPolicy final : public HttpClient {
 public:
  RateLimitPolicy(RateLimits limits, std::shared_ptr<Timer> timer, std::shared_ptr<HttpClient> next);
  void Send(std::shared_ptr<HttpRequest> request, HttpDone done) override;

  // Buckets currently kept.
  std::size_t BucketsForTest();

 private:
  struct Bucket {
    // What the bucket holds at `now`: refilled since `updated`, up to the burst. A bucket never
    // reserved from (`updated` unset) is full.
    double TokensAt(const BucketRate& rate, absl::Time now) const;

    double tokens = 0;
    absl::Time updated;
  };

  // Reserves one token in each of the request's buckets; the wait until the last of them is
  // available (zero when all were). Reservations may drive a bucket negative: that is the queue.
  absl::Duration Reserve(const HttpRequest& request, absl::Time now);
  void Release(const HttpRequest& request);
  // Drops the buckets that have refilled to their burst: such a bucket decides as an absent one
  // does, so no request waits differently. Without it the map would keep an entry for every key
  // ever called, every customer id a caller made up included.
  void DropFullBuckets(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RateLimits limits_;
  const std::shared_ptr<Timer> timer_;
  const std::shared_ptr<HttpClient> next_;
  absl::Mutex mu_;
  // One per key, as many as the customers and subscriptions called. Hashed: every attempt looks
  // its keys up, and with 2 000 customers an ordered map's compares of long shared prefixes cost
  // about 3 us per GetCustomer (perf).
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  // The size at which the next DropFullBuckets runs: twice what the last one kept, so its cost,
  // linear in the map, spreads over as many new keys and stays constant per request.
  std::size_t drop_full_at_ ABSL_GUARDED_BY(mu_);
};

}  // namespace partner::http

#endif  // PARTNER_SERVER_HTTP_RATE_LIMIT_POLICY_H_
