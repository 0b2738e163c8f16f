#include "server/api/admin_http.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <event2/util.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/config/load_config.h"

namespace partner::api {
namespace {

void Reply(evhttp_request* request, int code, const char* reason, const std::string& body,
           const char* content_type) {
  evhttp_add_header(evhttp_request_get_output_headers(request), "Content-Type", content_type);
  evbuffer* buffer = evbuffer_new();
  evbuffer_add(buffer, body.data(), body.size());
  evhttp_send_reply(request, code, reason, buffer);
  evbuffer_free(buffer);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminHttpServer>> AdminHttpServer::Bind(const std::string& address,
                                                                        const Metrics* metrics) {
  std::optional<config::HostPort> hp = config::SplitHostPort(address);
  if (!hp.has_value()) return absl::InvalidArgumentError(absl::StrCat("admin address \"", address, "\" is not HOST:PORT"));
  // Stop() breaks the loop from another thread.
  evthread_use_pthreads();
  std::unique_ptr<AdminHttpServer> server(new AdminHttpServer());
  server->metrics_ = metrics;
  server->base_ = event_base_new();
  if (server->base_ == nullptr) return absl::InternalError("admin http: event_base_new failed");
  server->stop_ = event_new(server->base_, -1, 0, &AdminHttpServer::OnStop, server.get());
  if (server->stop_ == nullptr) return absl::InternalError("admin http: event_new failed");
  server->http_ = evhttp_new(server->base_);
  evhttp_set_allowed_methods(server->http_, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
  evhttp_set_gencb(server->http_, &AdminHttpServer::Handle, server.get());
  evhttp_bound_socket* socket =
      evhttp_bind_socket_with_handle(server->http_, hp->host.c_str(), static_cast<uint16_t>(hp->port));
  if (socket == nullptr) {
    return absl::UnavailableError(absl::StrCat("admin http: cannot listen on ", address));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(evhttp_bound_socket_get_fd(socket), reinterpret_cast<sockaddr*>(&bound), &len);
  server->port_ = bound.ss_family == AF_INET6
                      ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return server;
}

AdminHttpServer::~AdminHttpServer() {
  if (watch_ != nullptr) event_free(watch_);
  if (tick_ != nullptr) event_free(tick_);
  if (stop_ != nullptr) event_free(stop_);
  if (http_ != nullptr) evhttp_free(http_);
  if (base_ != nullptr) event_base_free(base_);
}

void AdminHttpServer::Serve(int fd, absl::AnyInvocable<void()> on_readable) {
  if (fd >= 0) {
    on_readable_ = std::move(on_readable);
    watch_ = event_new(base_, fd, EV_READ, &AdminHttpServer::OnReadable, this);
    event_add(watch_, nullptr);
  }
  event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY);
}

// An activated event survives until the loop runs, unlike a loopbreak sent before it starts.
void AdminHttpServer::Stop() { event_active(stop_, EV_READ, 0); }

absl::Status AdminHttpServer::RunEvery(absl::Duration period, absl::AnyInvocable<void()> tick) {
  if (tick_ != nullptr) return absl::FailedPreconditionError("admin http: RunEvery called twice");
  on_tick_ = std::move(tick);
  tick_ = event_new(base_, -1, EV_PERSIST, &AdminHttpServer::OnTick, this);
  const timeval interval = absl::ToTimeval(period);
  if (tick_ == nullptr || event_add(tick_, &interval) != 0) {
    return absl::InternalError("admin http: cannot add a periodic timer");
  }
  return absl::OkStatus();
}

void AdminHttpServer::OnTick(int, short, void* self) { static_cast<AdminHttpServer*>(self)->on_tick_(); }

void AdminHttpServer::OnStop(int, short, void* self) {
  event_base_loopbreak(static_cast<AdminHttpServer*>(self)->base_);
}

void AdminHttpServer::OnReadable(int, short, void* self) {
  auto* server = static_cast<AdminHttpServer*>(self);
  absl::AnyInvocable<void()> callback = std::move(server->on_readable_);
  if (callback) callback();
}

void AdminHttpServer::Handle(evhttp_request* request, void* arg) {
  auto* self = static_cast<AdminHttpServer*>(arg);
  const char* path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(request));
  const std::string p = path == nullptr ? "" : path;
  if (p == "/metrics") {
    Reply(request, 200, "OK", self->metrics_->RenderPrometheus(), "text/plain; version=0.0.4");
  } else if (p == "/healthz") {
    Reply(request, 200, "OK", "ok\n", "text/plain");
  } else if (p == "/readyz") {
    if (self->ready_.load()) {
      Reply(request, 200, "OK", "ready\n", "text/plain");
    } else {
      Reply(request, 503, "Service Unavailable", "not ready\n", "text/plain");
    }
  } else {
    Reply(request, 404, "Not Found", "not found\n", "text/plain");
  }
}

}  // namespace partner::api
