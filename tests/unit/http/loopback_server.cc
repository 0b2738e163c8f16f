#include "tests/unit/http/loopback_server.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

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

// A self-signed P-256 certificate for IP 127.0.0.1, valid for an hour; the PEM goes to `pem_path`.
SSL_CTX* MakeTlsContext(const std::string& pem_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  if (key == nullptr || cert == nullptr) Fail("cannot create a key");
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                                   std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    if (extension == nullptr) Fail("cannot build a certificate extension");
    X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
  }
  if (X509_sign(cert, key, EVP_sha256()) == 0) Fail("cannot sign the certificate");
  FILE* pem = std::fopen(pem_path.c_str(), "w");
  if (pem == nullptr || PEM_write_X509(pem, cert) == 0) Fail("cannot write the certificate");
  std::fclose(pem);
  SSL_CTX* tls = SSL_CTX_new(TLS_server_method());
  if (tls == nullptr || SSL_CTX_use_certificate(tls, cert) != 1 || SSL_CTX_use_PrivateKey(tls, key) != 1) {
    Fail("cannot set up TLS");
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  return tls;
}

void ReplyLater(evutil_socket_t, short, void* user) {
  Reply(static_cast<evhttp_request*>(user), 200, "done");
}

}  // namespace

LoopbackServer::LoopbackServer(Tls tls) {
  evthread_use_pthreads();
  // OpenSSL writes to the socket without MSG_NOSIGNAL: a client that hangs up mid-handshake must
  // fail its test, not end the test binary with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  if (tls == Tls::kOn) {
    static std::atomic<int> counter{0};
    ca_file_ = absl::StrCat(::testing::TempDir(), "loopback-ca-", getpid(), "-", counter.fetch_add(1), ".pem");
    tls_ = MakeTlsContext(ca_file_);
  }
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
        auto* server = static_cast<LoopbackServer*>(user);
        server->connections_accepted_.fetch_add(1);
        if (server->tls_ == nullptr) return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
        return bufferevent_openssl_socket_new(base, -1, SSL_new(server->tls_), BUFFEREVENT_SSL_ACCEPTING,
                                              BEV_OPT_CLOSE_ON_FREE);
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
  // Stopping goes through an event, not event_base_loopbreak() from the destructor's thread: a
  // break requested before the loop starts is forgotten when it does.
  stop_ = event_new(
      base_, -1, EV_PERSIST, [](evutil_socket_t, short, void* base) { event_base_loopbreak(static_cast<event_base*>(base)); },
      base_);
  if (stop_ == nullptr) Fail("cannot create the stop event");
  thread_ = std::thread([base = base_] { event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY); });
}

LoopbackServer::~LoopbackServer() {
  event_active(stop_, EV_READ, 0);
  thread_.join();
  event_free(stop_);
  evhttp_free(http_);
  event_base_free(base_);
  if (tls_ != nullptr) {
    SSL_CTX_free(tls_);
    std::remove(ca_file_.c_str());
  }
}

std::string LoopbackServer::Url(const std::string& path) const {
  return absl::StrCat(tls_ != nullptr ? "https" : "http", "://127.0.0.1:", port_, path);
}

void LoopbackServer::OnRequest(evhttp_request* request, void* user) {
  auto* server = static_cast<LoopbackServer*>(user);
  server->requests_served_.fetch_add(1);
  if (server->tls_ != nullptr) {
    SSL* tls = bufferevent_openssl_get_ssl(evhttp_connection_get_bufferevent(evhttp_request_get_connection(request)));
    if (tls != nullptr && SSL_session_reused(tls) == 1) server->requests_on_resumed_sessions_.fetch_add(1);
  }
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
  } else if (number_after("/chunked/")) {
    // No Content-Length: the client learns the size only while reading.
    evhttp_send_reply_start(request, 200, nullptr);
    evbuffer* chunk = evbuffer_new();
    for (int sent = 0; sent < number; sent += 1024) {
      const std::string part(static_cast<std::size_t>(std::min(1024, number - sent)), 'y');
      evbuffer_add(chunk, part.data(), part.size());
      evhttp_send_reply_chunk(request, chunk);
    }
    evbuffer_free(chunk);
    evhttp_send_reply_end(request);
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
