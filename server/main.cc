// partner-gateway: parses flags, wires the services and serves gRPC until SIGINT or SIGTERM.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "partner/v1/access_service.grpc.pb.h"
#include "partner/v1/customer_service.grpc.pb.h"
#include "partner/v1/subscription_service.grpc.pb.h"

ABSL_FLAG(bool, sandbox, false, "Serve against the built-in upstream emulator on loopback.");
ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "gRPC listen address, HOST:PORT.");

namespace {

volatile std::sig_atomic_t g_stop_requested = 0;

void RequestStop(int) { g_stop_requested = 1; }

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("partner-gateway --sandbox | --config FILE [flags]");
  absl::ParseCommandLine(argc, argv);
  if (!absl::GetFlag(FLAGS_sandbox)) {
    std::fprintf(stderr, "partner-gateway: only --sandbox is supported in this build\n");
    return 2;
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  // Until the handlers land, the generated callback services answer UNIMPLEMENTED.
  partner::v1::CustomerService::CallbackService customers;
  partner::v1::SubscriptionService::CallbackService subscriptions;
  partner::v1::AccessService::CallbackService access;

  const std::string listen = absl::GetFlag(FLAGS_listen);
  int bound_port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &bound_port);
  builder.RegisterService(&customers);
  builder.RegisterService(&subscriptions);
  builder.RegisterService(&access);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    std::fprintf(stderr, "partner-gateway: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  // Tests start the gateway on port 0 and read the bound port from this line.
  const std::string host = listen.substr(0, listen.rfind(':'));
  std::printf("partner-gateway: listening on %s:%d (SANDBOX)\n", host.c_str(), bound_port);
  std::fflush(stdout);

  std::signal(SIGINT, RequestStop);
  std::signal(SIGTERM, RequestStop);
  while (g_stop_requested == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server->Shutdown();
  return 0;
}
