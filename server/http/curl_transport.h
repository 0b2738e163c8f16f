// The one real HttpClient: libcurl's multi interface driven by libevent loops on threads owned by
// the transport (the curl/docs/examples/hiperfifo.c pattern). Each loop has a multi handle of its
// own, so keep-alive connections and HTTP/2 sessions are shared per host within a loop; a request
// goes to the loop with the fewest transfers.
//
// Thread-safety: Send() may be called from any thread, including from inside a `done` callback
// (which runs on the loop thread); it never blocks on the network. Every `done` runs exactly once:
// with the response, with a transport error, or with CANCELLED when the request is cancelled or
// the transport is destroyed first.
#ifndef PARTNER_SERVER_HTTP_CURL_TRANSPORT_H_
#define PARTNER_SERVER_HTTP_CURL_TRANSPORT_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/http/http_client.h"
#include "server/http/timer.h"

namespace partner::http {

struct CurlTransportOptions {
  // PEM bundle of trusted CAs; empty uses the system's bundle. Parsed at the first connection
  // and kept for 24 hours, not re-read for each new connection.
  std::string ca_bundle_file;
  // http:// URLs fail with FAILED_PRECONDITION unless allowed (the emulator on loopback).
  bool allow_plain_http = false;
  // Transfers in flight at once across all hosts; further requests wait in a queue, still
  // honouring their deadline and cancellation. Divided evenly between the loops.
  int max_concurrent_transfers = 512;
  // Event-loop threads (at most max_concurrent_transfers). Completion callbacks run on them, so
  // more than one spreads both libcurl's work and the callers' continuations over cores.
  int loop_threads = 1;
  absl::Duration connect_timeout = absl::Seconds(10);
  // Longest one attempt may take, however far the caller's deadline: an upstream that trickles
  // its answer fails this attempt with UNAVAILABLE (and retry decides) instead of holding the call
  // until its deadline.
  absl::Duration attempt_timeout = absl::InfiniteDuration();
};

class CurlTransport final : public HttpClient {
 public:
  static absl::StatusOr<std::unique_ptr<CurlTransport>> Create(CurlTransportOptions options);

  // Shutdown().
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  void Send(std::shared_ptr<HttpRequest> request, HttpDone done) override;

  // Completes every pending request and wait with CANCELLED, then joins the loop threads, however
  // many references to the transport remain: a request in flight holds the policies above it,
  // and so the transport, until it completes. Later requests and waits are cancelled at once.
  // Called from a completion callback, it leaves that callback's loop to wind down once the
  // callback returns. Idempotent; not to be called from two threads at once.
  void Shutdown();

  // Waits served by the transport's own loop threads, so a process needs no timer thread of its
  // own: callbacks run on a loop thread. Destroying the transport runs every wait still
  // pending with CANCELLED; a wait started after that is cancelled at once. The timer does not
  // keep the transport alive.
  std::shared_ptr<Timer> timer() const;

 private:
  class Loop;
  class LoopTimer;

  CurlTransport(std::vector<std::shared_ptr<Loop>> loops, std::vector<std::thread> threads);

  const std::shared_ptr<Loop>& LeastLoaded() const;

  // Shared with the cancel callbacks registered on each request's CancelToken, which may outlive
  // the transport.
  std::vector<std::shared_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
};

}  // namespace partner::http

#endif  // PARTNER_SERVER_HTTP_CURL_TRANSPORT_H_
