// The one abstraction every upstream call goes through: an asynchronous HTTP exchange. The curl
// transport implements it; each policy of the pipeline (ids, retry, bearer token, logging)
// implements it by wrapping the next one; tests implement it with scripted fakes.
#ifndef PARTNER_SERVER_HTTP_HTTP_CLIENT_H_
#define PARTNER_SERVER_HTTP_HTTP_CLIENT_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace partner::http {

using Header = std::pair<std::string, std::string>;

// Aborts a transfer (and the retries of a logical call) from any thread. A cancelled call
// completes with CANCELLED.
class CancelToken {
 public:
  void Cancel();
  bool cancelled() const;
  // Runs `callback` on Cancel(), or at once if already cancelled. Callbacks run outside the lock.
  void OnCancel(absl::AnyInvocable<void()> callback);

 private:
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<absl::AnyInvocable<void()>> callbacks_ ABSL_GUARDED_BY(mu_);
};

// The headers an upstream service reads a logical call's request id and the incoming RPC's
// correlation id from: each Microsoft service names its own, so the upstream client that knows the
// service chooses them. An empty name: that id is not sent.
struct IdHeaderNames {
  absl::string_view request_id;
  absl::string_view correlation_id;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute; built only from validated, percent-encoded parts
  std::vector<Header> headers;
  std::string body;
  // The caller's deadline: no attempt and no backoff runs past it.
  absl::Time deadline = absl::InfiniteFuture();
  std::shared_ptr<CancelToken> cancel = std::make_shared<CancelToken>();
  // GET/PUT/DELETE of a named resource are idempotent; POST is not, and is retried only when
  // nothing reached the wire.
  bool idempotent = true;
  // Upstream identity for bearer tokens: which tenant's token, for which scope. Empty scope:
  // no Authorization header.
  std::string token_tenant;
  std::string token_scope;
  // Logical operation name for logs and metrics ("pc.list_customers").
  std::string operation;
  // One per incoming RPC; sent under id_headers.correlation_id and logged.
  std::string correlation_id;
  IdHeaderNames id_headers;
  // One per logical call, set by the request-id policy; sent under id_headers.request_id, logged.
  std::string request_id;
  std::size_t max_response_bytes = 8 * 1024 * 1024;
  // 1-based attempt of the logical call, set by the retry policy for the policies below it.
  int attempt = 1;
  // Local token buckets this request draws from, "family/key" (e.g. "arm-read/<subscription>"),
  // so a burst queues here instead of provoking upstream 429s. Empty: not rate limited.
  std::vector<std::string> rate_limit_keys;
};

struct HttpResponse {
  int status = 0;
  std::vector<Header> headers;  // names lower-cased
  std::string body;

  // First value of a header, by lower-case name.
  std::optional<std::string_view> FindHeader(std::string_view lower_case_name) const;
};

// Transport failures (connection refused or reset, TLS, timeout, response too large) complete
// with a non-OK status: UNAVAILABLE for what a retry may cure, DEADLINE_EXCEEDED, CANCELLED,
// RESOURCE_EXHAUSTED for an oversized body. Any HTTP status, including 4xx/5xx, is an OK
// response for the layer above to interpret.
using HttpDone = absl::AnyInvocable<void(absl::StatusOr<HttpResponse>)>;

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Never blocks; `done` runs exactly once, on a transport thread or inline. `request` (never
  // null) is shared by the layers it passes through, so that an attempt costs no copy of it: a
  // policy may change it before passing it on (a header, the attempt number), and the retry
  // policy sends the same request again for another attempt. Nobody changes it while a layer
  // below still has it, from Send until `done` runs.
  virtual void Send(std::shared_ptr<HttpRequest> request, HttpDone done) = 0;
};

}  // namespace partner::http

#endif  // PARTNER_SERVER_HTTP_HTTP_CLIENT_H_
