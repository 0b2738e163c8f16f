// A trivial gRPC service for the overhead scenario: CustomerService.GetCustomer answered from
// memory on the callback API (as the gateway serves), so CPU per RPC here is what gRPC itself
// costs and the gateway's CPU per RPC can be stated as a multiple of it.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "partner/v1/customer_service.grpc.pb.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "HOST:PORT to listen on (port 0: ephemeral)");

namespace {

class EchoCustomers final : public partner::v1::CustomerService::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetCustomer(grpc::CallbackServerContext* context,
                                        const partner::v1::GetCustomerRequest* request,
                                        partner::v1::GetCustomerResponse* response) override {
    partner::v1::Customer* customer = response->mutable_customer();
    customer->set_customer_id(request->customer_id());
    customer->set_company_name("Echo Ltd");
    customer->set_domain("echo.onmicrosoft.com");
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

volatile std::sig_atomic_t stop_requested = 0;

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  EchoCustomers service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "partner-bench-echo: cannot listen on %s\n", absl::GetFlag(FLAGS_listen).c_str());
    return 1;
  }
  std::signal(SIGTERM, [](int) { stop_requested = 1; });
  std::signal(SIGINT, [](int) { stop_requested = 1; });
  const std::string listen = absl::GetFlag(FLAGS_listen);
  std::printf("partner-bench-echo: listening on %s:%d\n", listen.substr(0, listen.rfind(':')).c_str(), port);
  std::fflush(stdout);
  while (!stop_requested) pause();
  server->Shutdown();
  return 0;
}
