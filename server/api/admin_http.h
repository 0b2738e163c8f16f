// The admin HTTP listener: GET /metrics (Prometheus text), /healthz (the process is alive) and
// /readyz (200 while serving, 503 while starting or draining). libevent on its own thread.
#ifndef PARTNER_SERVER_API_ADMIN_HTTP_H_
#define PARTNER_SERVER_API_ADMIN_HTTP_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "server/api/metrics.h"

struct event_base;
struct evhttp;
struct evhttp_request;

namespace partner::api {

class AdminHttpServer {
 public:
  // `address` HOST:PORT (port 0 picks one). `metrics` must outlive the server.
  static absl::StatusOr<std::unique_ptr<AdminHttpServer>> Start(const std::string& address,
                                                                const Metrics* metrics);
  ~AdminHttpServer();

  int port() const { return port_; }
  void SetReady(bool ready) { ready_.store(ready); }

 private:
  AdminHttpServer() = default;
  static void Handle(evhttp_request* request, void* self);

  const Metrics* metrics_ = nullptr;
  std::atomic<bool> ready_{false};
  event_base* base_ = nullptr;
  evhttp* http_ = nullptr;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_ADMIN_HTTP_H_
