// partner-health-probe: asks a gRPC server's grpc.health.v1 Health/Check once and turns the
// answer into an exit code, for Docker's HEALTHCHECK and for operators inside a pod.
//   exit 0  SERVING
//   exit 1  any other status, or the RPC failed (unreachable, deadline, SERVICE_UNKNOWN as NOT_FOUND)
//   exit 2  bad command line
// Plaintext by default, for the gateway's health-only listener (health_listen_address; the image's
// HEALTHCHECK probes it) or a gateway behind a mesh sidecar; with --tls_ca it speaks TLS, and with
// --tls_cert/--tls_key it presents a client certificate, for a gateway that requires mTLS.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "gRPC address of the server, HOST:PORT.");
ABSL_FLAG(std::string, service, "",
          "Health service name to check; empty asks about the whole server.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(2), "Deadline of the Check call.");
ABSL_FLAG(std::string, tls_ca, "", "PEM file of the CA that signed the server's certificate; enables TLS.");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate, for a server that requires mTLS.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_server_name, "",
          "Name to verify the server's certificate against, when it differs from the target host.");

namespace {

constexpr int kHealthy = 0;
constexpr int kUnhealthy = 1;
constexpr int kUsage = 2;

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  if (!in) return std::nullopt;
  return content.str();
}

// Channel credentials from the TLS flags; nullptr (after a message) when a file cannot be read.
std::shared_ptr<grpc::ChannelCredentials> Credentials() {
  const std::string ca = absl::GetFlag(FLAGS_tls_ca);
  if (ca.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  const std::pair<const char*, std::string*> files[] = {{"--tls_ca", &options.pem_root_certs},
                                                        {"--tls_cert", &options.pem_cert_chain},
                                                        {"--tls_key", &options.pem_private_key}};
  for (const auto& [flag, out] : files) {
    const std::string path = std::string(flag) == "--tls_ca"    ? ca
                             : std::string(flag) == "--tls_cert" ? absl::GetFlag(FLAGS_tls_cert)
                                                                 : absl::GetFlag(FLAGS_tls_key);
    if (path.empty()) continue;
    std::optional<std::string> content = ReadFile(path);
    if (!content) {
      std::fprintf(stderr, "partner-health-probe: %s: cannot read %s\n", flag, path.c_str());
      return nullptr;
    }
    *out = *std::move(content);
  }
  return grpc::SslCredentials(options);
}

int Probe(const std::string& target, const std::string& service, absl::Duration timeout,
          const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  grpc::ChannelArguments arguments;
  if (const std::string name = absl::GetFlag(FLAGS_tls_server_name); !name.empty()) {
    arguments.SetSslTargetNameOverride(name);
  }
  auto channel = grpc::CreateCustomChannel(target, credentials, arguments);
  auto stub = grpc::health::v1::Health::NewStub(channel);

  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);

  const std::string shown = service.empty() ? "(server)" : service;
  if (!status.ok()) {
    // A TLS listener drops a plaintext client with a bare "Socket closed", which does not say
    // what to change; this is the mistake a probe pointed at the API port makes.
    const bool plaintext = absl::GetFlag(FLAGS_tls_ca).empty();
    const char* hint = plaintext && status.error_code() == grpc::StatusCode::UNAVAILABLE
                           ? " (this probe spoke plaintext: if that port is TLS, probe the gateway's "
                             "health-only listener, health_listen_address, or pass --tls_ca)"
                           : "";
    std::fprintf(stderr, "partner-health-probe: %s %s: RPC failed: code %d: %s%s\n", target.c_str(),
                 shown.c_str(), static_cast<int>(status.error_code()),
                 status.error_message().c_str(), hint);
    return kUnhealthy;
  }
  const std::string name =
      grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
  std::printf("partner-health-probe: %s %s: %s\n", target.c_str(), shown.c_str(), name.c_str());
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? kHealthy
                                                                             : kUnhealthy;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "partner-health-probe [--target HOST:PORT] [--service NAME] [--timeout 2s]\n"
      "                     [--tls_ca CA.pem [--tls_cert C.pem --tls_key K.pem] [--tls_server_name N]]\n"
      "Exit 0 when the server answers SERVING, 1 otherwise, 2 on a bad command line.");
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    std::vector<std::string> extra(rest.begin() + 1, rest.end());
    std::fprintf(stderr, "partner-health-probe: unexpected arguments: %s\n",
                 absl::StrJoin(extra, " ").c_str());
    return kUsage;
  }
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  if (timeout <= absl::ZeroDuration()) {
    std::fprintf(stderr, "partner-health-probe: --timeout must be positive\n");
    return kUsage;
  }
  if (absl::GetFlag(FLAGS_tls_cert).empty() != absl::GetFlag(FLAGS_tls_key).empty()) {
    std::fprintf(stderr, "partner-health-probe: --tls_cert and --tls_key go together\n");
    return kUsage;
  }
  if (absl::GetFlag(FLAGS_tls_ca).empty() && !absl::GetFlag(FLAGS_tls_cert).empty()) {
    std::fprintf(stderr, "partner-health-probe: --tls_cert needs --tls_ca\n");
    return kUsage;
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = Credentials();
  if (credentials == nullptr) return kUsage;
  return Probe(absl::GetFlag(FLAGS_target), absl::GetFlag(FLAGS_service), timeout, credentials);
}
