#include "server/auth/token/token_provider.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "server/config/load_config.h"
#include "server/ops/error_reason.h"

namespace partner::auth {
namespace {

constexpr absl::string_view kAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
constexpr absl::Duration kRefreshRetryDelay = absl::Seconds(10);

// RFC 3986 unreserved characters pass; everything else, '+' and '&' and '=' of a secret included,
// is %XX. Used for form values and for the tenant path segment.
std::string PercentEncode(absl::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0f]);
    }
  }
  return out;
}

void AddField(std::string& body, absl::string_view name, absl::string_view value) {
  if (!body.empty()) body.push_back('&');
  absl::StrAppend(&body, name, "=", PercentEncode(value));
}

// The first line of an Entra error_description, without its "AADSTSnnn: " prefix (the code is
// reported on its own): the other lines are Trace ID / Correlation ID / Timestamp.
std::string FirstLine(absl::string_view text) {
  text = text.substr(0, text.find_first_of("\r\n"));
  if (absl::StartsWith(text, "AADSTS")) {
    const size_t colon = text.find(": ");
    if (colon != absl::string_view::npos) text.remove_prefix(colon + 2);
  }
  return std::string(absl::StripAsciiWhitespace(text));
}

std::string StringField(const nlohmann::json& body, const char* name) {
  if (!body.is_object()) return "";
  const auto it = body.find(name);
  return it != body.end() && it->is_string() ? it->get<std::string>() : "";
}

// The AADSTS number: from error_codes when present, else from the description's "AADSTSnnn:".
std::optional<int64_t> AadstsCode(const nlohmann::json& body, absl::string_view description) {
  if (body.is_object()) {
    const auto it = body.find("error_codes");
    if (it != body.end() && it->is_array() && !it->empty() && it->front().is_number_integer()) {
      return it->front().get<int64_t>();
    }
  }
  if (!absl::StartsWith(description, "AADSTS")) return std::nullopt;
  absl::string_view digits = description.substr(6);
  size_t len = 0;
  while (len < digits.size() && absl::ascii_isdigit(static_cast<unsigned char>(digits[len]))) ++len;
  int64_t code = 0;
  if (len == 0 || !absl::SimpleAtoi(digits.substr(0, len), &code)) return std::nullopt;
  return code;
}

// expires_in is a JSON number on the v2 endpoint and a string on v1 (CONTRACTS.md §1.3).
std::optional<int64_t> ExpiresIn(const nlohmann::json& body) {
  const auto it = body.find("expires_in");
  if (it == body.end()) return std::nullopt;
  int64_t seconds = 0;
  if (it->is_number_integer()) {
    seconds = it->get<int64_t>();
  } else if (it->is_number_float()) {
    const double value = it->get<double>();
    if (!(value > 0 && value < 1e9)) return std::nullopt;
    seconds = static_cast<int64_t>(value);
  } else if (!it->is_string() || !absl::SimpleAtoi(it->get<std::string>(), &seconds)) {
    return std::nullopt;
  }
  if (seconds <= 0) return std::nullopt;
  return seconds;
}

absl::AnyInvocable<absl::Time() const> TakeClock(TokenProviderOptions& options) {
  if (options.clock == nullptr) return [] { return absl::Now(); };
  return std::move(options.clock);
}

// The credential travels in the body: plain http only to a loopback emulator.
bool AllowedAuthority(absl::string_view url) {
  if (absl::StartsWith(url, "https://")) return url.size() > 8;
  if (!absl::ConsumePrefix(&url, "http://")) return false;
  return config::IsLoopbackAddress(url.substr(0, url.find('/')));
}

}  // namespace

absl::StatusOr<std::shared_ptr<TokenProvider>> TokenProvider::Create(TokenProviderOptions options,
                                                                     std::shared_ptr<http::HttpClient> http) {
  if (options.app_id.empty()) return absl::InvalidArgumentError("token provider: app_id is empty");
  if (!AllowedAuthority(options.authority_url)) {
    return absl::InvalidArgumentError(absl::StrCat("token provider: authority_url \"", options.authority_url,
                                                   "\" is not an https URL (http only to a loopback HOST:PORT)"));
  }
  std::optional<Certificate> certificate;
  if (const auto* files = std::get_if<ClientCertificate>(&options.credential)) {
    absl::StatusOr<Certificate> loaded = Certificate::Load(files->certificate_file, files->private_key_file);
    if (!loaded.ok()) return loaded.status();
    certificate = *std::move(loaded);
  } else if (std::get<ClientSecret>(options.credential).value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("token provider: the client secret of app ", options.app_id,
                                                   " is empty"));
  }
  while (absl::EndsWith(options.authority_url, "/")) options.authority_url.pop_back();
  return std::shared_ptr<TokenProvider>(new TokenProvider(std::move(options), std::move(certificate), std::move(http)));
}

TokenProvider::TokenProvider(TokenProviderOptions options, std::optional<Certificate> certificate,
                             std::shared_ptr<http::HttpClient> http)
    : clock_(TakeClock(options)),
      options_(std::move(options)),
      certificate_(std::move(certificate)),
      http_(std::move(http)),
      timer_(options_.timer) {}

std::string TokenProvider::TokenUrl(const std::string& tenant) const {
  return absl::StrCat(options_.authority_url, "/", PercentEncode(tenant), "/oauth2/v2.0/token");
}

TokenProviderStats TokenProvider::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void TokenProvider::GetToken(std::string tenant, std::string scope, absl::Time deadline, http::TokenDone done) {
  if (tenant.empty() || scope.empty()) {
    done(absl::InternalError(absl::StrCat("token request of app ", options_.app_id, " without a tenant or a scope")));
    return;
  }
  Key key(std::move(tenant), std::move(scope));
  const absl::Time now = Now();
  std::optional<std::string> cached;
  std::optional<uint64_t> waiter;
  bool start_fetch = false;
  bool refresh_ahead = false;
  bool too_late = false;
  {
    absl::MutexLock lock(&mu_);
    Entry& entry = entries_[key];
    if (entry.token.has_value() && now < entry.token->usable_until) {
      cached = entry.token->access_token;
      ++stats_.cache_hits;
      if (now >= entry.token->refresh_at && !entry.fetching) {
        entry.fetching = true;
        start_fetch = refresh_ahead = true;
      }
    } else if (now >= deadline) {
      too_late = true;
      if (!entry.fetching && entry.waiters.empty()) entries_.erase(key);
    } else {
      entry.token.reset();
      waiter = next_waiter_++;
      entry.waiters.emplace(*waiter, std::move(done));
      if (!entry.fetching) entry.fetching = start_fetch = true;
    }
  }
  if (cached.has_value()) {
    done(*std::move(cached));
  } else if (too_late) {
    done(absl::DeadlineExceededError(absl::StrCat("deadline passed before a token for tenant ", key.first,
                                                  " could be requested")));
  }
  if (start_fetch) Fetch(key, refresh_ahead);
  if (waiter.has_value() && deadline != absl::InfiniteFuture()) ExpireAtDeadline(key, *waiter, deadline);
}

void TokenProvider::ExpireAtDeadline(const Key& key, uint64_t waiter, absl::Time deadline) {
  std::shared_ptr<http::Timer> timer;
  {
    absl::MutexLock lock(&mu_);
    const auto it = entries_.find(key);
    // Already answered, as by a token endpoint that responded at once: no wait to keep.
    if (it == entries_.end() || !it->second.waiters.contains(waiter)) return;
    if (timer_ == nullptr) timer_ = std::make_shared<http::ThreadTimer>();
    timer = timer_;
  }
  // Weak: a pending wait must not keep the provider alive; while a waiter exists, the token
  // request in flight does.
  timer->After(deadline - Now(), [weak = weak_from_this(), key, waiter](absl::Status waited) {
    // A timer shutting down leaves the waiter to the token response, which the shutdown of the
    // transport ends too.
    if (!waited.ok()) return;
    if (std::shared_ptr<TokenProvider> self = weak.lock()) self->Expire(key, waiter);
  });
}

void TokenProvider::Expire(const Key& key, uint64_t waiter) {
  http::TokenDone done;
  {
    absl::MutexLock lock(&mu_);
    const auto it = entries_.find(key);
    if (it == entries_.end()) return;
    const auto found = it->second.waiters.find(waiter);
    if (found == it->second.waiters.end()) return;
    done = std::move(found->second);
    // The entry stays: the token request goes on, for the other waiters and for the cache.
    it->second.waiters.erase(found);
  }
  done(absl::DeadlineExceededError(absl::StrCat("deadline passed while waiting for the token of tenant ", key.first,
                                                ", scope ", key.second, " (its request continues for other callers)")));
}

void TokenProvider::Invalidate(const std::string& tenant, const std::string& scope, const std::string& token) {
  absl::MutexLock lock(&mu_);
  const auto it = entries_.find(Key(tenant, scope));
  // Another caller's 401 may already have replaced the token: a newer one stays.
  if (it == entries_.end() || !it->second.token.has_value() || it->second.token->access_token != token) return;
  it->second.token.reset();
  if (!it->second.fetching) entries_.erase(it);
}

absl::StatusOr<http::HttpRequest> TokenProvider::BuildRequest(const Key& key) {
  const auto& [tenant, scope] = key;
  http::HttpRequest request;
  request.method = "POST";
  request.url = TokenUrl(tenant);
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  request.deadline = Now() + options_.request_timeout;
  request.idempotent = false;
  request.operation = "token";
  // The request id goes where MSAL sends its own, for the identity platform's traces.
  request.id_headers.request_id = "client-request-id";
  AddField(request.body, "grant_type", "client_credentials");
  AddField(request.body, "client_id", options_.app_id);
  AddField(request.body, "scope", scope);
  if (certificate_.has_value()) {
    AssertionOptions assertion;
    assertion.algorithm = options_.assertion_algorithm;
    assertion.thumbprint = options_.assertion_thumbprint;
    assertion.client_id = options_.app_id;
    assertion.audience = request.url;
    assertion.now = Now();
    absl::StatusOr<std::string> jws = MakeClientAssertion(*certificate_, assertion);
    if (!jws.ok()) {
      return absl::InternalError(absl::StrCat("cannot sign the client assertion of app ", options_.app_id,
                                              " for tenant ", tenant, ": ", jws.status().message()));
    }
    AddField(request.body, "client_assertion_type", kAssertionType);
    AddField(request.body, "client_assertion", *jws);
  } else {
    AddField(request.body, "client_secret", std::get<ClientSecret>(options_.credential).value);
  }
  return request;
}

void TokenProvider::Fetch(const Key& key, bool refresh_ahead) {
  absl::StatusOr<http::HttpRequest> request = BuildRequest(key);
  if (!request.ok()) {
    Complete(key, std::move(request).status());
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    ++stats_.token_requests;
    if (refresh_ahead) ++stats_.refreshes_ahead;
  }
  // The completion owns the provider: waiters are answered even if everyone else let go of it.
  http_->Send(std::make_shared<http::HttpRequest>(*std::move(request)),
              [self = shared_from_this(), key](absl::StatusOr<http::HttpResponse> response) {
                self->Complete(key, self->ParseResponse(key, std::move(response)));
              });
}

void TokenProvider::Complete(const Key& key, absl::StatusOr<Token> result) {
  std::map<uint64_t, http::TokenDone> waiters;
  {
    absl::MutexLock lock(&mu_);
    const auto it = entries_.find(key);
    if (it != entries_.end()) {
      Entry& entry = it->second;
      entry.fetching = false;
      waiters.swap(entry.waiters);
      if (result.ok()) {
        entry.token = *result;
      } else {
        ++stats_.failures;
        if (entry.token.has_value()) {
          // A failed refresh ahead keeps the still-valid token; the next try waits a little so a
          // down token endpoint is not asked again on every call.
          entry.token->refresh_at = std::max(entry.token->refresh_at, Now() + kRefreshRetryDelay);
        } else {
          entries_.erase(it);
        }
      }
    }
  }
  for (auto& [waiter, done] : waiters) {
    if (result.ok()) {
      done(result->access_token);
    } else {
      done(result.status());
    }
  }
}

std::string TokenProvider::Scrub(std::string text) const {
  if (const auto* secret = std::get_if<ClientSecret>(&options_.credential)) {
    absl::StrReplaceAll({{secret->value, "[redacted]"}, {PercentEncode(secret->value), "[redacted]"}}, &text);
  }
  return text;
}

absl::StatusOr<TokenProvider::Token> TokenProvider::ParseResponse(
    const Key& key, absl::StatusOr<http::HttpResponse> response) const {
  const auto& [tenant, scope] = key;
  const std::string who = absl::StrCat("tenant ", tenant, ", app ", options_.app_id);
  if (!response.ok()) {
    return absl::UnavailableError(absl::StrCat("token endpoint unreachable (", who,
                                               "): ", Scrub(std::string(response.status().message()))));
  }
  const int status = response->status;
  // Throttling and server errors say nothing about the credential: worth a later retry.
  if (status >= 500 || status == 408 || status == 429) {
    return absl::UnavailableError(absl::StrCat("token endpoint answered HTTP ", status, " (", who, ")"));
  }
  const nlohmann::json body = nlohmann::json::parse(response->body, nullptr, false);
  if (status >= 200 && status < 300) {
    const std::string access_token = StringField(body, "access_token");
    const std::optional<int64_t> expires_in = body.is_object() ? ExpiresIn(body) : std::nullopt;
    if (access_token.empty() || !expires_in.has_value()) {
      return absl::InternalError(absl::StrCat("token endpoint returned an unusable response (", who, ", scope ",
                                              scope, "): no access_token or expires_in"));
    }
    const absl::Time now = Now();
    const absl::Duration lifetime = absl::Seconds(*expires_in);
    const absl::Duration margin = std::min(std::max(options_.refresh_margin, lifetime / 10), lifetime / 2);
    return Token{access_token, now + lifetime, now + lifetime - margin,
                 now + lifetime - std::min(options_.expiry_skew, lifetime / 4)};
  }

  const std::string description = StringField(body, "error_description");
  const std::string first_line = Scrub(FirstLine(description));
  const std::optional<int64_t> code = AadstsCode(body, description);
  const std::string aadsts = code.has_value() ? absl::StrCat("AADSTS", *code) : "";
  absl::Status error;
  switch (code.value_or(0)) {
    case 700016:
      error = absl::FailedPreconditionError(absl::StrCat("app ", options_.app_id, " is not consented in customer tenant ",
                                                         tenant, " (AADSTS700016): ", first_line));
      break;
    case 7000215:
      error = absl::InternalError(absl::StrCat(
          "the client secret was rejected (AADSTS7000215, ", who,
          "): configure the secret's value, not its id, of a secret that exists on the app"));
      break;
    case 7000222:
      error = absl::InternalError(absl::StrCat("the client secret has expired (AADSTS7000222, ", who,
                                               "): add a new secret to the app and configure it"));
      break;
    case 90002:
      error = absl::NotFoundError(absl::StrCat("tenant ", tenant, " not found (AADSTS90002, app ", options_.app_id, ")"));
      break;
    default: {
      const std::string what = !aadsts.empty() ? aadsts : Scrub(StringField(body, "error"));
      error = absl::InternalError(absl::StrCat("token request failed with HTTP ", status, (what.empty() ? "" : " "),
                                               what, " (", who, ", scope ", scope, ")",
                                               (first_line.empty() ? "" : ": "), first_line));
    }
  }
  // A token request the endpoint refused is the gateway's own credential or registration at fault,
  // never the caller's: say so in the reason callers see.
  if (error.code() == absl::StatusCode::kInternal) error = ops::WithReason(std::move(error), v1::ERROR_REASON_GATEWAY_CREDENTIAL);
  std::map<std::string, std::string> details;
  if (!aadsts.empty()) details.emplace("upstreamCode", aadsts);
  if (const std::string trace_id = StringField(body, "trace_id"); !trace_id.empty()) {
    details.emplace("upstreamRequestId", trace_id);
  }
  return details.empty() ? error : ops::WithUpstreamDetails(std::move(error), details);
}

}  // namespace partner::auth
