// Entra ID app-only access tokens (client credentials grant, CONTRACTS.md §1) for the bearer
// policy: cached per (tenant, scope), fetched once for any number of concurrent callers, refreshed
// in the background before they expire, and failures turned into messages an operator can act on.
#ifndef PARTNER_SERVER_AUTH_TOKEN_TOKEN_PROVIDER_H_
#define PARTNER_SERVER_AUTH_TOKEN_TOKEN_PROVIDER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/auth/token/client_assertion.h"
#include "server/http/http_client.h"
#include "server/http/timer.h"
#include "server/http/token_source.h"

namespace partner::auth {

// The app's client secret value (not its id).
struct ClientSecret {
  std::string value;
};

// PEM files of the certificate registered on the app and its RSA private key.
struct ClientCertificate {
  std::string certificate_file;
  std::string private_key_file;
};

struct TokenProviderOptions {
  // Entra authority without a trailing slash, e.g. "https://login.microsoftonline.com".
  std::string authority_url = "https://login.microsoftonline.com";
  // The application (client) id.
  std::string app_id;
  std::variant<ClientSecret, ClientCertificate> credential;
  AssertionAlgorithm assertion_algorithm = AssertionAlgorithm::kPs256;
  CertificateThumbprint assertion_thumbprint = CertificateThumbprint::kX5tS256;
  // A token is refreshed in the background once less than
  //   min(max(refresh_margin, lifetime / 10), lifetime / 2)
  // of its lifetime remains: five minutes ahead for the usual one-hour token, ten percent ahead
  // for long-lived ones, and never so early that a short-lived token is refreshed on every call.
  absl::Duration refresh_margin = absl::Minutes(5);
  // A token this close to expiry is not handed out at all: it could expire on the way to the
  // upstream or on a skewed upstream clock. At most a quarter of a token's lifetime.
  absl::Duration expiry_skew = absl::Seconds(30);
  // A token request is shared by callers with different deadlines, so it runs on its own timeout
  // rather than on any one caller's deadline; each caller is answered DEADLINE_EXCEEDED at its own
  // deadline while the request goes on for the others.
  absl::Duration request_timeout = absl::Seconds(30);
  // Current time; null: absl::Now. Called from any thread.
  absl::AnyInvocable<absl::Time() const> clock;
  // Keeps the deadlines of callers waiting for a token request; its clock should be `clock`.
  // Null: a ThreadTimer, started the first time a caller has to wait.
  std::shared_ptr<http::Timer> timer;
};

// Counters for tests and benchmarks; a snapshot.
struct TokenProviderStats {
  int64_t token_requests = 0;   // HTTP requests sent to the token endpoint
  int64_t refreshes_ahead = 0;  // of those, background refreshes of a still-valid token
  int64_t cache_hits = 0;       // GetToken answered from the cache
  int64_t failures = 0;         // token fetches that ended in an error
};

class TokenProvider : public http::TokenSource, public std::enable_shared_from_this<TokenProvider> {
 public:
  // `http` is the transport with retry, never the bearer-token pipeline (a token request carries
  // no token). A certificate credential is loaded here: a missing, invalid or mismatched file fails
  // with a message naming it.
  static absl::StatusOr<std::shared_ptr<TokenProvider>> Create(TokenProviderOptions options,
                                                               std::shared_ptr<http::HttpClient> http);

  void GetToken(std::string tenant, std::string scope, absl::Time deadline, http::TokenDone done) override;
  void Invalidate(const std::string& tenant, const std::string& scope, const std::string& token) override;

  TokenProviderStats stats() const;

 private:
  using Key = std::pair<std::string, std::string>;  // (tenant, scope)
  struct Token {
    std::string access_token;
    absl::Time expires_at;
    absl::Time refresh_at;
    // Handed out until then: expires_at less the expiry skew, which for short-lived tokens is
    // capped at a quarter of their life (else a 5 s token would never be reused).
    absl::Time usable_until;
  };
  struct Entry {
    std::optional<Token> token;
    bool fetching = false;
    // By arrival. A waiter is answered by whoever takes it out under the lock: the token response
    // or its deadline, never both.
    std::map<uint64_t, http::TokenDone> waiters;
  };

  TokenProvider(TokenProviderOptions options, std::optional<Certificate> certificate,
                std::shared_ptr<http::HttpClient> http);

  absl::Time Now() const { return clock_(); }
  // The token endpoint of `tenant`, also the audience of the client assertion.
  std::string TokenUrl(const std::string& tenant) const;
  // Sends the token request for `key`; its completion serves every waiter of the entry.
  void Fetch(const Key& key, bool refresh_ahead);
  absl::StatusOr<http::HttpRequest> BuildRequest(const Key& key);
  void Complete(const Key& key, absl::StatusOr<Token> result);
  // Answers `waiter` DEADLINE_EXCEEDED at `deadline` unless the token response answers it first.
  void ExpireAtDeadline(const Key& key, uint64_t waiter, absl::Time deadline);
  void Expire(const Key& key, uint64_t waiter);
  absl::StatusOr<Token> ParseResponse(const Key& key, absl::StatusOr<http::HttpResponse> response) const;
  // Upstream text in a message, with the credential cut out should the endpoint ever echo it.
  std::string Scrub(std::string text) const;

  // Initialised first: it is moved out of the options before they are stored.
  const absl::AnyInvocable<absl::Time() const> clock_;
  const TokenProviderOptions options_;
  const std::optional<Certificate> certificate_;
  const std::shared_ptr<http::HttpClient> http_;

  mutable absl::Mutex mu_;
  std::map<Key, Entry> entries_ ABSL_GUARDED_BY(mu_);
  uint64_t next_waiter_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<http::Timer> timer_ ABSL_GUARDED_BY(mu_);
  TokenProviderStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace partner::auth

#endif  // PARTNER_SERVER_AUTH_TOKEN_TOKEN_PROVIDER_H_
