// TLS and mutual TLS on a real in-process listener: the caller's identity comes from the SAN of
// its verified client certificate; without one it must present a bearer token.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/api/customer_service.h"
#include "tests/unit/api/fake_operations.h"
#include "tests/unit/api/test_certificates.h"

namespace partner::api {
namespace {

constexpr char kCustomer[] = "3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
constexpr char kSpiffe[] = "spiffe://example.org/ns/tests/sa/caller";

class MtlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = testing::MakeTestPki();
    config::v1::CallerPolicy policy;
    config::v1::Caller* caller = policy.add_callers();
    caller->set_name("spiffe-caller");
    caller->add_identities(kSpiffe);
    caller->add_permissions("customers.read");
    config::v1::Caller* token = policy.add_callers();
    token->set_name("token-caller");
    token->add_permissions("customers.read");
    token->add_bearer_token_sha256(auth::Sha256Hex("t0ken"));
    deps_.operations = &ops_;
    deps_.callers = *auth::CallerPolicy::Create(policy);
    deps_.audit = &audit_;
    deps_.page_tokens = &codec_;
    deps_.metrics = &metrics_;
    service_ = std::make_unique<CustomerServiceImpl>(deps_);

    grpc::SslServerCredentialsOptions options(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
    options.pem_root_certs = pki_.ca_pem;
    options.pem_key_cert_pairs.push_back({pki_.server.key_pem, pki_.server.cert_pem});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(options), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }

  grpc::Status Get(bool with_client_cert, const std::string& token) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = pki_.ca_pem;
    if (with_client_cert) {
      options.pem_private_key = pki_.client.key_pem;
      options.pem_cert_chain = pki_.client.cert_pem;
    }
    auto stub = v1::CustomerService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::SslCredentials(options)));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
    v1::GetCustomerRequest request;
    request.set_customer_id(kCustomer);
    v1::GetCustomerResponse response;
    return stub->GetCustomer(&context, request, &response);
  }

  testing::TestPki pki_;
  FakeOperations ops_;
  MemoryAuditLog audit_;
  PageTokenCodec codec_{std::string(32, 'k')};
  Metrics metrics_;
  ServiceDeps deps_;
  std::unique_ptr<CustomerServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(MtlsTest, ClientCertificateSpiffeIdIdentifiesTheCaller) {
  grpc::Status status = Get(/*with_client_cert=*/true, "");
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(ops_.calls.size(), 1u);
}

TEST_F(MtlsTest, TlsWithoutClientCertificateNeedsABearerToken) {
  EXPECT_EQ(Get(false, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Get(false, "wrong").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(Get(false, "t0ken").ok());
  EXPECT_EQ(ops_.calls.size(), 1u);
}

TEST(MtlsUnknownIdentityTest, CertificateOfAnUnknownIdentityIsUnauthenticated) {
  testing::TestPki pki = testing::MakeTestPki("URI:spiffe://example.org/ns/other/sa/stranger");
  config::v1::CallerPolicy policy;
  config::v1::Caller* caller = policy.add_callers();
  caller->set_name("spiffe-caller");
  caller->add_identities(kSpiffe);
  caller->add_permissions("*");
  FakeOperations ops;
  MemoryAuditLog audit;
  PageTokenCodec codec{std::string(32, 'k')};
  Metrics metrics;
  ServiceDeps deps{&ops, *auth::CallerPolicy::Create(policy), &audit, &codec, &metrics};
  CustomerServiceImpl service(deps);
  grpc::SslServerCredentialsOptions options(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = pki.ca_pem;
  options.pem_key_cert_pairs.push_back({pki.server.key_pem, pki.server.cert_pem});
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(options), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  grpc::SslCredentialsOptions client;
  client.pem_root_certs = pki.ca_pem;
  client.pem_private_key = pki.client.key_pem;
  client.pem_cert_chain = pki.client.cert_pem;
  auto stub = v1::CustomerService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(client)));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::GetCustomerRequest request;
  request.set_customer_id(kCustomer);
  v1::GetCustomerResponse response;
  EXPECT_EQ(stub->GetCustomer(&context, request, &response).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(ops.calls.empty());
  server->Shutdown();
}

}  // namespace
}  // namespace partner::api
