// The certificate credential of the Entra token request: a PEM certificate and its RSA key, and
// the compact JWS client assertion signed with them (CONTRACTS.md §1.2).
#ifndef PARTNER_SERVER_AUTH_TOKEN_CLIENT_ASSERTION_H_
#define PARTNER_SERVER_AUTH_TOKEN_CLIENT_ASSERTION_H_

#include <openssl/types.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace partner::auth {

// RS256 (PKCS#1 v1.5) is what older Entra documentation shows; PS256 (RSA-PSS) is current.
enum class AssertionAlgorithm { kRs256, kPs256 };
// Which certificate thumbprint names the key in the JWS header: "x5t" (SHA-1) or "x5t#S256".
enum class CertificateThumbprint { kX5t, kX5tS256 };

// An X.509 certificate with its RSA private key. Immutable and cheap to copy; signing with it is
// safe from any thread.
class Certificate {
 public:
  // Reads both PEM files (they may be the same file). Fails with a message naming the file that
  // is unreadable or holds no certificate / no private key, and when the key is not RSA or does
  // not belong to the certificate.
  static absl::StatusOr<Certificate> Load(const std::string& certificate_file,
                                          const std::string& private_key_file);

  // The DER encoding of the certificate, which the thumbprints hash.
  const std::string& der() const { return der_; }
  EVP_PKEY* private_key() const { return key_.get(); }

 private:
  Certificate(std::string der, std::shared_ptr<EVP_PKEY> key) : der_(std::move(der)), key_(std::move(key)) {}

  std::string der_;
  std::shared_ptr<EVP_PKEY> key_;
};

struct AssertionOptions {
  AssertionAlgorithm algorithm = AssertionAlgorithm::kPs256;
  CertificateThumbprint thumbprint = CertificateThumbprint::kX5tS256;
  // iss and sub.
  std::string client_id;
  // The token endpoint URL the assertion is presented to.
  std::string audience;
  // nbf and iat; exp is now + lifetime.
  absl::Time now;
  absl::Duration lifetime = absl::Minutes(10);
  // Unique per assertion so Entra can refuse a replay; empty: a fresh random GUID.
  std::string jti;
};

// base64url(header).base64url(claims).base64url(signature), without padding.
absl::StatusOr<std::string> MakeClientAssertion(const Certificate& certificate, const AssertionOptions& options);

}  // namespace partner::auth

#endif  // PARTNER_SERVER_AUTH_TOKEN_CLIENT_ASSERTION_H_
