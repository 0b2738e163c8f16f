// partner-health-probe: asks a gRPC server's grpc.health.v1 Health/Check once and turns the
// answer into an exit code, for Docker's HEALTHCHECK and for operators inside a pod.
//   exit 0  SERVING
//   exit 1  any other status, or the RPC failed (unreachable, deadline, SERVICE_UNKNOWN as NOT_FOUND)
//   exit 2  bad command line
// Plaintext on purpose: it runs next to the gateway (same container or pod), where the gateway
// listens without TLS and any mesh mTLS is terminated by the sidecar.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <chrono>
#include <cstdio>
#include <memory>
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

namespace {

constexpr int kHealthy = 0;
constexpr int kUnhealthy = 1;
constexpr int kUsage = 2;

int Probe(const std::string& target, const std::string& service, absl::Duration timeout) {
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);

  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);

  const std::string shown = service.empty() ? "(server)" : service;
  if (!status.ok()) {
    std::fprintf(stderr, "partner-health-probe: %s %s: RPC failed: code %d: %s\n", target.c_str(),
                 shown.c_str(), static_cast<int>(status.error_code()),
                 status.error_message().c_str());
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
  return Probe(absl::GetFlag(FLAGS_target), absl::GetFlag(FLAGS_service), timeout);
}
