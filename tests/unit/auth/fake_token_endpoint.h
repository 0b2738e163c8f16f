// An HttpClient standing in for the Entra token endpoint: records every request, answers from a
// script (or with a fresh token), and can hold answers for the test to release later.
#ifndef PARTNER_TESTS_UNIT_AUTH_FAKE_TOKEN_ENDPOINT_H_
#define PARTNER_TESTS_UNIT_AUTH_FAKE_TOKEN_ENDPOINT_H_

#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/http/http_client.h"
#include "server/http/timer.h"

namespace partner::testing {

inline http::HttpResponse JsonResponse(int status, std::string body) {
  http::HttpResponse response;
  response.status = status;
  response.headers = {{"content-type", "application/json; charset=utf-8"}};
  response.body = std::move(body);
  return response;
}

inline http::HttpResponse TokenResponse(const std::string& token, int expires_in = 3599) {
  return JsonResponse(200, absl::StrCat(R"({"token_type":"Bearer","expires_in":)", expires_in,
                                        R"(,"ext_expires_in":)", expires_in, R"(,"access_token":")", token, R"("})"));
}

inline http::HttpResponse AadError(int status, const std::string& error, int code, const std::string& description) {
  return JsonResponse(status, absl::StrCat(R"({"error":")", error, R"(","error_description":")", description,
                                           R"(\r\nTrace ID: 1f0e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b\r\nCorrelation ID: )",
                                           R"(9a8b7c6d\r\nTimestamp: 2025-03-14 09:21:07Z","error_codes":[)", code,
                                           R"(],"trace_id":"1f0e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"})"));
}

class FakeTokenEndpoint : public http::HttpClient {
 public:
  void Send(std::shared_ptr<http::HttpRequest> request, http::HttpDone done) override {
    absl::StatusOr<http::HttpResponse> response;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(*request);
      if (hold_) {
        held_.push_back(std::move(done));
        return;
      }
      if (!script_.empty()) {
        response = std::move(script_.front());
        script_.pop_front();
      } else {
        response = TokenResponse(absl::StrCat("token-", requests_.size()));
      }
    }
    done(std::move(response));
  }

  // The next answers, in order; once used up, every request gets "token-<request number>".
  void Script(absl::StatusOr<http::HttpResponse> response) {
    absl::MutexLock lock(&mu_);
    script_.push_back(std::move(response));
  }

  // While holding, requests wait for Release.
  void Hold() {
    absl::MutexLock lock(&mu_);
    hold_ = true;
  }

  // Stops holding and answers every held request with `response`.
  void Release(const absl::StatusOr<http::HttpResponse>& response) {
    std::vector<http::HttpDone> held;
    {
      absl::MutexLock lock(&mu_);
      hold_ = false;
      held.swap(held_);
    }
    for (http::HttpDone& done : held) done(response);
  }

  int held() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(held_.size());
  }

  std::vector<http::HttpRequest> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  mutable absl::Mutex mu_;
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<absl::StatusOr<http::HttpResponse>> script_ ABSL_GUARDED_BY(mu_);
  std::vector<http::HttpDone> held_ ABSL_GUARDED_BY(mu_);
  std::vector<http::HttpRequest> requests_ ABSL_GUARDED_BY(mu_);
};

// A settable clock shared by the test and the provider, and the timer of the provider's waits: a
// wait runs when Advance reaches its time, on the thread that advances.
class FakeClock final : public http::Timer {
 public:
  FakeClock() = default;
  FakeClock(const FakeClock&) = delete;
  FakeClock& operator=(const FakeClock&) = delete;
  ~FakeClock() override {
    for (auto& [when, callback] : waits_) callback(absl::CancelledError("fake clock destroyed"));
  }

  absl::Time Now() override {
    absl::MutexLock lock(&mu_);
    return now_;
  }

  void After(absl::Duration delay, http::TimerCallback callback) override {
    absl::MutexLock lock(&mu_);
    waits_.emplace(now_ + delay, std::move(callback));
  }

  // Runs the waits now due, in time order, outside the lock so they may wait again.
  void Advance(absl::Duration by) {
    std::vector<http::TimerCallback> due;
    {
      absl::MutexLock lock(&mu_);
      now_ += by;
      const auto end = waits_.upper_bound(now_);
      for (auto it = waits_.begin(); it != end; ++it) due.push_back(std::move(it->second));
      waits_.erase(waits_.begin(), end);
    }
    for (http::TimerCallback& callback : due) callback(absl::OkStatus());
  }

  int pending_waits() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(waits_.size());
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::FromUnixSeconds(1760000000);
  std::multimap<absl::Time, http::TimerCallback> waits_ ABSL_GUARDED_BY(mu_);
};

}  // namespace partner::testing

#endif  // PARTNER_TESTS_UNIT_AUTH_FAKE_TOKEN_ENDPOINT_H_
