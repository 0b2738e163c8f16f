// Checks a client assertion (CONTRACTS.md §1.2) the way Entra does: RS256 or PS256 signature by
// the registered certificate's key, x5t or x5t#S256 naming that certificate, aud = the token
// endpoint, iss = sub = the client id, inside nbf..exp.
#ifndef PARTNER_EMULATOR_ASSERTION_VERIFIER_H_
#define PARTNER_EMULATOR_ASSERTION_VERIFIER_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace partner::emulator {

// OK, or INVALID_ARGUMENT / UNAUTHENTICATED whose message starts with the AADSTS code Entra
// would answer with.
absl::Status VerifyClientAssertion(absl::string_view assertion, const std::string& certificate_pem,
                                   const std::string& client_id, const std::string& audience, absl::Time now);

}  // namespace partner::emulator

#endif  // PARTNER_EMULATOR_ASSERTION_VERIFIER_H_
