#include "emulator/assertion_verifier.h"

#include <memory>
#include <vector>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace partner::emulator {
namespace {

// Entra accepts assertions a little early or late: clock skew between client and server.
constexpr absl::Duration kClockSkew = absl::Minutes(5);

absl::Status Invalid(absl::string_view message) { return absl::UnauthenticatedError(message); }

std::string Base64Url(const unsigned char* data, std::size_t size) {
  return absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<const char*>(data), size));
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

bool NumericClaim(const nlohmann::json& claims, const char* name, std::int64_t* out) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_number()) return false;
  *out = it->get<std::int64_t>();
  return true;
}

}  // namespace

absl::Status VerifyClientAssertion(absl::string_view assertion, const std::string& certificate_pem,
                                   const std::string& client_id, const std::string& audience, absl::Time now) {
  std::vector<absl::string_view> parts = absl::StrSplit(assertion, '.');
  std::string header_json;
  std::string claims_json;
  std::string signature;
  if (parts.size() != 3 || !absl::WebSafeBase64Unescape(parts[0], &header_json) ||
      !absl::WebSafeBase64Unescape(parts[1], &claims_json) || !absl::WebSafeBase64Unescape(parts[2], &signature)) {
    return Invalid("AADSTS50027: JWT token is invalid or malformed.");
  }
  const nlohmann::json header = nlohmann::json::parse(header_json, nullptr, false);
  const nlohmann::json claims = nlohmann::json::parse(claims_json, nullptr, false);
  if (!header.is_object() || !claims.is_object() || !header.contains("alg") || !header["alg"].is_string()) {
    return Invalid("AADSTS50027: JWT token is invalid or malformed.");
  }
  const std::string alg = header["alg"].get<std::string>();
  if (alg != "RS256" && alg != "PS256") return Invalid(absl::StrCat("AADSTS5002730: unsupported algorithm ", alg));

  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(certificate_pem.data(), static_cast<int>(certificate_pem.size())));
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return absl::FailedPreconditionError("the emulator's registered certificate is not valid PEM");
  unsigned char der_digest[SHA256_DIGEST_LENGTH];
  unsigned int digest_size = 0;
  const bool has_s256 = header.contains("x5t#S256") && header["x5t#S256"].is_string();
  const bool has_sha1 = header.contains("x5t") && header["x5t"].is_string();
  if (!has_s256 && !has_sha1) return Invalid("AADSTS700027: the assertion names no certificate (x5t or x5t#S256).");
  X509_digest(cert.get(), has_s256 ? EVP_sha256() : EVP_sha1(), der_digest, &digest_size);
  const std::string expected_thumbprint = Base64Url(der_digest, digest_size);
  if (header[has_s256 ? "x5t#S256" : "x5t"].get<std::string>() != expected_thumbprint) {
    return Invalid("AADSTS700027: Client assertion contains an invalid signature. [Reason - The key was not found.]");
  }

  std::unique_ptr<EVP_PKEY, PkeyFree> key(X509_get_pubkey(cert.get()));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pkey_ctx = nullptr;
  if (!key || EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) {
    return Invalid("AADSTS700027: Client assertion contains an invalid signature. [Reason - The registered key is not an RSA key.]");
  }
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pkey_ctx, EVP_sha256(), nullptr, key.get()) != 1) {
    return absl::InternalError("cannot set up signature verification");
  }
  if (alg == "PS256" && (EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                         EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_ctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
    return absl::InternalError("cannot set up PSS verification");
  }
  const std::string signed_part = absl::StrCat(parts[0], ".", parts[1]);
  if (EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) != 1) {
    return Invalid("AADSTS700027: Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value.]");
  }

  auto string_claim = [&](const char* name) {
    auto it = claims.find(name);
    return it != claims.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (string_claim("aud") != audience) {
    return Invalid(absl::StrCat("AADSTS700027: Client assertion failed validation: the audience claim must be '", audience, "'."));
  }
  if (string_claim("iss") != client_id || string_claim("sub") != client_id) {
    return Invalid("AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter.");
  }
  std::int64_t nbf = 0;
  std::int64_t exp = 0;
  if (!NumericClaim(claims, "exp", &exp)) return Invalid("AADSTS700025: the assertion has no exp claim.");
  const bool has_nbf = NumericClaim(claims, "nbf", &nbf);
  if (absl::FromUnixSeconds(exp) + kClockSkew < now || (has_nbf && absl::FromUnixSeconds(nbf) - kClockSkew > now)) {
    return Invalid("AADSTS700024: Client assertion is not within its valid time range.");
  }
  return absl::OkStatus();
}

}  // namespace partner::emulator
