// A small HTTP/1.1 server on 127.0.0.1 (libevent evhttp on its own thread) for testing the curl
// transport against real sockets. Routes:
//   /echo           200, body "<METHOD>\n<request body>", echoes the X-Test header as X-Test-Echo
//   /delay/<ms>     200 "done" after <ms> milliseconds
//   /big/<bytes>    200 with a body of <bytes> bytes
//   /chunked/<bytes> the same, chunked, without Content-Length
//   /redirect       302 to another port
//   /status/<code>  that status, empty body
//   /hang           never answers
// With Tls::kOn it serves HTTPS with a fresh self-signed certificate for 127.0.0.1, written to
// ca_file() for the client to trust, and counts the requests that arrive on a connection whose TLS
// session was resumed rather than negotiated afresh.
#ifndef PARTNER_TESTS_UNIT_HTTP_LOOPBACK_SERVER_H_
#define PARTNER_TESTS_UNIT_HTTP_LOOPBACK_SERVER_H_

#include <atomic>
#include <string>
#include <thread>

struct event;
struct event_base;
struct evhttp;
struct evhttp_request;
struct ssl_ctx_st;

namespace partner::http::testing {

class LoopbackServer {
 public:
  enum class Tls { kOff, kOn };
  // Aborts the test binary if it cannot listen: nothing else could run.
  explicit LoopbackServer(Tls tls = Tls::kOff);
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  // "http[s]://127.0.0.1:<port><path>"
  std::string Url(const std::string& path) const;
  // PEM certificate to trust for the HTTPS server.
  const std::string& ca_file() const { return ca_file_; }
  int connections_accepted() const { return connections_accepted_.load(); }
  int requests_served() const { return requests_served_.load(); }
  int requests_on_resumed_sessions() const { return requests_on_resumed_sessions_.load(); }

 private:
  static void OnRequest(evhttp_request* request, void* user);

  ssl_ctx_st* tls_ = nullptr;
  std::string ca_file_;
  event_base* base_ = nullptr;
  event* stop_ = nullptr;
  evhttp* http_ = nullptr;
  int port_ = 0;
  std::atomic<int> connections_accepted_{0};
  std::atomic<int> requests_served_{0};
  std::atomic<int> requests_on_resumed_sessions_{0};
  std::thread thread_;
};

}  // namespace partner::http::testing

#endif  // PARTNER_TESTS_UNIT_HTTP_LOOPBACK_SERVER_H_
