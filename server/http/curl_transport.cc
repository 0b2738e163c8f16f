#include "server/http/curl_transport.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/http/nothing_sent.h"
#include "server/http/url_parts.h"

namespace partner::http {
namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    // Send() and cancellation wake the loop with event_active() from other threads.
    evthread_use_pthreads();
  });
}

// memchr twice: this runs over every header of every request, the bearer token's hundreds of
// bytes among them, and Debian's Abseil makes find_first_of build a lookup table per call and
// StrContains an out-of-line call.
bool HasLineBreak(absl::string_view text) {
  return !text.empty() &&
         (std::memchr(text.data(), '\r', text.size()) != nullptr || std::memchr(text.data(), '\n', text.size()) != nullptr);
}

}  // namespace

class CurlTransport::Loop {
 public:
  struct Transfer {
    std::uint64_t id = 0;
    std::shared_ptr<HttpRequest> request;
    HttpDone done;
    CURL* easy = nullptr;
    bool in_multi = false;
    curl_slist* headers = nullptr;
    event* queue_deadline = nullptr;
    HttpResponse response;
    bool too_large = false;
    // The attempt timeout, not the caller's deadline, bounds this transfer.
    bool attempt_bounded = false;
    char error[CURL_ERROR_SIZE] = {};
    Loop* loop = nullptr;
  };

  explicit Loop(CurlTransportOptions options) : options_(std::move(options)) {}
  ~Loop() { Release(); }

  absl::Status Init();
  // The loop thread's body: runs until Stop(), then frees every libevent and curl resource.
  void Run();

  // Any thread. Fails what can be refused without the loop, so such requests complete inline.
  absl::Status Check(const HttpRequest& request) const;
  // Any thread. Returns the transfer id, or 0 when the transport is stopping (the transfer has
  // then been completed with CANCELLED).
  std::uint64_t Post(std::unique_ptr<Transfer> transfer);
  void PostCancel(std::uint64_t id);
  // Any thread. Runs `callback` on the loop thread at `when`, or with CANCELLED when the loop
  // stops first (inline when it already has).
  void PostTimer(absl::Time when, TimerCallback callback);
  void Stop();
  // Any thread: transfers posted to this loop and not yet completed.
  int load() const { return load_.load(std::memory_order_relaxed); }

 private:
  static std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user);
  static std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user);
  static int OnCurlSocket(CURL* easy, curl_socket_t socket, int what, void* user, void* socket_user);
  static int OnCurlTimer(CURLM* multi, long timeout_ms, void* user);
  static void OnSocketEvent(evutil_socket_t socket, short events, void* user);
  static void OnTimerEvent(evutil_socket_t socket, short events, void* user);
  static void OnWakeEvent(evutil_socket_t socket, short events, void* user);
  static void OnQueueDeadline(evutil_socket_t socket, short events, void* user);
  static void OnWaitDone(evutil_socket_t socket, short events, void* user);

  struct Wait {
    absl::Time when;
    TimerCallback callback;
    event* timer = nullptr;
    Loop* loop = nullptr;
  };
  void Arm(std::unique_ptr<Wait> wait);

  void Drain();
  void Admit(std::unique_ptr<Transfer> transfer);
  void StartQueued();
  absl::Status Start(Transfer& transfer);
  void CheckDone();
  void Complete(std::uint64_t id, absl::StatusOr<HttpResponse> result);
  absl::Status ErrorStatus(const Transfer& transfer, CURLcode code) const;
  CURL* TakeEasyHandle();
  void ReturnEasyHandle(CURL* easy);
  void Release();

  const CurlTransportOptions options_;
  event_base* base_ = nullptr;
  CURLM* multi_ = nullptr;
  CURLSH* share_ = nullptr;
  event* curl_timer_ = nullptr;
  event* wake_ = nullptr;

  absl::Mutex mu_;
  std::vector<std::unique_ptr<Transfer>> incoming_ ABSL_GUARDED_BY(mu_);
  std::vector<std::uint64_t> cancels_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Wait>> incoming_waits_ ABSL_GUARDED_BY(mu_);
  std::uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int> load_ = 0;

  // Loop thread only.
  absl::flat_hash_map<std::uint64_t, std::unique_ptr<Transfer>> transfers_;
  std::deque<std::uint64_t> waiting_;  // may hold ids already completed; skipped when popped
  int active_ = 0;
  absl::flat_hash_map<curl_socket_t, event*> sockets_;
  absl::flat_hash_map<Wait*, std::unique_ptr<Wait>> waits_;
  std::vector<CURL*> idle_easy_;
};

// Waits take turns between the loops.
class CurlTransport::LoopTimer final : public Timer {
 public:
  explicit LoopTimer(const std::vector<std::shared_ptr<Loop>>& loops) : loops_(loops.begin(), loops.end()) {}
  absl::Time Now() override { return absl::Now(); }
  void After(absl::Duration delay, TimerCallback callback) override {
    const std::size_t turn = next_.fetch_add(1, std::memory_order_relaxed) % loops_.size();
    if (std::shared_ptr<Loop> loop = loops_[turn].lock()) {
      loop->PostTimer(absl::Now() + delay, std::move(callback));
      return;
    }
    callback(absl::CancelledError("HTTP transport shut down"));
  }

 private:
  const std::vector<std::weak_ptr<Loop>> loops_;
  std::atomic<std::size_t> next_ = 0;
};

std::size_t CurlTransport::Loop::OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  if (transfer->response.body.size() + bytes > transfer->request->max_response_bytes) {
    transfer->too_large = true;
    return 0;  // anything but `bytes` aborts the transfer with CURLE_WRITE_ERROR
  }
  transfer->response.body.append(data, bytes);
  return bytes;
}

std::size_t CurlTransport::Loop::OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  const absl::string_view line = absl::StripAsciiWhitespace(absl::string_view(data, bytes));
  // A status line starts a new response (after a 100 Continue); keep only the final one's headers.
  if (absl::StartsWith(line, "HTTP/")) {
    transfer->response.headers.clear();
    return bytes;
  }
  const std::size_t colon = line.find(':');
  if (colon == absl::string_view::npos || colon == 0) return bytes;
  // Room for a typical response's headers at once, rather than growing through 1, 2, 4 and 8.
  if (transfer->response.headers.empty()) transfer->response.headers.reserve(16);
  transfer->response.headers.emplace_back(
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon))),
      std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  return bytes;
}

absl::Status CurlTransport::Loop::Init() {
  GlobalInitOnce();
  base_ = event_base_new();
  multi_ = curl_multi_init();
  share_ = curl_share_init();
  if (base_ == nullptr || multi_ == nullptr || share_ == nullptr) {
    return absl::InternalError("cannot create the HTTP transport's event loop");
  }
  curl_timer_ = evtimer_new(base_, &OnTimerEvent, this);
  wake_ = event_new(base_, -1, EV_PERSIST, &OnWakeEvent, this);
  if (curl_timer_ == nullptr || wake_ == nullptr) {
    return absl::InternalError("cannot create the HTTP transport's events");
  }
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &OnCurlSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &OnCurlTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  // Keep as many idle connections as transfers may run at once, so a burst does not reconnect.
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(options_.max_concurrent_transfers));
  // Each running transfer has an easy handle of its own, and a handle's TLS session cache is its
  // own too: shared, a new connection to a host resumes the last session instead of a full handshake
  // (no certificate chain to send, parse and verify). Only the loop thread uses the share, so
  // it needs no lock callbacks.
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  return absl::OkStatus();
}

void CurlTransport::Loop::Run() {
  event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY);
  Release();
}

void CurlTransport::Loop::Release() {
  // Before the share: curl_share_cleanup refuses while a handle still uses it.
  for (CURL* easy : idle_easy_) curl_easy_cleanup(easy);
  idle_easy_.clear();
  if (multi_ != nullptr) curl_multi_cleanup(multi_);
  multi_ = nullptr;
  if (share_ != nullptr) curl_share_cleanup(share_);
  share_ = nullptr;
  for (auto& [socket, watch] : sockets_) event_free(watch);
  sockets_.clear();
  if (curl_timer_ != nullptr) event_free(curl_timer_);
  curl_timer_ = nullptr;
  if (wake_ != nullptr) event_free(wake_);
  wake_ = nullptr;
  if (base_ != nullptr) event_base_free(base_);
  base_ = nullptr;
}

absl::Status CurlTransport::Loop::Check(const HttpRequest& request) const {
  const UrlParts url = SplitUrl(request.url);
  if (url.host.empty()) return absl::InvalidArgumentError("upstream URL is not absolute");
  if (absl::EqualsIgnoreCase(url.scheme, "http")) {
    if (!options_.allow_plain_http) {
      return absl::FailedPreconditionError(
          absl::StrCat("plain http to ", url.host, " refused: upstreams must use https"));
    }
  } else if (!absl::EqualsIgnoreCase(url.scheme, "https")) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported URL scheme for ", url.host));
  }
  if (HasLineBreak(request.method) || HasLineBreak(request.url)) {
    return absl::InvalidArgumentError(absl::StrCat("line break in the request line for ", url.host));
  }
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || HasLineBreak(name) || HasLineBreak(value)) {
      return absl::InvalidArgumentError(absl::StrCat("malformed header for ", url.host));
    }
  }
  if (request.cancel != nullptr && request.cancel->cancelled()) {
    return absl::CancelledError(absl::StrCat("request to ", url.host, " cancelled"));
  }
  if (request.deadline <= absl::Now()) {
    return absl::DeadlineExceededError(
        absl::StrCat("deadline passed before the request to ", url.host, " was sent"));
  }
  return absl::OkStatus();
}

std::uint64_t CurlTransport::Loop::Post(std::unique_ptr<Transfer> transfer) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      const std::uint64_t id = next_id_++;
      transfer->id = id;
      transfer->loop = this;
      load_.fetch_add(1, std::memory_order_relaxed);
      incoming_.push_back(std::move(transfer));
      event_active(wake_, EV_READ, 0);
      return id;
    }
  }
  transfer->done(absl::CancelledError("HTTP transport shut down"));
  return 0;
}

void CurlTransport::Loop::PostCancel(std::uint64_t id) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  cancels_.push_back(id);
  event_active(wake_, EV_READ, 0);
}

void CurlTransport::Loop::PostTimer(absl::Time when, TimerCallback callback) {
  auto wait = std::make_unique<Wait>();
  wait->when = when;
  wait->callback = std::move(callback);
  wait->loop = this;
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      incoming_waits_.push_back(std::move(wait));
      event_active(wake_, EV_READ, 0);
      return;
    }
  }
  wait->callback(absl::CancelledError("HTTP transport shut down"));
}

void CurlTransport::Loop::Arm(std::unique_ptr<Wait> wait) {
  // libevent measures the delay from its cached loop time, which may be stale by now.
  event_base_update_cache_time(base_);
  const absl::Duration left = std::max(wait->when - absl::Now(), absl::ZeroDuration());
  wait->timer = evtimer_new(base_, &OnWaitDone, wait.get());
  if (wait->timer == nullptr) {
    wait->callback(absl::ResourceExhaustedError("cannot create a timer event"));
    return;
  }
  const timeval delay = absl::ToTimeval(left);
  evtimer_add(wait->timer, &delay);
  Wait* key = wait.get();
  waits_.emplace(key, std::move(wait));
}

void CurlTransport::Loop::OnWaitDone(evutil_socket_t, short, void* user) {
  auto* wait = static_cast<Wait*>(user);
  // libevent's monotonic clock and absl::Now() can disagree by a fraction of a millisecond; a
  // wait never ends before its time.
  if (const absl::Duration left = wait->when - absl::Now(); left > absl::ZeroDuration()) {
    const timeval delay = absl::ToTimeval(absl::Ceil(left, absl::Microseconds(1)));
    evtimer_add(wait->timer, &delay);
    return;
  }
  Loop* loop = wait->loop;
  auto it = loop->waits_.find(wait);
  std::unique_ptr<Wait> done = std::move(it->second);
  loop->waits_.erase(it);
  event_free(done->timer);
  done->callback(absl::OkStatus());
}

void CurlTransport::Loop::Stop() {
  absl::MutexLock lock(&mu_);
  // Once stopping, the loop may have freed its wake event already.
  if (stopping_) return;
  stopping_ = true;
  event_active(wake_, EV_READ, 0);
}

void CurlTransport::Loop::OnWakeEvent(evutil_socket_t, short, void* user) {
  static_cast<Loop*>(user)->Drain();
}

void CurlTransport::Loop::Drain() {
  std::vector<std::unique_ptr<Transfer>> incoming;
  std::vector<std::uint64_t> cancels;
  std::vector<std::unique_ptr<Wait>> waits;
  bool stopping;
  {
    absl::MutexLock lock(&mu_);
    incoming.swap(incoming_);
    cancels.swap(cancels_);
    waits.swap(incoming_waits_);
    stopping = stopping_;
  }
  if (stopping) {
    for (auto& transfer : incoming) transfer->done(absl::CancelledError("HTTP transport shut down"));
    for (auto& [key, wait] : waits_) {
      event_free(wait->timer);
      waits.push_back(std::move(wait));
    }
    waits_.clear();
    for (auto& wait : waits) wait->callback(absl::CancelledError("HTTP transport shut down"));
    std::vector<std::uint64_t> ids;
    ids.reserve(transfers_.size());
    for (const auto& [id, transfer] : transfers_) ids.push_back(id);
    for (std::uint64_t id : ids) Complete(id, absl::CancelledError("HTTP transport shut down"));
    event_base_loopbreak(base_);
    return;
  }
  for (auto& wait : waits) Arm(std::move(wait));
  for (auto& transfer : incoming) Admit(std::move(transfer));
  for (std::uint64_t id : cancels) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) continue;  // finished before the cancellation reached the loop
    const UrlParts url = SplitUrl(it->second->request->url);
    Complete(id, absl::CancelledError(absl::StrCat("request to ", url.host, " cancelled")));
  }
  StartQueued();
}

void CurlTransport::Loop::Admit(std::unique_ptr<Transfer> transfer) {
  const std::uint64_t id = transfer->id;
  Transfer& admitted = *transfer;
  transfers_.emplace(id, std::move(transfer));
  if (active_ < options_.max_concurrent_transfers && waiting_.empty()) {
    if (absl::Status status = Start(admitted); !status.ok()) Complete(id, std::move(status));
    return;
  }
  waiting_.push_back(id);
  if (admitted.request->deadline != absl::InfiniteFuture()) {
    // A queued request must still fail at its deadline, not when a slot frees up.
    admitted.queue_deadline = evtimer_new(base_, &OnQueueDeadline, &admitted);
    const timeval delay =
        absl::ToTimeval(std::max(admitted.request->deadline - absl::Now(), absl::ZeroDuration()));
    evtimer_add(admitted.queue_deadline, &delay);
  }
}

void CurlTransport::Loop::OnQueueDeadline(evutil_socket_t, short, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const UrlParts url = SplitUrl(transfer->request->url);
  transfer->loop->Complete(
      transfer->id, absl::DeadlineExceededError(absl::StrCat(
                        "deadline passed while the request to ", url.host, " waited for a transfer slot")));
}

void CurlTransport::Loop::StartQueued() {
  while (active_ < options_.max_concurrent_transfers && !waiting_.empty()) {
    const std::uint64_t id = waiting_.front();
    waiting_.pop_front();
    auto it = transfers_.find(id);
    if (it == transfers_.end()) continue;
    Transfer& transfer = *it->second;
    if (transfer.queue_deadline != nullptr) {
      event_free(transfer.queue_deadline);
      transfer.queue_deadline = nullptr;
    }
    if (absl::Status status = Start(transfer); !status.ok()) Complete(id, std::move(status));
  }
}

absl::Status CurlTransport::Loop::Start(Transfer& transfer) {
  const HttpRequest& request = *transfer.request;
  const absl::Time now = absl::Now();
  if (request.deadline <= now) {
    return absl::DeadlineExceededError(absl::StrCat("deadline passed before the request to ",
                                                    SplitUrl(request.url).host, " was sent"));
  }
  CURL* easy = TakeEasyHandle();
  if (easy == nullptr) return MarkNothingSent(absl::UnavailableError("cannot create a curl handle"));
  transfer.easy = easy;
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, &transfer);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer.error);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  // A redirect is returned to the caller as a response: following one could carry the bearer
  // token to another host.
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, options_.allow_plain_http ? "http,https" : "https");
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  // Over TLS, wait for an HTTP/2 connection being set up to the same host instead of opening
  // another. Not for plain http: there curl learns a connection cannot multiplex only from its
  // first response, so one slow request would hold back every other request to that host.
  if (absl::EqualsIgnoreCase(SplitUrl(request.url).scheme, "https")) {
    curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
  }
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_bundle_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_bundle_file.c_str());
  }
  // Trust one bundle file, never Debian's default CA directory as well: libcurl caches the
  // parsed bundle across connections only when no CA directory is set. Without the cache every
  // new connection parsed the whole bundle on the loop thread, 26 ms of CPU for the system's 144
  // certificates. The cached store is kept for libcurl's default 24 hours.
  curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr);
  curl_easy_setopt(easy, CURLOPT_SHARE, share_);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  const absl::Time attempt_end = now + options_.attempt_timeout;
  const absl::Time transfer_end = std::min(request.deadline, attempt_end);
  transfer.attempt_bounded = attempt_end < request.deadline;
  if (transfer_end != absl::InfiniteFuture()) {
    const std::int64_t remaining_ms = absl::ToInt64Milliseconds(absl::Ceil(transfer_end - now, absl::Milliseconds(1)));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<std::int64_t>(remaining_ms, 1)));
  }
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_response_bytes));
  if (request.method == "GET") {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
        request.method == "PATCH") {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
    }
  }
  // One buffer for every line: curl copies each, and a GetCustomer sends seven headers.
  std::string line;
  for (const auto& [name, value] : request.headers) {
    // "Name;" is curl's spelling of a header sent with an empty value.
    line.assign(name);
    if (value.empty()) {
      line.push_back(';');
    } else {
      line.append(": ").append(value);
    }
    transfer.headers = curl_slist_append(transfer.headers, line.c_str());
  }
  // No "Expect: 100-continue" round trip before a body: the upstreams answer at once anyway.
  transfer.headers = curl_slist_append(transfer.headers, "Expect:");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer.headers);
  if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
    return MarkNothingSent(absl::UnavailableError("cannot start a curl transfer"));
  }
  transfer.in_multi = true;
  ++active_;
  return absl::OkStatus();
}

void CurlTransport::Loop::Complete(std::uint64_t id, absl::StatusOr<HttpResponse> result) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  std::unique_ptr<Transfer> transfer = std::move(it->second);
  transfers_.erase(it);
  load_.fetch_sub(1, std::memory_order_relaxed);
  if (transfer->in_multi) {
    curl_multi_remove_handle(multi_, transfer->easy);
    --active_;
  }
  if (transfer->easy != nullptr) ReturnEasyHandle(transfer->easy);
  curl_slist_free_all(transfer->headers);
  if (transfer->queue_deadline != nullptr) event_free(transfer->queue_deadline);
  HttpDone done = std::move(transfer->done);
  transfer.reset();
  done(std::move(result));
}

CURL* CurlTransport::Loop::TakeEasyHandle() {
  if (idle_easy_.empty()) return curl_easy_init();
  CURL* easy = idle_easy_.back();
  idle_easy_.pop_back();
  return easy;
}

void CurlTransport::Loop::ReturnEasyHandle(CURL* easy) {
  // Creating a handle and destroying it again cost 14 000 instructions a transfer (callgrind);
  // curl_easy_reset costs a fraction of that. Reset puts every option back to its
  // default, and Start sets each one it needs again, so no method, body or header outlives its
  // transfer. A busy loop completes and starts transfers in turn, so a few idle handles are
  // enough; each holds a 16 KiB receive buffer, so a burst's surplus is destroyed instead.
  constexpr std::size_t kMaxIdleEasyHandles = 64;
  if (idle_easy_.size() >= kMaxIdleEasyHandles) {
    curl_easy_cleanup(easy);
    return;
  }
  curl_easy_reset(easy);
  idle_easy_.push_back(easy);
}

void CurlTransport::Loop::CheckDone() {
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    const CURLcode code = message->data.result;
    Transfer* transfer = nullptr;
    curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &transfer);
    if (code != CURLE_OK) {
      Complete(transfer->id, ErrorStatus(*transfer, code));
      continue;
    }
    long status = 0;
    curl_easy_getinfo(message->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    transfer->response.status = static_cast<int>(status);
    Complete(transfer->id, std::move(transfer->response));
  }
  StartQueued();
}

absl::Status CurlTransport::Loop::ErrorStatus(const Transfer& transfer, CURLcode code) const {
  // Only the host is named: the query string and headers may carry identifiers or secrets.
  const UrlParts url = SplitUrl(transfer.request->url);
  if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    // The upstream misbehaved; asking again would fetch the same oversized body.
    return absl::InternalError(absl::StrCat("upstream response larger than ", transfer.request->max_response_bytes,
                                            " bytes from ", url.host));
  }
  const absl::string_view text = transfer.error[0] != '\0' ? transfer.error : curl_easy_strerror(code);
  if (code == CURLE_OPERATION_TIMEDOUT && transfer.attempt_bounded) {
    long request_bytes = 0;
    curl_easy_getinfo(transfer.easy, CURLINFO_REQUEST_SIZE, &request_bytes);
    absl::Status slow = absl::UnavailableError(absl::StrCat("no complete answer from ", url.host, " within ",
                                                            absl::FormatDuration(options_.attempt_timeout), ": ", text));
    return request_bytes == 0 ? MarkNothingSent(std::move(slow)) : slow;
  }
  if (code == CURLE_OPERATION_TIMEDOUT) {
    // The transfer timeout is the caller's deadline; firing well before it means the connect
    // timeout did, and then no byte of the request was sent.
    if (absl::Now() + absl::Milliseconds(5) < transfer.request->deadline) {
      return MarkNothingSent(absl::UnavailableError(absl::StrCat("connecting to ", url.host, " failed: ", text)));
    }
    return absl::DeadlineExceededError(absl::StrCat("request to ", url.host, " exceeded its deadline: ", text));
  }
  absl::Status status = absl::UnavailableError(absl::StrCat("request to ", url.host, " failed: ", text));
  switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
      return MarkNothingSent(std::move(status));
    default:
      return status;
  }
}

int CurlTransport::Loop::OnCurlSocket(CURL*, curl_socket_t socket, int what, void* user, void*) {
  auto* loop = static_cast<Loop*>(user);
  auto it = loop->sockets_.find(socket);
  if (what == CURL_POLL_REMOVE) {
    if (it != loop->sockets_.end()) {
      event_free(it->second);
      loop->sockets_.erase(it);
    }
    return 0;
  }
  const short kind = EV_PERSIST | ((what & CURL_POLL_IN) != 0 ? EV_READ : 0) |
                     ((what & CURL_POLL_OUT) != 0 ? EV_WRITE : 0);
  if (it == loop->sockets_.end()) {
    event* watch = event_new(loop->base_, socket, kind, &OnSocketEvent, loop);
    loop->sockets_.emplace(socket, watch);
    event_add(watch, nullptr);
    return 0;
  }
  event_del(it->second);
  event_assign(it->second, loop->base_, socket, kind, &OnSocketEvent, loop);
  event_add(it->second, nullptr);
  return 0;
}

int CurlTransport::Loop::OnCurlTimer(CURLM*, long timeout_ms, void* user) {
  auto* loop = static_cast<Loop*>(user);
  if (timeout_ms < 0) {
    evtimer_del(loop->curl_timer_);
    return 0;
  }
  const timeval delay{.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
  evtimer_add(loop->curl_timer_, &delay);
  return 0;
}

void CurlTransport::Loop::OnSocketEvent(evutil_socket_t socket, short events, void* user) {
  auto* loop = static_cast<Loop*>(user);
  const int flags = ((events & EV_READ) != 0 ? CURL_CSELECT_IN : 0) |
                    ((events & EV_WRITE) != 0 ? CURL_CSELECT_OUT : 0);
  int running = 0;
  curl_multi_socket_action(loop->multi_, socket, flags, &running);
  loop->CheckDone();
}

void CurlTransport::Loop::OnTimerEvent(evutil_socket_t, short, void* user) {
  auto* loop = static_cast<Loop*>(user);
  int running = 0;
  curl_multi_socket_action(loop->multi_, CURL_SOCKET_TIMEOUT, 0, &running);
  loop->CheckDone();
}

absl::StatusOr<std::unique_ptr<CurlTransport>> CurlTransport::Create(CurlTransportOptions options) {
  if (options.max_concurrent_transfers < 1) {
    return absl::InvalidArgumentError("max_concurrent_transfers must be at least 1");
  }
  if (options.loop_threads < 1) return absl::InvalidArgumentError("loop_threads must be at least 1");
  const int count = std::min(options.loop_threads, options.max_concurrent_transfers);
  std::vector<std::shared_ptr<Loop>> loops;
  for (int i = 0; i < count; ++i) {
    CurlTransportOptions share = options;
    share.max_concurrent_transfers = options.max_concurrent_transfers / count +
                                     (i < options.max_concurrent_transfers % count ? 1 : 0);
    auto loop = std::make_shared<Loop>(std::move(share));
    if (absl::Status status = loop->Init(); !status.ok()) return status;
    loops.push_back(std::move(loop));
  }
  std::vector<std::thread> threads;
  for (const std::shared_ptr<Loop>& loop : loops) {
    // The thread shares ownership: it may outlive this object when the last reference to the
    // transport is dropped inside a completion callback on the loop thread itself.
    threads.emplace_back([loop] { loop->Run(); });
    pthread_setname_np(threads.back().native_handle(), "http-loop");
  }
  return std::unique_ptr<CurlTransport>(new CurlTransport(std::move(loops), std::move(threads)));
}

CurlTransport::CurlTransport(std::vector<std::shared_ptr<Loop>> loops, std::vector<std::thread> threads)
    : loops_(std::move(loops)), threads_(std::move(threads)) {}

CurlTransport::~CurlTransport() { Shutdown(); }

void CurlTransport::Shutdown() {
  for (const std::shared_ptr<Loop>& loop : loops_) loop->Stop();
  for (std::thread& thread : threads_) {
    if (!thread.joinable()) continue;
    // From a completion callback: that loop finishes the shutdown once it returns.
    if (thread.get_id() == std::this_thread::get_id()) {
      thread.detach();
    } else {
      thread.join();
    }
  }
}

std::shared_ptr<Timer> CurlTransport::timer() const { return std::make_shared<LoopTimer>(loops_); }

const std::shared_ptr<CurlTransport::Loop>& CurlTransport::LeastLoaded() const {
  const std::shared_ptr<Loop>* least = &loops_.front();
  for (const std::shared_ptr<Loop>& loop : loops_) {
    if (loop->load() < (*least)->load()) least = &loop;
  }
  return *least;
}

void CurlTransport::Send(std::shared_ptr<HttpRequest> request, HttpDone done) {
  const std::shared_ptr<Loop>& loop = LeastLoaded();
  if (absl::Status status = loop->Check(*request); !status.ok()) {
    done(std::move(status));
    return;
  }
  auto transfer = std::make_unique<Loop::Transfer>();
  std::shared_ptr<CancelToken> cancel = request->cancel;
  transfer->request = std::move(request);
  transfer->done = std::move(done);
  const std::uint64_t id = loop->Post(std::move(transfer));
  if (id == 0 || cancel == nullptr) return;
  // Registered after Post so a cancellation racing with it finds the transfer on the loop. The
  // token may outlive the transport, hence the weak reference.
  cancel->OnCancel([loop = std::weak_ptr<Loop>(loop), id] {
    if (std::shared_ptr<Loop> alive = loop.lock()) alive->PostCancel(id);
  });
}

}  // namespace partner::http
