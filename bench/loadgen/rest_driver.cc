#include "bench/loadgen/rest_driver.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace partner::bench {
namespace {

std::size_t Append(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::size_t Discard(char*, std::size_t size, std::size_t n, void*) { return size * n; }

void CommonOptions(CURL* curl, const std::string& ca_file) {
  curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
  if (!ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
}

// The host and port of an http(s) URL whose host is an IP address ("127.0.0.1", "[::1]"), as
// CURLOPT_RESOLVE takes them; nullopt for a host name.
std::optional<std::pair<std::string, long>> IpEndpoint(const std::string& url) {
  CURLU* parts = curl_url();
  char* host = nullptr;
  char* port = nullptr;
  std::optional<std::pair<std::string, long>> endpoint;
  if (curl_url_set(parts, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
      curl_url_get(parts, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(parts, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
    std::string bare(host);
    if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') bare = bare.substr(1, bare.size() - 2);
    in6_addr address{};
    const bool literal =
        inet_pton(AF_INET, bare.c_str(), &address) == 1 || inet_pton(AF_INET6, bare.c_str(), &address) == 1;
    long number = 0;
    if (literal && absl::SimpleAtoi(port, &number)) endpoint.emplace(host, number);
  }
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(parts);
  return endpoint;
}

// Partner Center bodies may start with a UTF-8 BOM (CONTRACTS.md §2.3).
std::string StripBom(std::string body) {
  if (body.rfind("\xEF\xBB\xBF", 0) == 0) body.erase(0, 3);
  return body;
}

absl::StatusOr<std::string> Perform(CURL* curl, const std::string& what) {
  std::string body;
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  const CURLcode rc = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return absl::UnavailableError(absl::StrCat(what, ": ", curl_easy_strerror(rc)));
  if (code < 200 || code >= 300) return absl::UnavailableError(absl::StrCat(what, ": HTTP ", code, " ", body));
  return body;
}

// libcurl's socket interface on epoll: each wake-up costs work for the sockets that are ready,
// not for every transfer, which curl_multi_perform and curl_multi_poll do. With 5 000 transfers
// in flight the generator otherwise spends its time scanning idle connections and becomes the
// bottleneck it is meant to measure through.
class EpollMulti {
 public:
  EpollMulti() : multi_(curl_multi_init()), epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &EpollMulti::OnSocket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &EpollMulti::OnTimer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  }
  ~EpollMulti() {
    curl_multi_cleanup(multi_);
    if (epoll_fd_ >= 0) close(epoll_fd_);
  }
  EpollMulti(const EpollMulti&) = delete;
  EpollMulti& operator=(const EpollMulti&) = delete;

  absl::Status Check() const {
    if (multi_ == nullptr) return absl::InternalError("curl_multi_init failed");
    if (epoll_fd_ < 0) return absl::InternalError(absl::StrCat("epoll_create1: ", std::strerror(errno)));
    return absl::OkStatus();
  }
  CURLM* multi() const { return multi_; }

  // Waits at most `longest` for ready sockets or curl's timer and lets curl act on them.
  // Nanosecond timeouts (epoll_pwait2): an open loop's calls are due a fraction of a millisecond
  // apart, which epoll_wait's milliseconds would turn into spinning.
  void Step(absl::Duration longest) {
    absl::Duration wait = std::max(longest, absl::ZeroDuration());
    if (timer_due_) wait = std::min(wait, std::max(*timer_due_ - absl::Now(), absl::ZeroDuration()));
    const timespec timeout = absl::ToTimespec(wait);
    epoll_event events[512];
    const int ready = epoll_pwait2(epoll_fd_, events, 512, &timeout, nullptr);
    int running = 0;
    for (int i = 0; i < ready; ++i) {
      int mask = 0;
      if (events[i].events & EPOLLIN) mask |= CURL_CSELECT_IN;
      if (events[i].events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
      if (events[i].events & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
      curl_multi_socket_action(multi_, events[i].data.fd, mask, &running);
    }
    if (timer_due_ && absl::Now() >= *timer_due_) {
      timer_due_.reset();
      curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
    }
  }

 private:
  static int OnSocket(CURL*, curl_socket_t socket, int what, void* self, void*) {
    const int epoll_fd = static_cast<EpollMulti*>(self)->epoll_fd_;
    if (what == CURL_POLL_REMOVE) {
      epoll_ctl(epoll_fd, EPOLL_CTL_DEL, socket, nullptr);
      return 0;
    }
    epoll_event event{};
    event.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    event.data.fd = socket;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, socket, &event) != 0) epoll_ctl(epoll_fd, EPOLL_CTL_ADD, socket, &event);
    return 0;
  }
  static int OnTimer(CURLM*, long timeout_ms, void* self) {
    auto* multi = static_cast<EpollMulti*>(self);
    if (timeout_ms < 0) multi->timer_due_.reset();
    else multi->timer_due_ = absl::Now() + absl::Milliseconds(timeout_ms);
    return 0;
  }

  CURLM* multi_;
  int epoll_fd_;
  std::optional<absl::Time> timer_due_;
};

}  // namespace

RestDriver::RestDriver(RestOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::string> HttpGet(const std::string& url, const std::string& ca_file) {
  CURL* curl = curl_easy_init();
  CommonOptions(curl, ca_file);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  return Perform(curl, url);
}

absl::StatusOr<std::string> RestDriver::Token(const std::string& tenant, const std::string& scope_value) const {
  CURL* curl = curl_easy_init();
  CommonOptions(curl, options_.ca_file);
  const std::string url = absl::StrCat(options_.base_url, "/", tenant, "/oauth2/v2.0/token");
  char* secret = curl_easy_escape(curl, options_.client_secret.c_str(), 0);
  char* scope = curl_easy_escape(curl, scope_value.c_str(), 0);
  const std::string form = absl::StrCat("grant_type=client_credentials&client_id=", options_.app_id,
                                        "&client_secret=", secret, "&scope=", scope);
  curl_free(secret);
  curl_free(scope);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_COPYPOSTFIELDS, form.c_str());
  absl::StatusOr<std::string> token = Perform(curl, "token");
  if (!token.ok()) return token.status();
  nlohmann::json json = nlohmann::json::parse(*token, nullptr, false);
  if (!json.is_object() || !json.contains("access_token")) return absl::UnavailableError("token: no access_token");
  return json["access_token"].get<std::string>();
}

absl::StatusOr<std::vector<std::string>> RestDriver::UserPrincipalNames(const std::string& tenant) const {
  absl::StatusOr<std::string> token = Token(tenant, "https://graph.microsoft.com/.default");
  if (!token.ok()) return token.status();
  CURL* curl = curl_easy_init();
  CommonOptions(curl, options_.ca_file);
  const std::string url = absl::StrCat(options_.base_url, "/v1.0/users?$top=100");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_slist* headers = curl_slist_append(nullptr, absl::StrCat("Authorization: Bearer ", *token).c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  absl::StatusOr<std::string> body = Perform(curl, "graph users");
  curl_slist_free_all(headers);
  if (!body.ok()) return body.status();
  const nlohmann::json json = nlohmann::json::parse(*body, nullptr, false);
  if (!json.is_object() || !json["value"].is_array()) return absl::UnavailableError("graph users: no value");
  std::vector<std::string> names;
  for (const nlohmann::json& user : json["value"]) names.push_back(user.value("userPrincipalName", ""));
  return names;
}

absl::Status RestDriver::Prepare(int customers) {
  absl::StatusOr<std::string> token =
      Token(options_.partner_tenant_id, "https://api.partnercenter.microsoft.com/.default");
  if (!token.ok()) return token.status();
  token_ = *token;

  CURL* list = curl_easy_init();
  CommonOptions(list, options_.ca_file);
  const std::string list_url = absl::StrCat(options_.base_url, "/v1/customers?size=", std::max(customers, 1));
  curl_easy_setopt(list, CURLOPT_URL, list_url.c_str());
  curl_slist* headers = curl_slist_append(nullptr, absl::StrCat("Authorization: Bearer ", token_).c_str());
  curl_easy_setopt(list, CURLOPT_HTTPHEADER, headers);
  absl::StatusOr<std::string> body = Perform(list, "list customers");
  curl_slist_free_all(headers);
  if (!body.ok()) return body.status();
  const nlohmann::json json = nlohmann::json::parse(StripBom(*body), nullptr, false);
  if (!json.is_object() || !json["items"].is_array()) return absl::UnavailableError("list customers: no items");
  for (const nlohmann::json& item : json["items"]) customer_ids_.push_back(item.value("id", ""));
  if (customer_ids_.empty()) return absl::UnavailableError("list customers: empty");
  return absl::OkStatus();
}

std::string RestDriver::UrlFor(Method method, std::uint64_t sequence) const {
  if (method == Method::kGetCustomer) {
    return absl::StrCat(options_.base_url, "/v1/customers/", customer_ids_[sequence % customer_ids_.size()]);
  }
  return absl::StrCat(options_.base_url, "/v1/customers?size=", options_.page_size);
}

namespace {

// One transfer at a time: an easy handle reused call after call, with the lists it points at.
struct Slot {
  Slot() = default;
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  ~Slot() {
    curl_easy_cleanup(curl);
    curl_slist_free_all(connect_to);
    curl_slist_free_all(resolve);
  }
  CURL* curl = nullptr;
  curl_slist* connect_to = nullptr;
  curl_slist* resolve = nullptr;
  std::string url;
  // Latency counts from here: when the call started, or in an open loop when it was due.
  absl::Time since;
};

// libcurl walks every connection in a multi handle's cache each time a transfer leaves the handle
// (to close connect-only ones), and every connection to the same host and port when it looks for
// one to reuse. With all 5 000 of the emulator scenario's transfers in one handle those walks took
// more than half of this generator's CPU, and the generator, not the emulator, set the pace. So a
// run is split over handles of at most kSlotsPerLoop transfers, each on a thread of its own, and
// within a handle slots reach the server through kNamesPerLoop names that all resolve to the URL's
// address (the Host header and the TLS name and certificate check keep the URL's host).
constexpr int kSlotsPerLoop = 1024;
constexpr int kNamesPerLoop = 64;

absl::Status CheckMix(const Mix& mix) {
  if (mix.Uses(Method::kListAzureSubscriptions) || mix.Uses(Method::kAssignRole)) {
    return absl::InvalidArgumentError("--mode=rest drives only get and list");
  }
  return absl::OkStatus();
}

// A slot for a multi handle's `index`-th transfer, sending `headers` (which must outlive it).
absl::StatusOr<std::unique_ptr<Slot>> NewSlot(int index, const std::string& ca_file, curl_slist* headers,
                                              const std::optional<std::pair<std::string, long>>& endpoint) {
  auto slot = std::make_unique<Slot>();
  slot->curl = curl_easy_init();
  if (slot->curl == nullptr) return absl::ResourceExhaustedError("curl_easy_init failed");
  CommonOptions(slot->curl, ca_file);
  curl_easy_setopt(slot->curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(slot->curl, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(slot->curl, CURLOPT_PRIVATE, slot.get());
  if (endpoint) {
    const std::string name = absl::StrCat("slot", index % kNamesPerLoop, ".partner-loadgen.invalid");
    const auto& [address, port] = *endpoint;
    slot->connect_to = curl_slist_append(nullptr, absl::StrCat("::", name, ":", port).c_str());
    slot->resolve = curl_slist_append(nullptr, absl::StrCat(name, ":", port, ":", address).c_str());
    curl_easy_setopt(slot->curl, CURLOPT_CONNECT_TO, slot->connect_to);
    curl_easy_setopt(slot->curl, CURLOPT_RESOLVE, slot->resolve);
  }
  return slot;
}

absl::Status StartTransfer(CURLM* multi, Slot* slot, std::string url, absl::Time since) {
  slot->url = std::move(url);
  curl_easy_setopt(slot->curl, CURLOPT_URL, slot->url.c_str());
  slot->since = since;
  if (const CURLMcode code = curl_multi_add_handle(multi, slot->curl); code != CURLM_OK) {
    return absl::InternalError(absl::StrCat("curl_multi_add_handle: ", curl_multi_strerror(code)));
  }
  return absl::OkStatus();
}

// Records each finished transfer in `window` and hands its slot, out of the multi handle, to
// `finished`; stops at the first error `finished` returns.
absl::Status TakeFinished(CURLM* multi, MeasuredWindow* window, const std::function<absl::Status(Slot*)>& finished) {
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Slot* slot = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &slot);
    long code = 0;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
    // A transport failure has no HTTP status: counted under 0 would read as success, so -1.
    const CURLcode result = msg->data.result;
    window->Record(result == CURLE_OK ? static_cast<int>(code) : -1, absl::Now() - slot->since);
    curl_multi_remove_handle(multi, slot->curl);
    if (absl::Status next = finished(slot); !next.ok()) return next;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RestDriver::RunClosed(const Mix& mix, int in_flight, const RunLimits& limits, MeasuredWindow* window) {
  if (absl::Status usable = CheckMix(mix); !usable.ok()) return usable;
  std::atomic<std::uint64_t> next{0};
  const SequenceClaim claim = [&]() -> std::optional<std::uint64_t> {
    const std::uint64_t sequence = next.fetch_add(1);
    if (!limits.MayStart(sequence, *window)) return std::nullopt;
    return sequence;
  };
  const int loops = std::max(1, (in_flight + kSlotsPerLoop - 1) / kSlotsPerLoop);
  std::vector<absl::Status> results(loops);
  std::vector<std::thread> threads;
  const auto launch = [&](absl::Time) {
    for (int l = 0; l < loops; ++l) {
      const int slots = in_flight / loops + (l < in_flight % loops ? 1 : 0);
      threads.emplace_back([&, l, slots] { results[l] = RunLoop(mix, slots, claim, window); });
    }
  };
  RunInWindow(limits, window, launch, [&] {
    for (std::thread& thread : threads) thread.join();
  });
  for (const absl::Status& result : results) {
    if (!result.ok()) return result;
  }
  return absl::OkStatus();
}

RestDriver::HeaderList RestDriver::RequestHeaders() const {
  curl_slist* headers = curl_slist_append(nullptr, absl::StrCat("Authorization: Bearer ", token_).c_str());
  return HeaderList(curl_slist_append(headers, "Accept: application/json"), &curl_slist_free_all);
}

absl::Status RestDriver::RunLoop(const Mix& mix, int in_flight, const SequenceClaim& claim,
                                 MeasuredWindow* window) const {
  EpollMulti loop;
  if (absl::Status usable = loop.Check(); !usable.ok()) return usable;
  CURLM* multi = loop.multi();
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(in_flight));
  const std::optional<std::pair<std::string, long>> endpoint = IpEndpoint(options_.base_url);
  const HeaderList headers = RequestHeaders();
  std::vector<std::unique_ptr<Slot>> slots;
  int running = 0;
  for (int i = 0; i < in_flight; ++i) {
    const std::optional<std::uint64_t> sequence = claim();
    if (!sequence) break;
    absl::StatusOr<std::unique_ptr<Slot>> slot = NewSlot(i, options_.ca_file, headers.get(), endpoint);
    if (!slot.ok()) return slot.status();
    slots.push_back(*std::move(slot));
    absl::Status started = StartTransfer(multi, slots.back().get(), UrlFor(mix.Pick(*sequence), *sequence), absl::Now());
    if (!started.ok()) return started;
    ++running;
  }
  const auto next_call = [&](Slot* slot) -> absl::Status {
    if (const std::optional<std::uint64_t> sequence = claim()) {
      return StartTransfer(multi, slot, UrlFor(mix.Pick(*sequence), *sequence), absl::Now());
    }
    --running;
    return absl::OkStatus();
  };
  while (running > 0) {
    loop.Step(absl::Milliseconds(100));
    if (absl::Status taken = TakeFinished(multi, window, next_call); !taken.ok()) return taken;
  }
  return absl::OkStatus();
}

absl::Status RestDriver::RunOpen(const Mix& mix, double rate, int max_in_flight, const RunLimits& limits,
                                 MeasuredWindow* window) {
  if (absl::Status usable = CheckMix(mix); !usable.ok()) return usable;
  absl::Status result;
  // The calls are started on a thread of their own, so that this one can hold the window.
  std::thread caller;
  RunInWindow(
      limits, window,
      [&](absl::Time start) {
        caller = std::thread([&, start] { result = CallAtRate(mix, rate, max_in_flight, limits, start, window); });
      },
      [&] { caller.join(); });
  return result;
}

absl::Status RestDriver::CallAtRate(const Mix& mix, double rate, int max_in_flight, const RunLimits& limits,
                                    absl::Time start, MeasuredWindow* window) const {
  EpollMulti loop;
  if (absl::Status usable = loop.Check(); !usable.ok()) return usable;
  CURLM* multi = loop.multi();
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(max_in_flight));
  const HeaderList headers = RequestHeaders();
  std::vector<std::unique_ptr<Slot>> slots;
  std::vector<Slot*> idle;
  int running = 0;
  const auto finished = [&](Slot* slot) {
    idle.push_back(slot);
    --running;
    return absl::OkStatus();
  };
  std::uint64_t sequence = 0;
  bool calling = true;
  while (calling || running > 0) {
    const absl::Time now = absl::Now();
    absl::Time due = start + absl::Seconds(static_cast<double>(sequence) / rate);
    while (calling && due <= now && running < max_in_flight) {
      if (!limits.MayStart(sequence, *window)) {
        calling = false;
        break;
      }
      if (idle.empty()) {
        // No host-name aliases: with connections as few as the cap, any idle one may carry the
        // call, where an alias without one of its own would open a new connection.
        absl::StatusOr<std::unique_ptr<Slot>> slot =
            NewSlot(static_cast<int>(slots.size()), options_.ca_file, headers.get(), std::nullopt);
        if (!slot.ok()) return slot.status();
        slots.push_back(*std::move(slot));
        idle.push_back(slots.back().get());
      }
      Slot* slot = idle.back();
      idle.pop_back();
      // Latency counts from when the call was due, so a stalled generator cannot hide server delay.
      if (absl::Status started = StartTransfer(multi, slot, UrlFor(mix.Pick(sequence), sequence), due); !started.ok()) {
        return started;
      }
      ++running;
      ++sequence;
      due = start + absl::Seconds(static_cast<double>(sequence) / rate);
    }
    // At the cap, due calls wait for a transfer to finish, their latency counting all the while.
    const bool may_start = calling && running < max_in_flight;
    loop.Step(may_start ? std::min(due - absl::Now(), absl::Milliseconds(100)) : absl::Milliseconds(100));
    if (absl::Status taken = TakeFinished(multi, window, finished); !taken.ok()) return taken;
  }
  return absl::OkStatus();
}

}  // namespace partner::bench
