// The emulator's token endpoint accepts certificate client assertions exactly when Entra would.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "emulator/emulator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/emulator/emulator_client.h"
#include "tests/unit/api/test_certificates.h"

namespace partner::testing {
namespace {

struct Jwt {
  std::string alg = "PS256";
  bool sha256_thumbprint = true;
  std::string audience;
  std::string issuer = kAppId;
  absl::Duration expires_in = absl::Minutes(10);
};

std::string B64(const std::string& data) { return absl::WebSafeBase64Escape(data); }

std::string Sign(const Jwt& jwt, const KeyAndCert& credential) {
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(BIO_new_mem_buf(credential.cert_pem.data(), -1), BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr), X509_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(BIO_new_mem_buf(credential.key_pem.data(), -1), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr),
                                                          EVP_PKEY_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  X509_digest(cert.get(), jwt.sha256_thumbprint ? EVP_sha256() : EVP_sha1(), digest, &size);
  const nlohmann::json header = {{"alg", jwt.alg}, {"typ", "JWT"},
                                 {jwt.sha256_thumbprint ? "x5t#S256" : "x5t", B64(std::string(reinterpret_cast<char*>(digest), size))}};
  const std::int64_t now = absl::ToUnixSeconds(absl::Now());
  const nlohmann::json claims = {{"aud", jwt.audience}, {"iss", jwt.issuer}, {"sub", jwt.issuer}, {"jti", "8d9a4c1e-3f5b-4e7a-9c2d-1b0e8f7a6d53"},
                                 {"nbf", now}, {"iat", now}, {"exp", now + absl::ToInt64Seconds(jwt.expires_in)}};
  const std::string signing_input = absl::StrCat(B64(header.dump()), ".", B64(claims.dump()));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pkey_ctx = nullptr;
  EVP_DigestSignInit(ctx.get(), &pkey_ctx, EVP_sha256(), nullptr, key.get());
  if (jwt.alg == "PS256") {
    EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_ctx, RSA_PSS_SALTLEN_DIGEST);
  }
  std::size_t signature_size = 0;
  EVP_DigestSign(ctx.get(), nullptr, &signature_size, reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size());
  std::string signature(signature_size, '\0');
  EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &signature_size,
                 reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size());
  signature.resize(signature_size);
  return absl::StrCat(signing_input, ".", B64(signature));
}

// Entra app credentials are RSA certificates.
KeyAndCert MakeRsaCredential(const char* cn) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* cert = internal::MakeCert(key, cn, nullptr, nullptr, 1, nullptr, false);
  KeyAndCert out{internal::Pem(key), internal::Pem(cert)};
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

class ClientAssertionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    app_ = MakeRsaCredential("gateway-app");
    other_ = MakeRsaCredential("someone-else");
    emulator::EmulatorOptions options;
    options.services.client_secret = "";
    options.services.client_certificate_pem = app_.cert_pem;
    auto started = emulator::Emulator::Start(options);
    ASSERT_TRUE(started.ok());
    emu_ = std::move(*started);
  }

  std::string TokenUrl() const { return absl::StrCat(emu_->base_url(), "/", kPartnerTenant, "/oauth2/v2.0/token"); }

  Reply Request(const std::string& assertion) {
    return Fetch("POST", TokenUrl(), {"Content-Type: application/x-www-form-urlencoded"},
                 absl::StrCat("grant_type=client_credentials&client_id=", kAppId, "&scope=",
                              FormEncode("https://management.azure.com/.default"),
                              "&client_assertion_type=", FormEncode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                              "&client_assertion=", assertion));
  }

  KeyAndCert app_;
  KeyAndCert other_;
  std::unique_ptr<emulator::Emulator> emu_;
};

TEST_F(ClientAssertionTest, AcceptsPs256AndRs256WithEitherThumbprint) {
  for (const char* alg : {"PS256", "RS256"}) {
    for (bool sha256 : {true, false}) {
      Jwt jwt{.alg = alg, .sha256_thumbprint = sha256, .audience = TokenUrl()};
      Reply reply = Request(Sign(jwt, app_));
      EXPECT_EQ(reply.status, 200) << alg << " sha256=" << sha256 << ": " << reply.body;
    }
  }
}

TEST_F(ClientAssertionTest, RefusesAnotherKeyAWrongAudienceAnExpiredAssertionAndASecret) {
  EXPECT_EQ(Request(Sign(Jwt{.audience = TokenUrl()}, other_)).Json()["error"], "invalid_client")
      << "signed by a certificate the app does not have";
  EXPECT_EQ(Request(Sign(Jwt{.audience = "https://login.microsoftonline.com/x/oauth2/v2.0/token"}, app_)).status, 401);
  Reply expired = Request(Sign(Jwt{.audience = TokenUrl(), .expires_in = absl::Minutes(-10)}, app_));
  EXPECT_EQ(expired.Json()["error_codes"][0], 700024);
  EXPECT_EQ(Request(Sign(Jwt{.audience = TokenUrl(), .issuer = "someone-else"}, app_)).status, 401);
  EXPECT_EQ(Request("not.a.jwt").status, 401);
  EXPECT_EQ(RequestToken(*emu_, kPartnerTenant, "https://management.azure.com/.default").status, 401)
      << "no secret is registered";
}

}  // namespace
}  // namespace partner::testing
