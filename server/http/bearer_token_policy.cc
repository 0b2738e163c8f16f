#include "server/http/bearer_token_policy.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/http/header_policies.h"

namespace partner::http {

struct BearerTokenPolicy::Shared {
  std::shared_ptr<TokenSource> tokens;
  std::shared_ptr<HttpClient> next;

  // `may_refresh`: this is the first send, and a 401 earns one more with a fresh token.
  static void SendWithToken(std::shared_ptr<const Shared> shared, std::shared_ptr<HttpRequest> request,
                            HttpDone done, bool may_refresh) {
    TokenSource& tokens = *shared->tokens;
    std::string tenant = request->token_tenant;
    std::string scope = request->token_scope;
    const absl::Time deadline = request->deadline;
    tokens.GetToken(
        std::move(tenant), std::move(scope), deadline,
        [shared = std::move(shared), request = std::move(request), done = std::move(done),
         may_refresh](absl::StatusOr<std::string> token) mutable {
          if (!token.ok()) return done(token.status());
          // Replaces the token of an earlier attempt of the same request.
          SetHeader(request->headers, "Authorization", absl::StrCat("Bearer ", *token));
          HttpClient& next = *shared->next;
          next.Send(request, [shared = std::move(shared), request, done = std::move(done), token = *std::move(token),
                              may_refresh](absl::StatusOr<HttpResponse> response) mutable {
            if (!may_refresh || !response.ok() || response->status != 401) return done(std::move(response));
            shared->tokens->Invalidate(request->token_tenant, request->token_scope, token);
            SendWithToken(std::move(shared), std::move(request), std::move(done), /*may_refresh=*/false);
          });
        });
  }
};

BearerTokenPolicy::BearerTokenPolicy(std::shared_ptr<TokenSource> tokens, std::shared_ptr<HttpClient> next)
    : shared_(std::make_shared<const Shared>(Shared{std::move(tokens), std::move(next)})) {}

void BearerTokenPolicy::Send(std::shared_ptr<HttpRequest> request, HttpDone done) {
  if (request->token_scope.empty()) return shared_->next->Send(std::move(request), std::move(done));
  if (shared_->tokens == nullptr) {
    // A wiring mistake (a token-less pipeline, as the token endpoint's own, used for an API call):
    // sending without a token would only earn a confusing 401.
    return done(absl::InternalError(absl::StrCat("no token source for upstream scope ", request->token_scope)));
  }
  Shared::SendWithToken(shared_, std::move(request), std::move(done), /*may_refresh=*/true);
}

}  // namespace partner::http
