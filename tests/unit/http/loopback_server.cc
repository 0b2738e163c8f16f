#include "tests/unit/http/loopback_server.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/string_view.h"

namespace partner::http::testing {
namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "LoopbackServer: %s\n", what);
  std::abort();
}

void Reply(evhttp_request* request, int code, absl::string_view body) {
  evbuffer* out = evbuffer_new();
  evbuffer_add(out, body.data(), body.size());
  evhttp_send_reply(request, code, nullptr, out);
  evbuffer_free(out);
}

void ReplyLater(evutil_socket_t, short, void* user) {
  Reply(static_cast<evhttp_request*>(user), 200, "done");
}

}  // namespace

LoopbackServer::LoopbackServer() {
  evthread_use_pthreads();
  base_ = event_base_new();
  http_ = base_ != nullptr ? evhttp_new(base_) : nullptr;
  if (http_ == nullptr) Fail("cannot create the event loop");
  evhttp_set_allowed_methods(http_, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                        EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_HEAD);
  evhttp_set_gencb(http_, &OnRequest, this);
  // evhttp asks for one bufferevent per accepted connection: the place to count connections.
  evhttp_set_bevcb(
      http_,
      [](event_base* base, void* user) -> bufferevent* {
        static_cast<LoopbackServer*>(user)->connections_accepted_.fetch_add(1);
        return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
      },
      this);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  // A deep backlog: a burst of a thousand connects must not wait for SYN retransmits.
  evconnlistener* listener = evconnlistener_new_bind(
      base_, nullptr, nullptr, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 4096,
      reinterpret_cast<sockaddr*>(&address), sizeof(address));
  if (listener == nullptr || evhttp_bind_listener(http_, listener) == nullptr) Fail("cannot listen");
  sockaddr_in bound{};
  socklen_t length = sizeof(bound);
  if (getsockname(evconnlistener_get_fd(listener), reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    Fail("cannot read the bound port");
  }
  port_ = ntohs(bound.sin_port);
  thread_ = std::thread([base = base_] { event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY); });
}

LoopbackServer::~LoopbackServer() {
  event_base_loopbreak(base_);
  thread_.join();
  evhttp_free(http_);
  event_base_free(base_);
}

std::string LoopbackServer::Url(const std::string& path) const {
  return absl::StrCat("http://127.0.0.1:", port_, path);
}

void LoopbackServer::OnRequest(evhttp_request* request, void* user) {
  auto* server = static_cast<LoopbackServer*>(user);
  server->requests_served_.fetch_add(1);
  const absl::string_view path = evhttp_request_get_uri(request);
  evkeyvalq* out_headers = evhttp_request_get_output_headers(request);
  int number = 0;
  auto number_after = [&](absl::string_view prefix) {
    absl::string_view rest = path;
    return absl::ConsumePrefix(&rest, prefix) && absl::SimpleAtoi(rest, &number);
  };
  if (absl::StartsWith(path, "/echo")) {
    const char* test_header = evhttp_find_header(evhttp_request_get_input_headers(request), "X-Test");
    if (test_header != nullptr) evhttp_add_header(out_headers, "X-Test-Echo", test_header);
    evhttp_add_header(out_headers, "X-Mixed-Case", "Value");
    evbuffer* in = evhttp_request_get_input_buffer(request);
    const std::size_t size = evbuffer_get_length(in);
    std::string body(size, '\0');
    evbuffer_remove(in, body.data(), size);
    const char* method = "OTHER";
    switch (evhttp_request_get_command(request)) {
      case EVHTTP_REQ_GET: method = "GET"; break;
      case EVHTTP_REQ_POST: method = "POST"; break;
      case EVHTTP_REQ_PUT: method = "PUT"; break;
      case EVHTTP_REQ_DELETE: method = "DELETE"; break;
      case EVHTTP_REQ_PATCH: method = "PATCH"; break;
      default: break;
    }
    Reply(request, 200, absl::StrCat(method, "\n", body));
  } else if (number_after("/delay/")) {
    const timeval delay{.tv_sec = number / 1000, .tv_usec = (number % 1000) * 1000};
    event_base_once(server->base_, -1, EV_TIMEOUT, &ReplyLater, request, &delay);
  } else if (number_after("/big/")) {
    Reply(request, 200, std::string(static_cast<std::size_t>(number), 'x'));
  } else if (number_after("/status/")) {
    Reply(request, number, "");
  } else if (path == "/redirect") {
    evhttp_add_header(out_headers, "Location", "http://127.0.0.1:1/elsewhere");
    Reply(request, 302, "");
  } else if (path != "/hang") {
    Reply(request, 404, "");
  }
}

}  // namespace partner::http::testing
