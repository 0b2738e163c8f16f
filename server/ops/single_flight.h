// One upstream fetch per key at a time: the first coroutine to miss a cache leads the fetch, the
// others suspend until it lands and share its result. A thousand concurrent first AssignRoles on
// one subscription then cost one role-definition list, not a thousand.
#ifndef PARTNER_SERVER_OPS_SINGLE_FLIGHT_H_
#define PARTNER_SERVER_OPS_SINGLE_FLIGHT_H_

#include <coroutine>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace partner::ops {

template <class T>
class SingleFlight {
 public:
  // True when the caller now leads the fetch of `key` and must Land() it.
  bool TryLead(const std::string& key) {
    absl::MutexLock lock(&mu_);
    return flights_.try_emplace(key).second;
  }

  // Suspends until the leader lands `key`; its result, or nullopt when that flight had already
  // landed before this call could join it (look in the cache again, or lead).
  class Joiner {
   public:
    Joiner(SingleFlight* flight, std::string key) : flight_(flight), key_(std::move(key)) {}
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> handle) {
      absl::MutexLock lock(&flight_->mu_);
      auto it = flight_->flights_.find(key_);
      if (it == flight_->flights_.end()) return false;
      it->second.push_back(Waiter{handle, &result_});
      return true;
    }
    std::optional<T> await_resume() { return std::move(result_); }

   private:
    SingleFlight* flight_;
    std::string key_;
    std::optional<T> result_;
  };
  Joiner Join(std::string key) { return Joiner(this, std::move(key)); }

  // Ends the flight of `key` and resumes its waiters, on this thread, with `result`.
  void Land(const std::string& key, const T& result) {
    std::vector<Waiter> waiters;
    {
      absl::MutexLock lock(&mu_);
      auto it = flights_.find(key);
      if (it == flights_.end()) return;
      waiters = std::move(it->second);
      flights_.erase(it);
    }
    for (Waiter& waiter : waiters) {
      *waiter.out = result;
      waiter.handle.resume();
    }
  }

 private:
  struct Waiter {
    std::coroutine_handle<> handle;
    std::optional<T>* out;
  };

  absl::Mutex mu_;
  std::map<std::string, std::vector<Waiter>> flights_ ABSL_GUARDED_BY(mu_);
};

}  // namespace partner::ops

#endif  // PARTNER_SERVER_OPS_SINGLE_FLIGHT_H_
