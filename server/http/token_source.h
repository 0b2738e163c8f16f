// What the bearer-token policy needs from server/auth's token provider.
#ifndef PARTNER_SERVER_HTTP_TOKEN_SOURCE_H_
#define PARTNER_SERVER_HTTP_TOKEN_SOURCE_H_

#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace partner::http {

using TokenDone = absl::AnyInvocable<void(absl::StatusOr<std::string>)>;

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // An access token for `scope` issued by `tenant`: from the cache, or one token request shared by
  // every concurrent caller (single-flight). Failures are final, with a message an operator can act
  // on (FAILED_PRECONDITION naming the tenant for an app not consented there, INTERNAL for the
  // gateway's own broken credential, UNAVAILABLE when the token endpoint cannot be reached).
  virtual void GetToken(std::string tenant, std::string scope, absl::Time deadline, TokenDone done) = 0;
  // The upstream answered 401 to `token`: forget it, so the next GetToken mints a new one.
  virtual void Invalidate(const std::string& tenant, const std::string& scope, const std::string& token) = 0;
};

}  // namespace partner::http

#endif  // PARTNER_SERVER_HTTP_TOKEN_SOURCE_H_
