#include "emulator/emulator.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "emulator/json_text.h"
#include "nlohmann/json.hpp"

namespace partner::emulator {

class Emulator::Impl {
 public:
  explicit Impl(EmulatorOptions options) : options_(std::move(options)), faults_(options_.faults), random_(faults_.seed) {}
  ~Impl();

  absl::Status Listen();
  absl::Status SetUpTls();

  EmulatorOptions options_;
  std::string base_url_;
  std::string certificate_pem_;
  int port_ = 0;
  std::unique_ptr<Services> services_;
  event_base* base_ = nullptr;
  evhttp* http_ = nullptr;
  SSL_CTX* ssl_ctx_ = nullptr;
  std::thread loop_;
  // How a response goes on the wire: whole, cut short (declared length never reached, then the
  // connection closes), or trickled one body byte per timer tick after the headers.
  enum class Delivery { kWhole, kTruncated, kTrickle };
  // A response waiting out its injected latency on the loop's timer, or trickling. Loop thread only.
  struct DelayedReply {
    Impl* impl;
    evhttp_request* request;  // null once the client went away
    evhttp_connection* connection;
    EmuResponse response;
    event* timer;
    Delivery delivery = Delivery::kWhole;
    absl::Duration interval = absl::ZeroDuration();
    bool started = false;  // trickle: headers sent
    std::size_t sent = 0;  // trickle: body bytes sent
  };
  std::set<DelayedReply*> delayed_;
  // The most replies ever waiting at once: how benchmarks show that requests are held concurrently.
  std::size_t delayed_peak_ = 0;

  mutable absl::Mutex faults_mu_;
  FaultOptions faults_ ABSL_GUARDED_BY(faults_mu_);
  std::mt19937_64 random_ ABSL_GUARDED_BY(faults_mu_);

 private:
  static void OnRequest(evhttp_request* request, void* self);
  static bufferevent* NewTlsConnection(event_base* base, void* self);
  static void OnConnectionClosed(evhttp_connection* connection, void* self);
  void Serve(evhttp_request* request);
  // The fault to inject for this request, decided under the faults lock.
  enum class Fault { kNone, kUnavailable, kThrottle, kReset, kMalformed, kTruncated, kOversized, kSlowBody };
  struct Picked {
    Fault fault = Fault::kNone;
    absl::Duration delay;
    absl::Duration retry_after;
    std::size_t oversized_bytes = 0;
    absl::Duration slow_body_interval;
  };
  Picked PickFault();
  EmuResponse FaultResponse(const Picked& picked, const EmuRequest& request);
  void Reply(evhttp_request* request, EmuResponse response, absl::Duration delay, Delivery delivery = Delivery::kWhole,
             absl::Duration interval = absl::ZeroDuration());
  void OnTimer(DelayedReply* reply);
};

namespace {

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

const char* MethodName(evhttp_cmd_type command) {
  switch (command) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_PATCH: return "PATCH";
    case EVHTTP_REQ_HEAD: return "HEAD";
    default: return "OTHER";
  }
}

// A bodiless 204 cannot be cut short or trickled: such faults answer 200 with "{}" instead.
void EnsureBody(EmuResponse* response) {
  if (!response->body.empty()) return;
  response->status = 200;
  response->body = "{}";
}

// Truncated and trickled bodies declare their length themselves, so evhttp neither adds one nor
// switches to chunked encoding.
void StartStreamedReply(evhttp_request* request, const EmuResponse& response, std::size_t declared_length) {
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  for (const auto& [name, value] : response.headers) evhttp_add_header(headers, name.c_str(), value.c_str());
  evhttp_add_header(headers, "Content-Length", absl::StrCat(declared_length).c_str());
  evhttp_send_reply_start(request, response.status, ReasonPhrase(response.status));
}

void SendChunk(evhttp_request* request, absl::string_view bytes) {
  evbuffer* chunk = evbuffer_new();
  evbuffer_add(chunk, bytes.data(), bytes.size());
  evhttp_send_reply_chunk(request, chunk);
  evbuffer_free(chunk);
}

// Half the body against a Content-Length 100 bytes beyond the whole, then "Connection: close"
// makes evhttp close once that half is written: the client sees EOF mid-body.
void SendTruncated(evhttp_request* request, EmuResponse response) {
  EnsureBody(&response);
  evhttp_add_header(evhttp_request_get_output_headers(request), "Connection", "close");
  StartStreamedReply(request, response, response.body.size() + 100);
  SendChunk(request, absl::string_view(response.body).substr(0, response.body.size() / 2));
  evhttp_send_reply_end(request);
}

void SendNow(evhttp_request* request, const EmuResponse& response) {
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  for (const auto& [name, value] : response.headers) evhttp_add_header(headers, name.c_str(), value.c_str());
  if (response.reset_connection) {
    // RST instead of an answer: linger 0 then shutdown; libevent frees the connection when the
    // reply cannot be written.
    evhttp_connection* connection = evhttp_request_get_connection(request);
    const int fd = bufferevent_getfd(evhttp_connection_get_bufferevent(connection));
    linger hard{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    shutdown(fd, SHUT_RDWR);
    evhttp_send_error(request, 500, "reset");
    return;
  }
  evhttp_connection* connection = evhttp_request_get_connection(request);
  evbuffer* body = evbuffer_new();
  evbuffer_add(body, response.body.data(), response.body.size());
  evhttp_send_reply(request, response.status, ReasonPhrase(response.status), body);
  evbuffer_free(body);
  if (connection != nullptr) {
    // evhttp queues the head and the body as separate chains, which the TLS bufferevent would
    // send as two records in two writes when the socket is next writable. Joined, the response
    // leaves as one record in one segment, as production servers send small responses, and
    // neither side pays a second record and wakeup.
    evbuffer_pullup(bufferevent_get_output(evhttp_connection_get_bufferevent(connection)), -1);
  }
}

}  // namespace

void Emulator::Impl::OnRequest(evhttp_request* request, void* self) { static_cast<Impl*>(self)->Serve(request); }

void Emulator::Impl::OnConnectionClosed(evhttp_connection* connection, void* self) {
  for (DelayedReply* reply : static_cast<Impl*>(self)->delayed_) {
    if (reply->connection != connection || reply->request == nullptr) continue;
    // A request the client abandoned before its reply finished is detached from the connection
    // and left to its owner (us); one still queued on the connection goes with it.
    if (evhttp_request_get_connection(reply->request) == nullptr) evhttp_request_free(reply->request);
    reply->request = nullptr;
  }
}

void Emulator::Impl::Serve(evhttp_request* evrequest) {
  EmuRequest request;
  request.method = MethodName(evhttp_request_get_command(evrequest));
  const std::string uri = evhttp_request_get_uri(evrequest);
  const std::size_t question = uri.find('?');
  request.raw_path = uri.substr(0, question);
  const bool decoded = DecodePath(request.raw_path, &request.segments) &&
                       (question == std::string::npos || DecodeQuery(uri.substr(question + 1), &request.query));
  for (evkeyval* h = evhttp_request_get_input_headers(evrequest)->tqh_first; h != nullptr; h = h->next.tqe_next) {
    request.headers.emplace_back(absl::AsciiStrToLower(h->key), h->value);
  }
  evbuffer* input = evhttp_request_get_input_buffer(evrequest);
  const std::size_t length = evbuffer_get_length(input);
  request.body.assign(reinterpret_cast<const char*>(evbuffer_pullup(input, static_cast<ev_ssize_t>(length))), length);
  if (!decoded) {
    EmuResponse bad;
    bad.status = 400;
    bad.body = R"({"error":{"code":"BadRequest","message":"Malformed percent-encoding in the request URL."}})";
    Reply(evrequest, std::move(bad), absl::ZeroDuration());
    return;
  }

  if (request.segments.size() == 2 && request.segments[0] == "_emulator" && request.segments[1] == "faults") {
    EmuResponse response;
    response.With("Content-Type", "application/json");
    if (request.method == "POST") {
      const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
      if (!body.is_object()) {
        response.status = 400;
        response.body = R"({"error":"expected a JSON object"})";
        Reply(evrequest, std::move(response), absl::ZeroDuration());
        return;
      }
      absl::MutexLock lock(&faults_mu_);
      faults_.unavailable_rate = body.value("unavailableRate", 0.0);
      faults_.throttle_rate = body.value("throttleRate", 0.0);
      faults_.reset_rate = body.value("resetRate", 0.0);
      faults_.throttle_retry_after = absl::Milliseconds(body.value("throttleRetryAfterMs", 1000));
      faults_.latency = absl::Milliseconds(body.value("latencyMs", 0));
      faults_.latency_jitter = absl::Milliseconds(body.value("latencyJitterMs", 0));
      faults_.malformed_rate = body.value("malformedRate", 0.0);
      faults_.truncated_rate = body.value("truncatedRate", 0.0);
      faults_.oversized_rate = body.value("oversizedRate", 0.0);
      faults_.slow_body_rate = body.value("slowBodyRate", 0.0);
      faults_.oversized_bytes = body.value("oversizedBytes", std::size_t{20} << 20);
      faults_.slow_body_interval = absl::Milliseconds(body.value("slowBodyIntervalMs", 100));
    }
    absl::MutexLock lock(&faults_mu_);
    response.body = JsonText(nlohmann::json{{"unavailableRate", faults_.unavailable_rate},
                                            {"throttleRate", faults_.throttle_rate},
                                            {"resetRate", faults_.reset_rate},
                                            {"throttleRetryAfterMs", absl::ToInt64Milliseconds(faults_.throttle_retry_after)},
                                            {"latencyMs", absl::ToInt64Milliseconds(faults_.latency)},
                                            {"latencyJitterMs", absl::ToInt64Milliseconds(faults_.latency_jitter)},
                                            {"malformedRate", faults_.malformed_rate},
                                            {"truncatedRate", faults_.truncated_rate},
                                            {"oversizedRate", faults_.oversized_rate},
                                            {"slowBodyRate", faults_.slow_body_rate},
                                            {"oversizedBytes", faults_.oversized_bytes},
                                            {"slowBodyIntervalMs", absl::ToInt64Milliseconds(faults_.slow_body_interval)}});
    Reply(evrequest, std::move(response), absl::ZeroDuration());
    return;
  }

  if (request.segments.size() == 2 && request.segments[0] == "_emulator" && request.segments[1] == "in-flight" &&
      request.method == "GET") {
    EmuResponse response;
    response.With("Content-Type", "application/json");
    response.body = JsonText(nlohmann::json{{"delayedNow", delayed_.size()}, {"delayedPeak", delayed_peak_}});
    Reply(evrequest, std::move(response), absl::ZeroDuration());
    return;
  }

  const bool admin = !request.segments.empty() && request.segments[0] == "_emulator";
  const Picked picked = admin ? Picked{} : PickFault();
  switch (picked.fault) {
    case Fault::kNone:
      Reply(evrequest, services_->Handle(request), picked.delay);
      return;
    case Fault::kTruncated:
      Reply(evrequest, services_->Handle(request), picked.delay, Delivery::kTruncated);
      return;
    case Fault::kSlowBody:
      Reply(evrequest, services_->Handle(request), picked.delay, Delivery::kTrickle, picked.slow_body_interval);
      return;
    default:
      Reply(evrequest, FaultResponse(picked, request), picked.delay);
      return;
  }
}

Emulator::Impl::Picked Emulator::Impl::PickFault() {
  absl::MutexLock lock(&faults_mu_);
  std::uniform_real_distribution<double> unit(0, 1);
  Picked picked;
  picked.delay = faults_.latency;
  if (faults_.latency_jitter > absl::ZeroDuration()) picked.delay += faults_.latency_jitter * unit(random_);
  picked.retry_after = faults_.throttle_retry_after;
  picked.oversized_bytes = faults_.oversized_bytes;
  picked.slow_body_interval = faults_.slow_body_interval;
  // One roll against the cumulative rates, so the rates are exact shares of all requests.
  double roll = unit(random_);
  for (const auto& [fault, rate] : {std::pair{Fault::kReset, faults_.reset_rate},
                                    {Fault::kUnavailable, faults_.unavailable_rate},
                                    {Fault::kThrottle, faults_.throttle_rate},
                                    {Fault::kMalformed, faults_.malformed_rate},
                                    {Fault::kTruncated, faults_.truncated_rate},
                                    {Fault::kOversized, faults_.oversized_rate},
                                    {Fault::kSlowBody, faults_.slow_body_rate}}) {
    if (roll < rate) {
      picked.fault = fault;
      return picked;
    }
    roll -= rate;
  }
  return picked;
}

EmuResponse Emulator::Impl::FaultResponse(const Picked& picked, const EmuRequest& request) {
  const Fault fault = picked.fault;
  const absl::Duration retry_after = picked.retry_after;
  EmuResponse response;
  if (fault == Fault::kReset) {
    response.reset_connection = true;
    return response;
  }
  if (fault == Fault::kMalformed || fault == Fault::kOversized) {
    response.status = 200;
    response.With("Content-Type", "application/json; charset=utf-8");
    response.body = fault == Fault::kMalformed
                        ? std::string(R"({"totalCount":1,"items":[{"id":"7f1c2d3e","companyProfile":{"companyName":"Contoso)")
                        : absl::StrCat(R"({"padding":")", std::string(picked.oversized_bytes, 'x'), R"("})");
    return response;
  }
  const std::string service = request.segments.empty() ? "" : absl::AsciiStrToLower(request.segments[0]);
  const bool throttle = fault == Fault::kThrottle;
  response.status = throttle ? 429 : 503;
  response.With("Content-Type", "application/json; charset=utf-8");
  const double seconds = absl::ToDoubleSeconds(retry_after);
  if (service == "v1") {
    response.body = JsonText(nlohmann::json{{"statusCode", response.status},
                                            {"message", throttle ? absl::StrFormat("Rate limit is exceeded. Try again in %.0f seconds.", std::ceil(seconds))
                                                                 : "The service is temporarily unavailable."}});
    if (throttle) response.With("Retry-After", absl::StrCat(static_cast<int>(std::ceil(seconds))));
  } else if (service == "v1.0") {
    response.body = JsonText(nlohmann::json{{"error",
                                             {{"code", throttle ? "TooManyRequests" : "serviceNotAvailable"},
                                              {"message", throttle ? "Please retry again later." : "Service unavailable."},
                                              {"innerError", {{"code", absl::StrCat(response.status)}, {"status", absl::StrCat(response.status)}}}}}});
    // Graph may write fractional seconds (CONTRACTS.md §6.3).
    if (throttle) {
      response.With("Retry-After", options_.services.graph_fractional_retry_after ? absl::StrFormat("%.3f", seconds)
                                                                                 : absl::StrCat(static_cast<int>(std::ceil(seconds))));
    }
  } else {
    response.body = JsonText(nlohmann::json{{"error",
                                             {{"code", throttle ? "TooManyRequests" : "ServiceUnavailable"},
                                              {"message", throttle ? "The request was throttled." : "The service is temporarily unavailable."}}}});
    if (throttle) response.With("Retry-After", absl::StrCat(static_cast<int>(std::ceil(seconds))));
  }
  return response;
}

void Emulator::Impl::Reply(evhttp_request* request, EmuResponse response, absl::Duration delay, Delivery delivery,
                           absl::Duration interval) {
  if (delay <= absl::ZeroDuration() && delivery != Delivery::kTrickle) {
    if (delivery == Delivery::kTruncated) SendTruncated(request, std::move(response));
    else SendNow(request, response);
    return;
  }
  evhttp_connection* connection = evhttp_request_get_connection(request);
  // The request must be forgotten (and freed, OnConnectionClosed) if the client goes away first.
  evhttp_connection_set_closecb(connection, &Impl::OnConnectionClosed, this);
  if (delivery == Delivery::kTrickle) EnsureBody(&response);
  auto* pending = new DelayedReply{this, request, connection, std::move(response), nullptr, delivery, interval};
  delayed_.insert(pending);
  delayed_peak_ = std::max(delayed_peak_, delayed_.size());
  pending->timer = evtimer_new(
      base_, [](evutil_socket_t, short, void* arg) { static_cast<DelayedReply*>(arg)->impl->OnTimer(static_cast<DelayedReply*>(arg)); },
      pending);
  const timeval tv = absl::ToTimeval(std::max(delay, absl::ZeroDuration()));
  evtimer_add(pending->timer, &tv);
}

void Emulator::Impl::OnTimer(DelayedReply* reply) {
  const std::string& body = reply->response.body;
  if (reply->request != nullptr && reply->delivery == Delivery::kTrickle && reply->sent < body.size()) {
    if (!reply->started) {
      StartStreamedReply(reply->request, reply->response, body.size());
      reply->started = true;
    } else {
      SendChunk(reply->request, absl::string_view(body).substr(reply->sent++, 1));
    }
    const timeval tv = absl::ToTimeval(reply->interval);
    evtimer_add(reply->timer, &tv);
    return;
  }
  std::unique_ptr<DelayedReply> done(reply);
  delayed_.erase(reply);
  event_free(reply->timer);
  if (reply->request == nullptr) return;
  switch (reply->delivery) {
    case Delivery::kWhole: SendNow(reply->request, reply->response); break;
    case Delivery::kTruncated: SendTruncated(reply->request, std::move(reply->response)); break;
    case Delivery::kTrickle: evhttp_send_reply_end(reply->request); break;
  }
}

namespace {

// A self-signed certificate for `host` (and localhost), so tests can run the emulator over HTTPS
// and trust exactly it.
absl::Status GenerateCertificate(const std::string& host, std::string* cert_pem, std::string* key_pem) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_RSA_gen(2048), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  if (!key || !cert) return absl::InternalError("cannot generate the emulator's TLS key");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(absl::ToUnixSeconds(absl::Now())));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("partner-emulator"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  const bool is_ip = host.find_first_not_of("0123456789.:") == std::string::npos;
  const std::string san = absl::StrCat(is_ip ? "IP:" : "DNS:", host, ",DNS:localhost");
  for (const auto& [nid, value] : {std::pair<int, std::string>{NID_subject_alt_name, san}, {NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr) return absl::InternalError("cannot build the emulator's certificate extensions");
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return absl::InternalError("cannot sign the emulator's certificate");
  auto to_pem = [](auto write) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    write(bio.get());
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
  };
  *cert_pem = to_pem([&](BIO* bio) { PEM_write_bio_X509(bio, cert.get()); });
  *key_pem = to_pem([&](BIO* bio) { PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
  return absl::OkStatus();
}

}  // namespace

bufferevent* Emulator::Impl::NewTlsConnection(event_base* base, void* self) {
  SSL* ssl = SSL_new(static_cast<Impl*>(self)->ssl_ctx_);
  return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

absl::Status Emulator::Impl::SetUpTls() {
  std::string cert_pem;
  std::string key_pem;
  if (options_.tls_cert_file.empty() != options_.tls_key_file.empty()) {
    return absl::InvalidArgumentError("tls_cert_file and tls_key_file must be given together");
  }
  ssl_ctx_ = SSL_CTX_new(TLS_server_method());
  if (options_.tls_cert_file.empty()) {
    if (absl::Status generated = GenerateCertificate(options_.host, &cert_pem, &key_pem); !generated.ok()) return generated;
    std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())), BIO_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())), BIO_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr), X509_free);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
    if (SSL_CTX_use_certificate(ssl_ctx_, cert.get()) != 1 || SSL_CTX_use_PrivateKey(ssl_ctx_, key.get()) != 1) {
      return absl::InternalError("cannot load the generated certificate");
    }
    certificate_pem_ = cert_pem;
  } else {
    if (SSL_CTX_use_certificate_chain_file(ssl_ctx_, options_.tls_cert_file.c_str()) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("tls_cert_file: cannot load a PEM certificate from ", options_.tls_cert_file));
    }
    if (SSL_CTX_use_PrivateKey_file(ssl_ctx_, options_.tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ssl_ctx_) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("tls_key_file: cannot load a PEM key matching the certificate from ", options_.tls_key_file));
    }
  }
  evhttp_set_bevcb(http_, &Impl::NewTlsConnection, this);
  return absl::OkStatus();
}

absl::Status Emulator::Impl::Listen() {
  evthread_use_pthreads();
  // A client that goes away mid-response must not kill the process that hosts the emulator.
  std::signal(SIGPIPE, SIG_IGN);
  base_ = event_base_new();
  http_ = base_ ? evhttp_new(base_) : nullptr;
  if (http_ == nullptr) return absl::InternalError("cannot create the emulator's event loop");
  evhttp_set_gencb(http_, &Impl::OnRequest, this);
  evhttp_set_max_body_size(http_, 1 << 20);
  evhttp_set_allowed_methods(http_, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH);
  if (options_.https) {
    if (absl::Status tls = SetUpTls(); !tls.ok()) return tls;
  }
  evhttp_bound_socket* socket = evhttp_bind_socket_with_handle(http_, options_.host.c_str(), static_cast<ev_uint16_t>(options_.port));
  if (socket == nullptr) return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.host, ":", options_.port));
  // Accepted sockets inherit TCP_NODELAY from the listener on Linux; without it each small TLS
  // record waits out the client's delayed ACK (~40 ms per response).
  const int no_delay = 1;
  setsockopt(evhttp_bound_socket_get_fd(socket), IPPROTO_TCP, TCP_NODELAY, &no_delay, sizeof(no_delay));
  // evhttp listens with a backlog of 128: thousands of clients connecting at once overflow it and
  // wait out SYN retransmissions (1 s, 3 s, ...). Listening again on Linux only raises the backlog.
  listen(evhttp_bound_socket_get_fd(socket), SOMAXCONN);
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  getsockname(evhttp_bound_socket_get_fd(socket), reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&address)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&address)->sin_port);
  const bool v6 = options_.host.find(':') != std::string::npos;
  base_url_ = absl::StrCat(options_.https ? "https://" : "http://", v6 ? "[" : "", options_.host, v6 ? "]" : "", ":", port_);
  absl::StatusOr<std::unique_ptr<Services>> services = Services::Create(options_.services, base_url_);
  if (!services.ok()) return services.status();
  services_ = *std::move(services);
  // event_base_loop forgets a loopbreak that came before it started, so an emulator destroyed
  // right after Start would wait for its loop forever: return only once the loop runs.
  absl::Notification running;
  const timeval now{0, 0};
  event_base_once(
      base_, -1, EV_TIMEOUT, [](evutil_socket_t, short, void* arg) { static_cast<absl::Notification*>(arg)->Notify(); },
      &running, &now);
  loop_ = std::thread([base = base_] { event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY); });
  running.WaitForNotification();
  return absl::OkStatus();
}

Emulator::Impl::~Impl() {
  if (loop_.joinable()) {
    event_base_loopbreak(base_);
    loop_.join();
  }
  for (DelayedReply* reply : delayed_) {
    event_free(reply->timer);
    delete reply;
  }
  // evhttp_free below closes the open connections, whose close callback walks delayed_.
  delayed_.clear();
  if (http_ != nullptr) evhttp_free(http_);
  if (base_ != nullptr) {
    // A connection's TLS bufferevent is freed only once its deferred callbacks have run, each
    // holding a reference; event_base_free drops those callbacks unrun, which would leak the
    // connection and with it the SSL_CTX. The loop thread is gone, so run what is left here.
    // Returns 1 once nothing is left to run; bounded in case something stays registered.
    for (int round = 0; round < 16; ++round) {
      if (event_base_loop(base_, EVLOOP_NONBLOCK) != 0) break;
    }
    event_base_free(base_);
  }
  if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
}

absl::StatusOr<std::unique_ptr<Emulator>> Emulator::Start(EmulatorOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status listening = impl->Listen(); !listening.ok()) return listening;
  return std::unique_ptr<Emulator>(new Emulator(std::move(impl)));
}

Emulator::Emulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Emulator::~Emulator() = default;

const std::string& Emulator::base_url() const { return impl_->base_url_; }
int Emulator::port() const { return impl_->port_; }
const std::string& Emulator::ca_certificate_pem() const { return impl_->certificate_pem_; }
Services& Emulator::services() { return *impl_->services_; }

void Emulator::SetFaults(const FaultOptions& faults) {
  absl::MutexLock lock(&impl_->faults_mu_);
  impl_->faults_ = faults;
  impl_->random_.seed(faults.seed);
}

FaultOptions Emulator::faults() const {
  absl::MutexLock lock(&impl_->faults_mu_);
  return impl_->faults_;
}

}  // namespace partner::emulator
