// A throwaway Entra app credential (RSA key and self-signed certificate), so the sandbox signs
// client assertions exactly as a production gateway with a certificate credential does.
#ifndef PARTNER_EMULATOR_APP_CREDENTIAL_H_
#define PARTNER_EMULATOR_APP_CREDENTIAL_H_

#include <string>

#include "absl/status/statusor.h"

namespace partner::emulator {

struct AppCredential {
  std::string certificate_pem;
  std::string private_key_pem;
};

absl::StatusOr<AppCredential> GenerateAppCredential(const std::string& common_name);

}  // namespace partner::emulator

#endif  // PARTNER_EMULATOR_APP_CREDENTIAL_H_
