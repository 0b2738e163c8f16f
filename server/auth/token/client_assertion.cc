#include "server/auth/token/client_assertion.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "server/config/load_config.h"

namespace partner::auth {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// The reason of the most recent OpenSSL error, for messages; clears the thread's error queue so a
// stale entry never shows up in a later, unrelated message.
std::string OpenSslReason() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : absl::StrCat("OpenSSL error ", code);
}

BioPtr MemoryBio(const std::string& data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string Base64Url(absl::string_view bytes) { return absl::WebSafeBase64Escape(bytes); }

std::string Digest(const EVP_MD* md, absl::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr);
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

// Never throws: a client id or URL with invalid UTF-8 is replaced, not an exception.
std::string Dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<std::string> Sign(EVP_PKEY* key, AssertionAlgorithm algorithm, absl::string_view input) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pkey_ctx = nullptr;
  if (ctx == nullptr || EVP_DigestSignInit(ctx.get(), &pkey_ctx, EVP_sha256(), nullptr, key) != 1) {
    return absl::InternalError(absl::StrCat("client assertion: cannot start signing: ", OpenSslReason()));
  }
  if (algorithm == AssertionAlgorithm::kPs256 &&
      (EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_ctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
    return absl::InternalError(absl::StrCat("client assertion: cannot set RSA-PSS padding: ", OpenSslReason()));
  }
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size()) != 1) {
    return absl::InternalError(absl::StrCat("client assertion: cannot sign: ", OpenSslReason()));
  }
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len, data, input.size()) != 1) {
    return absl::InternalError(absl::StrCat("client assertion: cannot sign: ", OpenSslReason()));
  }
  signature.resize(len);
  return signature;
}

// A random (version 4) GUID, lower case.
absl::StatusOr<std::string> RandomGuid() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return absl::InternalError(absl::StrCat("client assertion: no random bytes for jti: ", OpenSslReason()));
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);
  const std::string hex = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-", hex.substr(16, 4), "-",
                      hex.substr(20));
}

}  // namespace

absl::StatusOr<Certificate> Certificate::Load(const std::string& certificate_file,
                                              const std::string& private_key_file) {
  absl::StatusOr<std::string> cert_pem = config::ReadFileToString(certificate_file);
  if (!cert_pem.ok()) {
    return absl::Status(cert_pem.status().code(), absl::StrCat("certificate file: ", cert_pem.status().message()));
  }
  absl::StatusOr<std::string> key_pem = config::ReadFileToString(private_key_file);
  if (!key_pem.ok()) {
    return absl::Status(key_pem.status().code(), absl::StrCat("private key file: ", key_pem.status().message()));
  }

  BioPtr cert_bio = MemoryBio(*cert_pem);
  X509Ptr cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrFormat("certificate file \"%s\" holds no PEM certificate: %s",
                                                      certificate_file, OpenSslReason()));
  }
  BioPtr key_bio = MemoryBio(*key_pem);
  // A passphrase callback that refuses: an encrypted key fails here instead of prompting on a tty.
  auto no_passphrase = [](char*, int, int, void*) { return -1; };
  std::shared_ptr<EVP_PKEY> key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_passphrase, nullptr),
                                EVP_PKEY_free);
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "private key file \"%s\" holds no unencrypted PEM private key: %s", private_key_file, OpenSslReason()));
  }
  if (EVP_PKEY_is_a(key.get(), "RSA") != 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "private key file \"%s\" holds a %s key; client assertions (RS256, PS256) need an RSA key",
        private_key_file, EVP_PKEY_get0_type_name(key.get())));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrFormat(
        "private key file \"%s\" does not match the certificate in \"%s\"", private_key_file, certificate_file));
  }

  unsigned char* der = nullptr;
  const int der_len = i2d_X509(cert.get(), &der);
  if (der_len <= 0) {
    return absl::InvalidArgumentError(absl::StrFormat("certificate file \"%s\": cannot encode the certificate: %s",
                                                      certificate_file, OpenSslReason()));
  }
  std::string der_bytes(reinterpret_cast<const char*>(der), static_cast<size_t>(der_len));
  OPENSSL_free(der);
  return Certificate(std::move(der_bytes), std::move(key));
}

absl::StatusOr<std::string> MakeClientAssertion(const Certificate& certificate, const AssertionOptions& options) {
  nlohmann::json header = {{"alg", options.algorithm == AssertionAlgorithm::kPs256 ? "PS256" : "RS256"},
                           {"typ", "JWT"}};
  if (options.thumbprint == CertificateThumbprint::kX5t) {
    header["x5t"] = Base64Url(Digest(EVP_sha1(), certificate.der()));
  } else {
    header["x5t#S256"] = Base64Url(Digest(EVP_sha256(), certificate.der()));
  }
  std::string jti = options.jti;
  if (jti.empty()) {
    absl::StatusOr<std::string> guid = RandomGuid();
    if (!guid.ok()) return guid.status();
    jti = *std::move(guid);
  }
  const int64_t now = absl::ToUnixSeconds(options.now);
  const nlohmann::json claims = {
      {"aud", options.audience},
      {"iss", options.client_id},
      {"sub", options.client_id},
      {"jti", jti},
      {"nbf", now},
      {"iat", now},
      {"exp", now + absl::ToInt64Seconds(options.lifetime)},
  };
  std::string signing_input = absl::StrCat(Base64Url(Dump(header)), ".", Base64Url(Dump(claims)));
  absl::StatusOr<std::string> signature = Sign(certificate.private_key(), options.algorithm, signing_input);
  if (!signature.ok()) return signature.status();
  return absl::StrCat(signing_input, ".", Base64Url(*signature));
}

}  // namespace partner::auth
