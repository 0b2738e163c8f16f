// The admin HTTP listener: GET /metrics (Prometheus text), /healthz (the process is alive) and
// /readyz (200 while serving, 503 while starting or draining). libevent, served by the thread
// that calls Serve(): the gateway's main thread, which otherwise only waits for a signal, so the
// listener costs the process no thread of its own.
#ifndef PARTNER_SERVER_API_ADMIN_HTTP_H_
#define PARTNER_SERVER_API_ADMIN_HTTP_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/api/metrics.h"

struct event;
struct event_base;
struct evhttp;
struct evhttp_request;

namespace partner::api {

class AdminHttpServer {
 public:
  // Binds `address` HOST:PORT (port 0 picks one); connections wait until Serve() runs.
  // `metrics` must outlive the server.
  static absl::StatusOr<std::unique_ptr<AdminHttpServer>> Bind(const std::string& address,
                                                               const Metrics* metrics);
  ~AdminHttpServer();

  // Serves on the calling thread until Stop(). `on_readable` runs on that thread, once, when
  // `fd` becomes readable (the gateway's signal pipe); -1 watches nothing.
  void Serve(int fd, absl::AnyInvocable<void()> on_readable);
  // Any thread: Serve() returns once the request in progress, if any, is answered.
  void Stop();
  // Before Serve(): `tick` runs on the serving thread every `period` while it serves (the
  // gateway's log lines are flushed from here). Fails when libevent cannot add the timer.
  absl::Status RunEvery(absl::Duration period, absl::AnyInvocable<void()> tick);

  int port() const { return port_; }
  void SetReady(bool ready) { ready_.store(ready); }

 private:
  AdminHttpServer() = default;
  static void Handle(evhttp_request* request, void* self);
  static void OnReadable(int fd, short events, void* self);
  static void OnStop(int fd, short events, void* self);
  static void OnTick(int fd, short events, void* self);

  const Metrics* metrics_ = nullptr;
  std::atomic<bool> ready_{false};
  event_base* base_ = nullptr;
  evhttp* http_ = nullptr;
  event* watch_ = nullptr;
  event* stop_ = nullptr;
  event* tick_ = nullptr;
  absl::AnyInvocable<void()> on_readable_;
  absl::AnyInvocable<void()> on_tick_;
  int port_ = 0;
};

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_ADMIN_HTTP_H_
