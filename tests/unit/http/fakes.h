// Scripted stand-ins for the layers below a policy: they complete inline, so policy tests run
// synchronously and never sleep.
#ifndef PARTNER_TESTS_UNIT_HTTP_FAKES_H_
#define PARTNER_TESTS_UNIT_HTTP_FAKES_H_

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/http/http_client.h"
#include "server/http/timer.h"
#include "server/http/token_source.h"

namespace partner::http::testing {

// HttpClient::Send takes its request shared.
inline std::shared_ptr<HttpRequest> Shared(HttpRequest request) {
  return std::make_shared<HttpRequest>(std::move(request));
}

inline HttpResponse Response(int status, std::vector<Header> headers = {}, std::string body = "") {
  HttpResponse response;
  response.status = status;
  response.headers = std::move(headers);
  response.body = std::move(body);
  return response;
}

// Answers each request with the next scripted result (200 once the script runs out) and keeps
// every request it was sent.
class ScriptedClient final : public HttpClient {
 public:
  explicit ScriptedClient(std::deque<absl::StatusOr<HttpResponse>> script = {}) : script_(std::move(script)) {}
  void Send(std::shared_ptr<HttpRequest> request, HttpDone done) override {
    // A copy: the request goes on to be changed by a later attempt.
    requests.push_back(*request);
    absl::StatusOr<HttpResponse> result = Response(200);
    if (!script_.empty()) {
      result = std::move(script_.front());
      script_.pop_front();
    }
    done(std::move(result));
  }

  std::vector<HttpRequest> requests;

 private:
  std::deque<absl::StatusOr<HttpResponse>> script_;
};

// A clock that moves only through waits. With auto_fire, a wait advances the clock and runs at
// once; without it, waits are kept until Fire().
class FakeTimer final : public Timer {
 public:
  explicit FakeTimer(bool auto_fire = true) : auto_fire_(auto_fire) {}
  absl::Time Now() override { return now; }
  void After(absl::Duration delay, TimerCallback callback) override {
    waits.push_back(delay);
    if (!auto_fire_) {
      pending_.push_back(std::move(callback));
      return;
    }
    now += delay;
    callback(absl::OkStatus());
  }
  void Fire(absl::Status status = absl::OkStatus()) {
    std::vector<TimerCallback> pending;
    pending.swap(pending_);
    for (auto& callback : pending) callback(status);
  }

  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  std::vector<absl::Duration> waits;

 private:
  const bool auto_fire_;
  std::vector<TimerCallback> pending_;
};

// Mints "token-1", "token-2", ...: a new one only after the current one is invalidated.
class FakeTokenSource final : public TokenSource {
 public:
  void GetToken(std::string tenant, std::string scope, absl::Time, TokenDone done) override {
    requests.push_back(absl::StrCat(tenant, "|", scope));
    if (!failure.ok()) return done(failure);
    done(absl::StrCat("token-", generation_));
  }
  void Invalidate(const std::string& tenant, const std::string& scope, const std::string& token) override {
    invalidated.push_back(absl::StrCat(tenant, "|", scope, "|", token));
    ++generation_;
  }

  absl::Status failure;
  std::vector<std::string> requests;
  std::vector<std::string> invalidated;

 private:
  int generation_ = 1;
};

}  // namespace partner::http::testing

#endif  // PARTNER_TESTS_UNIT_HTTP_FAKES_H_
