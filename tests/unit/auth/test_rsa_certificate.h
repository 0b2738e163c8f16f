// A self-signed RSA certificate and key written to PEM files in a private temporary directory, for
// the client assertion and the certificate credential of the token provider.
#ifndef PARTNER_TESTS_UNIT_AUTH_TEST_RSA_CERTIFICATE_H_
#define PARTNER_TESTS_UNIT_AUTH_TEST_RSA_CERTIFICATE_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "tests/testing/temp_dir.h"
#include "tests/unit/api/test_certificates.h"

namespace partner::testing {

struct RsaCertificateFiles {
  // Holds the two files; removed with them when the last copy of this struct goes.
  std::shared_ptr<const TempDir> dir;
  std::string cert_file;
  std::string key_file;
  std::string cert_der;
  std::string key_pem;
  std::string cert_pem;
};

// `tag` names the files.
inline RsaCertificateFiles MakeRsaCertificateFiles(const std::string& tag = "app") {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* cert = internal::MakeCert(key, "token-test-app", nullptr, nullptr, 7, nullptr, false);
  RsaCertificateFiles files;
  files.key_pem = internal::Pem(key);
  files.cert_pem = internal::Pem(cert);
  unsigned char* der = nullptr;
  const int der_len = i2d_X509(cert, &der);
  files.cert_der.assign(reinterpret_cast<const char*>(der), static_cast<size_t>(der_len));
  OPENSSL_free(der);
  files.dir = std::make_shared<const TempDir>();
  files.cert_file = files.dir->Write(tag + "_cert.pem", files.cert_pem);
  files.key_file = files.dir->Write(tag + "_key.pem", files.key_pem);
  X509_free(cert);
  EVP_PKEY_free(key);
  return files;
}

}  // namespace partner::testing

#endif  // PARTNER_TESTS_UNIT_AUTH_TEST_RSA_CERTIFICATE_H_
