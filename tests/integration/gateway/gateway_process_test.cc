// The partner-gateway binary over real sockets: start-up refusals of bad configurations, the
// first output line, health, admin HTTP and the SIGTERM drain.
#include <arpa/inet.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "partner/v1/customer_service.grpc.pb.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/api/test_certificates.h"

namespace partner {
namespace {

using ::partner::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kTenant[] = "0f3e6a51-7c1b-4c53-9b6d-2a4f7e1d9c10";

std::string HttpGet(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\n\r\n";
    (void)!::write(fd, request.data(), request.size());
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return response;
}

// grpc.health.v1.Health/Check for the whole server; the serving status (1 = SERVING), -1 when the
// call fails.
int HealthStatus(const std::string& target,
                 std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials()) {
  auto channel = grpc::CreateChannel(target, credentials);
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::ByteBuffer request;  // an empty HealthCheckRequest asks about the whole server
  grpc::Slice empty("", 0);
  request = grpc::ByteBuffer(&empty, 1);
  auto call = stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check", request, &cq);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (!status.ok()) return -1;
  std::vector<grpc::Slice> slices;
  (void)response.Dump(&slices);
  std::string bytes;
  for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // HealthCheckResponse{status = 1}: field 1, varint.
  return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : 0;
}

struct Listening {
  std::string target;
  int port = 0;
};

Listening ParseFirstLine(const std::string& line) {
  std::smatch m;
  static const std::regex kLine(R"(^partner-gateway: listening on (\S+):(\d+) \((.*)\)$)");
  Listening out;
  if (std::regex_match(line, m, kLine)) {
    out.target = absl::StrCat(m[1].str(), ":", m[2].str());
    out.port = std::stoi(m[2].str());
  }
  return out;
}

int AdminPort(const std::string& line) {
  std::smatch m;
  static const std::regex kLine(R"(^partner-gateway: admin http on [^:]+:(\d+) .*)");
  return std::regex_match(line, m, kLine) ? std::stoi(m[1].str()) : 0;
}

// `credential` replaces the default secret-file credential block.
std::string ValidConfig(TempDir& dir, std::string credential = "") {
  if (credential.empty()) {
    credential = absl::StrCat("credential { client_secret_file: \"", dir.Write("secret", "s3cret\n"), "\" }\n");
  }
  return absl::StrCat("listen_addresses: \"127.0.0.1:0\"\n", "admin_address: \"127.0.0.1:0\"\n",
                      "partner_tenant_id: \"", kTenant, "\"\n", "app_id: \"", kTenant, "\"\n",
                      credential,
                      "page_token_key_file: \"", dir.Write("key", std::string(32, 'k')), "\"\n",
                      "audit_log_path: \"", dir.Path("audit.jsonl"), "\"\n");
}

TEST(GatewayProcessTest, RefusesAnInlineSecretNamingTheField) {
  TempDir dir;
  const std::string config = dir.Write(
      "c.textproto", ValidConfig(dir, absl::StrCat("credential { client_secret_file: \"", dir.Write("s", "x"),
                                    "\" client_secret: \"hunter2\" }\n")));
  testing::Subprocess gateway(PARTNER_GATEWAY_BINARY, {"--config", config});
  const testing::CommandResult result = gateway.Wait();
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("credential.client_secret: inline secrets are refused"));
  EXPECT_THAT(result.err, Not(HasSubstr("hunter2")));
}

TEST(GatewayProcessTest, RefusesPlainHttpUpstreamOutsideTheSandbox) {
  TempDir dir;
  const std::string config = dir.Write(
      "c.textproto", absl::StrCat(ValidConfig(dir), "upstreams { graph_url: \"http://127.0.0.1:1\" }\n"));
  testing::Subprocess gateway(PARTNER_GATEWAY_BINARY, {"--config", config});
  const testing::CommandResult result = gateway.Wait();
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("upstreams.graph_url"));
  EXPECT_THAT(result.err, HasSubstr("plain http"));
}

TEST(GatewayProcessTest, RefusesAMissingCertificateFile) {
  TempDir dir;
  const std::string config = dir.Write(
      "c.textproto",
      ValidConfig(dir, "credential { certificate { certificate_file: \"/nonexistent/app.crt\" "
                       "private_key_file: \"/nonexistent/app.key\" } }\n"));
  testing::Subprocess gateway(PARTNER_GATEWAY_BINARY, {"--config", config});
  const testing::CommandResult result = gateway.Wait();
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("credential.certificate.certificate_file: cannot read \"/nonexistent/app.crt\""));
}

TEST(GatewayProcessTest, RefusesASyntaxErrorWithItsLine) {
  TempDir dir;
  const std::string config = dir.Write("c.textproto", "listen_addresses: \"127.0.0.1:0\"\nbogus: 1\n");
  testing::Subprocess gateway(PARTNER_GATEWAY_BINARY, {"--config", config});
  const testing::CommandResult result = gateway.Wait();
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("line 2"));
}

TEST(GatewayProcessTest, ServesHealthAndAdminFromAConfigThenDrainsOnSigterm) {
  TempDir dir;
  const std::string config = dir.Write("c.textproto", ValidConfig(dir));
  testing::Subprocess gateway(PARTNER_GATEWAY_BINARY, {"--config", config});
  const std::string first = gateway.ReadLine();
  const Listening listening = ParseFirstLine(first);
  ASSERT_GT(listening.port, 0) << first;
  EXPECT_THAT(first, HasSubstr("(config " + config + ")"));
  const int admin = AdminPort(gateway.ReadLine());
  ASSERT_GT(admin, 0);
  EXPECT_EQ(HealthStatus(listening.target), 1);
  EXPECT_THAT(HttpGet(admin, "/readyz"), StartsWith("HTTP/1.0 200"));
  EXPECT_THAT(HttpGet(admin, "/healthz"), StartsWith("HTTP/1.0 200"));
  const std::string metrics = HttpGet(admin, "/metrics");
  EXPECT_THAT(metrics, HasSubstr("# TYPE partner_gateway_rpcs_total counter"));
  EXPECT_THAT(metrics, HasSubstr("\npartner_gateway_log_lines_dropped_total 0\n"));
  gateway.Signal(SIGTERM);
  const testing::CommandResult result = gateway.Wait();
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_THAT(result.err, HasSubstr("SIGTERM received, draining"));
}

// Every name under `dir`, relative to it ("sub/name"), sorted.
std::vector<std::string> TreeOf(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, error)) {
    names.push_back(std::filesystem::relative(entry.path(), dir).string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(GatewayProcessTest, SandboxPrintsItsListeningLineAndAnswersTheApi) {
  TempDir tmp;
  testing::Subprocess gateway(PARTNER_GATEWAY_BINARY, {"--sandbox", "--listen", "127.0.0.1:0"},
                              {.env = {"TMPDIR=" + tmp.path()}});
  const std::string first = gateway.ReadLine();
  const Listening listening = ParseFirstLine(first);
  ASSERT_GT(listening.port, 0) << first;
  EXPECT_THAT(first, ::testing::EndsWith(" (sandbox)"));
  EXPECT_EQ(HealthStatus(listening.target), 1);
  auto stub = v1::CustomerService::NewStub(
      grpc::CreateChannel(listening.target, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::ListCustomersResponse response;
  v1::ListCustomersRequest request;
  request.set_page_size(5);
  // Served from the in-process emulator through the real upstream clients.
  const grpc::Status status = stub->ListCustomers(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.customers_size(), 5);
  // The generated credentials and the audit log are private to this user while the sandbox runs,
  // and gone when it stops.
  const std::vector<std::string> files = TreeOf(tmp.path());
  ASSERT_EQ(files.size(), 5u) << ::testing::PrintToString(files);
  const std::string dir = files[0];
  EXPECT_THAT(dir, StartsWith("partner-gateway-sandbox-"));
  EXPECT_THAT(files, ::testing::ElementsAre(dir, dir + "/app.crt", dir + "/app.key", dir + "/audit.jsonl",
                                            dir + "/emulator-ca.pem"));
  struct stat info {};
  ASSERT_EQ(::stat((tmp.path() + "/" + dir + "/app.key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((tmp.path() + "/" + dir).c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
  gateway.Signal(SIGTERM);
  const testing::CommandResult result = gateway.Wait();
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_THAT(TreeOf(tmp.path()), ::testing::IsEmpty());
}

TEST(GatewayProcessTest, ServesTlsAndRequiresClientCertificatesWhenConfigured) {
  TempDir dir;
  testing::TestPki pki = testing::MakeTestPki();
  const std::string tls = absl::StrCat(
      "tls { cert_file: \"", dir.Write("server.crt", pki.server.cert_pem), "\" key_file: \"",
      dir.Write("server.key", pki.server.key_pem), "\" client_ca_file: \"", dir.Write("ca.crt", pki.ca_pem),
      "\" require_client_certificate: true }\n");
  const std::string config = dir.Write("c.textproto", absl::StrCat(ValidConfig(dir), tls));
  testing::Subprocess gateway(PARTNER_GATEWAY_BINARY, {"--config", config});
  const Listening listening = ParseFirstLine(gateway.ReadLine());
  ASSERT_GT(listening.port, 0);
  grpc::SslCredentialsOptions with_cert;
  with_cert.pem_root_certs = pki.ca_pem;
  with_cert.pem_private_key = pki.client.key_pem;
  with_cert.pem_cert_chain = pki.client.cert_pem;
  EXPECT_EQ(HealthStatus(listening.target, grpc::SslCredentials(with_cert)), 1);
  grpc::SslCredentialsOptions without_cert;
  without_cert.pem_root_certs = pki.ca_pem;
  EXPECT_EQ(HealthStatus(listening.target, grpc::SslCredentials(without_cert)), -1);
  EXPECT_EQ(HealthStatus(listening.target), -1) << "plaintext must not reach a TLS listener";
  gateway.Signal(SIGTERM);
  const testing::CommandResult result = gateway.Wait();
  EXPECT_EQ(result.exit_code, 0);
}

TEST(GatewayProcessTest, RefusesPlaintextOnANonLoopbackAddress) {
  TempDir dir;
  const std::string config = dir.Write("c.textproto", ValidConfig(dir));
  testing::Subprocess gateway(PARTNER_GATEWAY_BINARY, {"--config", config, "--listen", "0.0.0.0:0"});
  const testing::CommandResult result = gateway.Wait();
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("tls: required when a listen address is not loopback"));
}

// The status of a unary call with an empty request to `method`. A streaming method answers an
// empty request too (reflection replies with an error message and OK), so OK means "served here".
grpc::StatusCode CallStatus(const std::string& target, const std::string& method,
                            std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials()) {
  grpc::GenericStub stub(grpc::CreateChannel(target, credentials));
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice empty("", 0);
  grpc::ByteBuffer request(&empty, 1);
  auto call = stub.PrepareUnaryCall(&context, method, request, &cq);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status.error_code();
}

std::string HealthTarget(const std::string& line) {
  std::smatch m;
  static const std::regex kLine(R"(^partner-gateway: health on (\S+):(\d+) \(grpc\.health\.v1, plaintext\)$)");
  return std::regex_match(line, m, kLine) && m[2].str() != "0" ? absl::StrCat(m[1].str(), ":", m[2].str()) : "";
}

constexpr char kReflection[] = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

TEST(GatewayProcessTest, HealthListenerAnswersInPlaintextWhileTheApiIsTlsAndServesNothingElse) {
  TempDir dir;
  testing::TestPki pki = testing::MakeTestPki();
  const std::string tls = absl::StrCat("tls { cert_file: \"", dir.Write("server.crt", pki.server.cert_pem),
                                       "\" key_file: \"", dir.Write("server.key", pki.server.key_pem), "\" }\n");
  const std::string config = dir.Write(
      "c.textproto", absl::StrCat(ValidConfig(dir), tls, "health_listen_address: \"127.0.0.1:0\"\n"));
  testing::Subprocess gateway(PARTNER_GATEWAY_BINARY, {"--config", config});
  const Listening listening = ParseFirstLine(gateway.ReadLine());
  ASSERT_GT(listening.port, 0);
  ASSERT_GT(AdminPort(gateway.ReadLine()), 0);
  const std::string health_line = gateway.ReadLine();
  const std::string health = HealthTarget(health_line);
  ASSERT_FALSE(health.empty()) << health_line;

  EXPECT_EQ(HealthStatus(health), 1);
  EXPECT_EQ(HealthStatus(listening.target), -1) << "the API listener stays TLS";
  grpc::SslCredentialsOptions trust;
  trust.pem_root_certs = pki.ca_pem;
  EXPECT_EQ(HealthStatus(listening.target, grpc::SslCredentials(trust)), 1);
  // Reflection and the API are on the TLS listener, and only there.
  EXPECT_EQ(CallStatus(listening.target, kReflection, grpc::SslCredentials(trust)), grpc::StatusCode::OK);
  EXPECT_EQ(CallStatus(health, kReflection), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(CallStatus(health, "/partner.v1.CustomerService/ListCustomers"), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(CallStatus(health, "/partner.v1.AccessService/AssignRoles"), grpc::StatusCode::UNIMPLEMENTED);

  gateway.Signal(SIGTERM);
  const testing::CommandResult result = gateway.Wait();
  EXPECT_EQ(result.exit_code, 0);
}

TEST(GatewayProcessTest, FlagOverridesTheHealthListenAddress) {
  TempDir dir;
  const std::string config = dir.Write(
      "c.textproto", absl::StrCat(ValidConfig(dir), "health_listen_address: \"not-an-address\"\n"));
  testing::Subprocess gateway(PARTNER_GATEWAY_BINARY, {"--config", config, "--health_listen", "127.0.0.1:0"});
  ASSERT_GT(ParseFirstLine(gateway.ReadLine()).port, 0);
  ASSERT_GT(AdminPort(gateway.ReadLine()), 0);
  const std::string health = HealthTarget(gateway.ReadLine());
  ASSERT_FALSE(health.empty());
  EXPECT_EQ(HealthStatus(health), 1);
  gateway.Signal(SIGTERM);
  const testing::CommandResult result = gateway.Wait();
  EXPECT_EQ(result.exit_code, 0);
}

TEST(GatewayProcessTest, RefusesABadHealthListenAddressNamingTheField) {
  TempDir dir;
  const std::string config = dir.Write(
      "c.textproto", absl::StrCat(ValidConfig(dir), "health_listen_address: \"50052\"\n"));
  testing::Subprocess gateway(PARTNER_GATEWAY_BINARY, {"--config", config});
  const testing::CommandResult result = gateway.Wait();
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("health_listen_address: \"50052\" is not HOST:PORT"));
}

TEST(GatewayProcessTest, RefusesAHealthListenAddressOnTheAdminPort) {
  TempDir dir;
  const std::string config = dir.Write("c.textproto", ValidConfig(dir));
  testing::Subprocess gateway(PARTNER_GATEWAY_BINARY, {"--config", config, "--admin_listen", "127.0.0.1:19464", "--health_listen", "0.0.0.0:19464"});
  const testing::CommandResult result = gateway.Wait();
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("health_listen_address: \"0.0.0.0:19464\" is also used by \"127.0.0.1:19464\""));
}

std::string ReadFile(const std::string& path) {
  std::string contents;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) contents.append(buf, n);
    std::fclose(f);
  }
  return contents;
}

// The request log and the upstream log are written in batches; an operator tailing stderr still
// sees an RPC's lines while the gateway serves, not only when it stops.
TEST(GatewayProcessTest, LogsEachRpcAndItsUpstreamRequestWhileServing) {
  TempDir tmp;
  const std::string log = tmp.Path("gateway.err");
  testing::Subprocess gateway(PARTNER_GATEWAY_BINARY, {"--sandbox", "--listen", "127.0.0.1:0"},
                              {.env = {"TMPDIR=" + tmp.path()}, .stderr_file = log});
  const Listening listening = ParseFirstLine(gateway.ReadLine());
  ASSERT_GT(listening.port, 0);
  auto stub = v1::CustomerService::NewStub(grpc::CreateChannel(listening.target, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::ListCustomersResponse response;
  ASSERT_TRUE(stub->ListCustomers(&context, v1::ListCustomersRequest(), &response).ok());
  std::string logged;
  for (int i = 0; i < 100; ++i) {
    logged = ReadFile(log);
    if (logged.find("\"msg\":\"rpc\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_THAT(logged, HasSubstr("\"msg\":\"rpc\",\"method\":\"ListCustomers\",\"code\":\"OK\""));
  EXPECT_THAT(logged, HasSubstr("\"event\":\"upstream_http\",\"operation\":\"pc.list_customers\""));
  gateway.Signal(SIGTERM);
  EXPECT_EQ(gateway.Wait().exit_code, 0);
}

// A loopback TCP port that completes connections (the kernel's backlog) but never answers: an
// upstream that keeps the gateway's RPCs in flight.
class SilentUpstream {
 public:
  SilentUpstream() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentUpstream() { ::close(fd_); }
  int port() const { return port_; }
  // True once the gateway has connected (a connection waits in the backlog).
  bool WaitForConnection(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(GatewayProcessTest, HealthListenerGoesNotServingWhileTheApiDrains) {
  TempDir dir;
  testing::TestPki pki = testing::MakeTestPki();
  SilentUpstream upstream;
  const std::string url = absl::StrCat("https://127.0.0.1:", upstream.port());
  const std::string config = dir.Write(
      "c.textproto",
      absl::StrCat(ValidConfig(dir), "health_listen_address: \"127.0.0.1:0\"\n", "drain_grace_seconds: 4\n",
                   "callers { allow_unauthenticated: true }\n", "upstreams { authority_url: \"", url,
                   "\" partner_center_url: \"", url, "\" arm_url: \"", url, "\" graph_url: \"", url,
                   "\" ca_bundle_file: \"", dir.Write("ca.crt", pki.ca_pem), "\" }\n"));
  testing::Subprocess gateway(PARTNER_GATEWAY_BINARY, {"--config", config});
  const Listening listening = ParseFirstLine(gateway.ReadLine());
  ASSERT_GT(listening.port, 0);
  ASSERT_GT(AdminPort(gateway.ReadLine()), 0);
  const std::string health = HealthTarget(gateway.ReadLine());
  ASSERT_FALSE(health.empty());
  ASSERT_EQ(HealthStatus(health), 1);

  grpc::Status in_flight;
  std::thread caller([&] {
    auto stub = v1::CustomerService::NewStub(grpc::CreateChannel(listening.target, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::ListCustomersResponse response;
    in_flight = stub->ListCustomers(&context, v1::ListCustomersRequest(), &response);
  });
  ASSERT_TRUE(upstream.WaitForConnection(10000)) << "the RPC never reached the upstream";
  gateway.Signal(SIGTERM);
  // The API drains for up to 4 s around the RPC that waits on the silent upstream; meanwhile the
  // health listener still answers, NOT_SERVING (2), so kubelet marks the pod unready.
  int status = 1;
  for (int i = 0; i < 30 && status == 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    status = HealthStatus(health);
  }
  EXPECT_EQ(status, 2);
  caller.join();
  EXPECT_FALSE(in_flight.ok()) << "cancelled at the end of the drain";
  const testing::CommandResult result = gateway.Wait();
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_THAT(result.err, HasSubstr("SIGTERM received, draining for up to 4s"));
  EXPECT_EQ(HealthStatus(health), -1) << "the health listener closes after the drain";
}

}  // namespace
}  // namespace partner
