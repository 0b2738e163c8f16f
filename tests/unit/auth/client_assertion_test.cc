#include "server/auth/token/client_assertion.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/auth/test_rsa_certificate.h"

namespace partner::auth {
namespace {

using ::partner::testing::IsOk;
using ::partner::testing::StatusIs;
using ::testing::HasSubstr;

std::string Unbase64Url(const std::string& text) {
  std::string out;
  EXPECT_TRUE(absl::WebSafeBase64Unescape(text, &out)) << text;
  return out;
}

std::string DigestOf(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

// Verifies the JWS with the certificate's public key, as Entra does.
bool Verifies(const std::string& cert_pem, const std::string& signing_input, const std::string& signature,
              bool pss) {
  BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), nullptr, X509_get0_pubkey(cert)) == 1;
  if (pss) {
    ok = ok && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  ok = ok && EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                              reinterpret_cast<const unsigned char*>(signing_input.data()),
                              signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  X509_free(cert);
  return ok;
}

class ClientAssertionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { files_ = new testing::RsaCertificateFiles(testing::MakeRsaCertificateFiles()); }
  static void TearDownTestSuite() { delete files_; }

  static testing::RsaCertificateFiles* files_;
};
testing::RsaCertificateFiles* ClientAssertionTest::files_ = nullptr;

struct Decoded {
  nlohmann::json header;
  nlohmann::json claims;
  std::string signing_input;
  std::string signature;
};

Decoded Decode(const std::string& jws) {
  std::vector<std::string> parts = absl::StrSplit(jws, '.');
  EXPECT_EQ(parts.size(), 3u);
  if (parts.size() != 3) return {};
  for (const std::string& part : parts) EXPECT_EQ(part.find('='), std::string::npos) << "padding in " << part;
  return {nlohmann::json::parse(Unbase64Url(parts[0]), nullptr, false),
          nlohmann::json::parse(Unbase64Url(parts[1]), nullptr, false),
          parts[0] + "." + parts[1], Unbase64Url(parts[2])};
}

AssertionOptions Options(AssertionAlgorithm algorithm, CertificateThumbprint thumbprint) {
  AssertionOptions options;
  options.algorithm = algorithm;
  options.thumbprint = thumbprint;
  options.client_id = "0d7e2f4a-91c3-4b6e-8a55-3f1e9c2b7d60";
  options.audience = "https://login.microsoftonline.com/8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418/oauth2/v2.0/token";
  options.now = absl::FromUnixSeconds(1760000000);
  return options;
}

TEST_F(ClientAssertionTest, Ps256WithSha256ThumbprintVerifiesWithTheCertificateKey) {
  absl::StatusOr<Certificate> cert = Certificate::Load(files_->cert_file, files_->key_file);
  ASSERT_THAT(cert, IsOk());
  absl::StatusOr<std::string> jws =
      MakeClientAssertion(*cert, Options(AssertionAlgorithm::kPs256, CertificateThumbprint::kX5tS256));
  ASSERT_THAT(jws, IsOk());
  const Decoded decoded = Decode(*jws);
  EXPECT_EQ(decoded.header, nlohmann::json({{"alg", "PS256"},
                                            {"typ", "JWT"},
                                            {"x5t#S256", absl::WebSafeBase64Escape(
                                                             DigestOf(EVP_sha256(), files_->cert_der))}}));
  EXPECT_TRUE(Verifies(files_->cert_pem, decoded.signing_input, decoded.signature, /*pss=*/true));
  EXPECT_FALSE(Verifies(files_->cert_pem, decoded.signing_input, decoded.signature, /*pss=*/false));
}

TEST_F(ClientAssertionTest, Rs256WithSha1ThumbprintVerifiesWithTheCertificateKey) {
  absl::StatusOr<Certificate> cert = Certificate::Load(files_->cert_file, files_->key_file);
  ASSERT_THAT(cert, IsOk());
  absl::StatusOr<std::string> jws =
      MakeClientAssertion(*cert, Options(AssertionAlgorithm::kRs256, CertificateThumbprint::kX5t));
  ASSERT_THAT(jws, IsOk());
  const Decoded decoded = Decode(*jws);
  EXPECT_EQ(decoded.header,
            nlohmann::json({{"alg", "RS256"},
                            {"typ", "JWT"},
                            {"x5t", absl::WebSafeBase64Escape(DigestOf(EVP_sha1(), files_->cert_der))}}));
  EXPECT_TRUE(Verifies(files_->cert_pem, decoded.signing_input, decoded.signature, /*pss=*/false));
  // Tampering with the claims breaks the signature.
  EXPECT_FALSE(Verifies(files_->cert_pem, decoded.signing_input + "x", decoded.signature, /*pss=*/false));
}

TEST_F(ClientAssertionTest, ClaimsNameTheAppTheEndpointAndTheValidity) {
  absl::StatusOr<Certificate> cert = Certificate::Load(files_->cert_file, files_->key_file);
  ASSERT_THAT(cert, IsOk());
  AssertionOptions options = Options(AssertionAlgorithm::kPs256, CertificateThumbprint::kX5tS256);
  options.lifetime = absl::Minutes(5);
  absl::StatusOr<std::string> jws = MakeClientAssertion(*cert, options);
  ASSERT_THAT(jws, IsOk());
  const nlohmann::json claims = Decode(*jws).claims;
  EXPECT_EQ(claims["aud"], options.audience);
  EXPECT_EQ(claims["iss"], options.client_id);
  EXPECT_EQ(claims["sub"], options.client_id);
  EXPECT_EQ(claims["nbf"], 1760000000);
  EXPECT_EQ(claims["iat"], 1760000000);
  EXPECT_EQ(claims["exp"], 1760000000 + 300);
  ASSERT_TRUE(claims["jti"].is_string());
  EXPECT_THAT(claims["jti"].get<std::string>(),
              ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  absl::StatusOr<std::string> again = MakeClientAssertion(*cert, options);
  ASSERT_THAT(again, IsOk());
  EXPECT_NE(Decode(*again).claims["jti"], claims["jti"]) << "every assertion needs a fresh jti";
}

TEST_F(ClientAssertionTest, DefaultLifetimeIsTenMinutes) {
  absl::StatusOr<Certificate> cert = Certificate::Load(files_->cert_file, files_->key_file);
  ASSERT_THAT(cert, IsOk());
  absl::StatusOr<std::string> jws =
      MakeClientAssertion(*cert, Options(AssertionAlgorithm::kPs256, CertificateThumbprint::kX5tS256));
  ASSERT_THAT(jws, IsOk());
  EXPECT_EQ(Decode(*jws).claims["exp"], 1760000000 + 600);
}

TEST_F(ClientAssertionTest, OneFileWithCertificateAndKeyLoads) {
  const testing::TempDir dir;
  const std::string both = dir.Write("both.pem", files_->cert_pem + files_->key_pem);
  EXPECT_THAT(Certificate::Load(both, both), IsOk());
}

TEST_F(ClientAssertionTest, MissingFileIsNamed) {
  EXPECT_THAT(Certificate::Load("/nonexistent/app.pem", files_->key_file),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/app.pem")));
  EXPECT_THAT(Certificate::Load(files_->cert_file, "/nonexistent/app.key"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/app.key")));
}

TEST_F(ClientAssertionTest, FileWithoutPemIsNamed) {
  const testing::TempDir dir;
  const std::string garbage = dir.Write("garbage.pem", "not a certificate\n");
  EXPECT_THAT(Certificate::Load(garbage, files_->key_file),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("certificate file \"" + garbage)));
  EXPECT_THAT(Certificate::Load(files_->cert_file, garbage),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("private key file \"" + garbage)));
  // A certificate where the key should be is not a key.
  EXPECT_THAT(Certificate::Load(files_->cert_file, files_->cert_file),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(files_->cert_file)));
}

TEST_F(ClientAssertionTest, KeyOfAnotherCertificateIsRefused) {
  const testing::RsaCertificateFiles other = testing::MakeRsaCertificateFiles("other");
  EXPECT_THAT(Certificate::Load(files_->cert_file, other.key_file),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("does not match"), HasSubstr(other.key_file))));
}

TEST_F(ClientAssertionTest, NonRsaKeyIsRefused) {
  const testing::TestPki pki = testing::MakeTestPki();
  const testing::TempDir dir;
  const std::string cert = dir.Write("ec_cert.pem", pki.client.cert_pem);
  const std::string key = dir.Write("ec_key.pem", pki.client.key_pem);
  EXPECT_THAT(Certificate::Load(cert, key),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::AllOf(HasSubstr("RSA"), HasSubstr(key))));
}

}  // namespace
}  // namespace partner::auth
