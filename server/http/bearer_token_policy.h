// Adds `Authorization: Bearer <token>` for requests naming a token scope. Sits below the retry
// policy, so each attempt asks the TokenSource again and picks up a refreshed token. An upstream
// 401 means the token was revoked or expired early: it is invalidated and the request sent once
// more with a fresh one. A token failure completes the call with that status, unchanged.
#ifndef PARTNER_SERVER_HTTP_BEARER_TOKEN_POLICY_H_
#define PARTNER_SERVER_HTTP_BEARER_TOKEN_POLICY_H_

#include <memory>

#include "server/http/http_client.h"
#include "server/http/token_source.h"

namespace partner::http {

class BearerTokenPolicy final : public HttpClient {
 public:
  // `tokens` may be null for a pipeline whose requests never name a scope (the token endpoint's
  // own); a request naming one then fails with INTERNAL.
  BearerTokenPolicy(std::shared_ptr<TokenSource> tokens, std::shared_ptr<HttpClient> next);
  void Send(std::shared_ptr<HttpRequest> request, HttpDone done) override;

 private:
  struct Shared;

  // Shared with calls in flight, which may outlive the policy.
  std::shared_ptr<const Shared> shared_;
};

}  // namespace partner::http

#endif  // PARTNER_SERVER_HTTP_BEARER_TOKEN_POLICY_H_
