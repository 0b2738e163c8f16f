// Shared by the upstream fuzz targets: an http::HttpClient that answers every request inline
// with a response built from the fuzz input, so the typed clients' and the token provider's real
// parsing runs on arbitrary bytes exactly as it would on a hostile upstream's body.
#ifndef PARTNER_TESTS_FUZZ_UPSTREAM_FUZZ_SUPPORT_H_
#define PARTNER_TESTS_FUZZ_UPSTREAM_FUZZ_SUPPORT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "server/http/http_client.h"
#include "server/ops/op_task.h"
#include "server/ops/operations.h"
#include "server/upstream/call.h"

namespace partner::fuzz {

// The first input byte picks the HTTP status, so success bodies and every error mapping are
// reached from one corpus; the rest is the body. A seed file starts with the selector byte.
inline int StatusFromSelector(std::uint8_t selector) {
  static constexpr std::array<int, 16> kStatuses = {200, 200, 200, 200, 201, 204, 400, 401,
                                                    403, 404, 409, 412, 429, 500, 503, 302};
  return kStatuses[selector % kStatuses.size()];
}

inline http::HttpResponse ResponseFromInput(const std::uint8_t* data, std::size_t size) {
  http::HttpResponse response;
  response.status = size == 0 ? 200 : StatusFromSelector(data[0]);
  if (size > 0) response.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  response.headers.emplace_back("ms-requestid", "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b");
  response.headers.emplace_back("retry-after", "1");
  return response;
}

// Answers with the same response every time: a collection whose next link points back at
// itself must be caught by the client's repeated-link check, not page forever.
class ReplayHttpClient final : public http::HttpClient {
 public:
  explicit ReplayHttpClient(http::HttpResponse response) : response_(std::move(response)) {}

  void Send(std::shared_ptr<http::HttpRequest> request, http::HttpDone done) override {
    // A client paging without end is the bug this target exists to find.
    if (++requests_ > kMaxRequests) std::abort();
    // Our bearer token goes with every request: a link followed to any other host is a leak.
    if (!OnConfiguredHost(request->url)) std::abort();
    done(response_);
  }

  static constexpr std::string_view kBaseUrl = "https://upstream.fuzz.test";

 private:
  // Written independently of upstream::SameOrigin, as curl splits a URL: the authority ends at
  // the first '/', '?' or '#'.
  static bool OnConfiguredHost(std::string_view url) {
    std::string lower(url.substr(0, kBaseUrl.size() + 5));
    for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    std::string_view rest(lower);
    if (!rest.starts_with(kBaseUrl)) return false;
    rest.remove_prefix(kBaseUrl.size());
    if (rest.starts_with(":443")) rest.remove_prefix(4);
    return rest.empty() || rest[0] == '/' || rest[0] == '?' || rest[0] == '#';
  }

  static constexpr int kMaxRequests = 1001;
  http::HttpResponse response_;
  int requests_ = 0;
};

inline upstream::UpstreamOptions FuzzUpstreamOptions() {
  upstream::UpstreamOptions options;
  options.partner_center_url = std::string(ReplayHttpClient::kBaseUrl);
  options.arm_url = std::string(ReplayHttpClient::kBaseUrl);
  options.graph_url = std::string(ReplayHttpClient::kBaseUrl);
  options.partner_tenant_id = "5c1b2a3d-0e9f-4a8b-9c7d-6e5f4a3b2c1d";
  return options;
}

// Runs a client coroutine whose every await completes inline; a task left suspended would mean
// a lost completion, so it aborts.
template <class T>
T RunInline(ops::OpTask<T> task) {
  std::optional<T> result;
  ops::StartOpTask(std::move(task), [&result](T value) { result.emplace(std::move(value)); });
  if (!result.has_value()) std::abort();
  return *std::move(result);
}

}  // namespace partner::fuzz

#endif  // PARTNER_TESTS_FUZZ_UPSTREAM_FUZZ_SUPPORT_H_
