// A scripted http::HttpClient for the typed clients' tests: records every request and answers
// each with the next scripted response, inline (so the coroutines under test run synchronously).
#ifndef PARTNER_TESTS_UNIT_UPSTREAM_FAKE_HTTP_CLIENT_H_
#define PARTNER_TESTS_UNIT_UPSTREAM_FAKE_HTTP_CLIENT_H_

#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "server/http/http_client.h"
#include "server/ops/op_task.h"

namespace partner::upstream::testing {

class FakeHttpClient : public http::HttpClient {
 public:
  void Send(std::shared_ptr<http::HttpRequest> request, http::HttpDone done) override {
    requests.push_back(*request);
    if (responses.empty()) {
      done(absl::InternalError("no scripted response"));
      return;
    }
    absl::StatusOr<http::HttpResponse> next = std::move(responses.front());
    responses.pop_front();
    done(std::move(next));
  }

  void Respond(int status, std::string body, std::vector<http::Header> headers = {}) {
    http::HttpResponse response;
    response.status = status;
    response.body = std::move(body);
    response.headers = std::move(headers);
    responses.emplace_back(std::move(response));
  }

  std::vector<http::HttpRequest> requests;
  std::deque<absl::StatusOr<http::HttpResponse>> responses;
};

// Holds an HttpClient's done callbacks until the test completes them, for asynchronous paths.
class DeferredHttpClient : public http::HttpClient {
 public:
  void Send(std::shared_ptr<http::HttpRequest> request, http::HttpDone done) override {
    requests.push_back(*request);
    pending.push_back(std::move(done));
  }
  std::vector<http::HttpRequest> requests;
  std::vector<http::HttpDone> pending;
};

// Runs `task` to completion when every await completes inline; nullopt otherwise.
template <class T>
std::optional<T> RunNow(ops::OpTask<T> task) {
  std::optional<T> result;
  ops::StartOpTask(std::move(task), [&result](T value) { result.emplace(std::move(value)); });
  return result;
}

inline std::optional<std::string> HeaderValue(const http::HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

}  // namespace partner::upstream::testing

#endif  // PARTNER_TESTS_UNIT_UPSTREAM_FAKE_HTTP_CLIENT_H_
