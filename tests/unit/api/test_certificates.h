// A throwaway CA with a server certificate for 127.0.0.1 and a client certificate carrying a
// URI SAN (a SPIFFE id), generated with OpenSSL for TLS and mTLS tests.
#ifndef PARTNER_TESTS_UNIT_API_TEST_CERTIFICATES_H_
#define PARTNER_TESTS_UNIT_API_TEST_CERTIFICATES_H_

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>

namespace partner::testing {

struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

struct TestPki {
  std::string ca_pem;
  KeyAndCert server;
  KeyAndCert client;
};

namespace internal {

inline std::string Pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

inline std::string Pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

inline void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

inline X509* MakeCert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, long serial,
                      const char* san, bool ca) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600 * 24);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509* ext_issuer = issuer != nullptr ? issuer : cert;
  AddExtension(cert, ext_issuer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (ca) AddExtension(cert, ext_issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  if (san != nullptr) AddExtension(cert, ext_issuer, NID_subject_alt_name, san);
  X509_sign(cert, issuer_key != nullptr ? issuer_key : key, EVP_sha256());
  return cert;
}

}  // namespace internal

inline TestPki MakeTestPki(const char* client_san = "URI:spiffe://example.org/ns/tests/sa/caller") {
  EVP_PKEY* ca_key = EVP_EC_gen("P-256");
  EVP_PKEY* server_key = EVP_EC_gen("P-256");
  EVP_PKEY* client_key = EVP_EC_gen("P-256");
  X509* ca = internal::MakeCert(ca_key, "partner-gateway test CA", nullptr, nullptr, 1, nullptr, true);
  X509* server = internal::MakeCert(server_key, "localhost", ca, ca_key, 2, "IP:127.0.0.1,DNS:localhost", false);
  X509* client = internal::MakeCert(client_key, "caller", ca, ca_key, 3, client_san, false);
  TestPki pki{internal::Pem(ca),
              {internal::Pem(server_key), internal::Pem(server)},
              {internal::Pem(client_key), internal::Pem(client)}};
  X509_free(ca);
  X509_free(server);
  X509_free(client);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(server_key);
  EVP_PKEY_free(client_key);
  return pki;
}

}  // namespace partner::testing

#endif  // PARTNER_TESTS_UNIT_API_TEST_CERTIFICATES_H_
