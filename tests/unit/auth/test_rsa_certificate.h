// A self-signed RSA certificate and key written to temporary PEM files, for the client assertion
// and the certificate credential of the token provider.
#ifndef PARTNER_TESTS_UNIT_AUTH_TEST_RSA_CERTIFICATE_H_
#define PARTNER_TESTS_UNIT_AUTH_TEST_RSA_CERTIFICATE_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/unit/api/test_certificates.h"

namespace partner::testing {

inline std::string WriteTempFile(const std::string& name, const std::string& content) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("token_unit_tests_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path, std::ios::binary) << content;
  return path.string();
}

struct RsaCertificateFiles {
  std::string cert_file;
  std::string key_file;
  std::string cert_der;
  std::string key_pem;
  std::string cert_pem;
};

// `tag` keeps the files of two certificates in one test apart.
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
  files.cert_file = WriteTempFile(tag + "_cert.pem", files.cert_pem);
  files.key_file = WriteTempFile(tag + "_key.pem", files.key_pem);
  X509_free(cert);
  EVP_PKEY_free(key);
  return files;
}

}  // namespace partner::testing

#endif  // PARTNER_TESTS_UNIT_AUTH_TEST_RSA_CERTIFICATE_H_
