// A trivial gRPC service for the overhead scenario: CustomerService.GetCustomer answered from
// memory on the callback API (as the gateway serves), so CPU per RPC here is what gRPC itself
// costs and the gateway's CPU per RPC can be stated as a multiple of it. With
// --answer_from_thread the answer is given from a thread of its own, as the gateway answers from
// its transport thread once the upstream replied: that measures what gRPC costs when a call
// completes asynchronously.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "partner/v1/customer_service.grpc.pb.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "HOST:PORT to listen on (port 0: ephemeral)");
ABSL_FLAG(bool, answer_from_thread, false,
          "finish each call from one answering thread instead of inside the handler");

namespace {

// Finishes the calls handed to it, in order, on a thread of its own.
class AnsweringThread {
 public:
  AnsweringThread() : thread_([this] { Run(); }) {}
  ~AnsweringThread() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
  }

  void Answer(grpc::ServerUnaryReactor* reactor) {
    absl::MutexLock lock(&mu_);
    pending_.push_back(reactor);
  }

 private:
  void Run() {
    std::deque<grpc::ServerUnaryReactor*> batch;
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](AnsweringThread* self) { return self->stopping_ || !self->pending_.empty(); }, this));
        if (pending_.empty()) return;
        batch.swap(pending_);
      }
      for (grpc::ServerUnaryReactor* reactor : batch) reactor->Finish(grpc::Status::OK);
      batch.clear();
    }
  }

  absl::Mutex mu_;
  std::deque<grpc::ServerUnaryReactor*> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

class EchoCustomers final : public partner::v1::CustomerService::CallbackService {
 public:
  // `answering` null: each call is finished inside its handler.
  explicit EchoCustomers(AnsweringThread* answering) : answering_(answering) {}

  grpc::ServerUnaryReactor* GetCustomer(grpc::CallbackServerContext* context,
                                        const partner::v1::GetCustomerRequest* request,
                                        partner::v1::GetCustomerResponse* response) override {
    partner::v1::Customer* customer = response->mutable_customer();
    customer->set_customer_id(request->customer_id());
    customer->set_company_name("Echo Ltd");
    customer->set_domain("echo.onmicrosoft.com");
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (answering_ != nullptr) {
      answering_->Answer(reactor);
    } else {
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }

 private:
  AnsweringThread* answering_;
};

// gRPC starts threads during static initialization, before main could block a signal for them,
// so a stop signal may run its handler on any thread: the handler writes to this pipe, which
// main reads, rather than setting a flag for a pause()d main thread that might never wake.
int stop_pipe[2] = {-1, -1};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // The gateway runs gRPC without Debian's Abseil lock-order recording (server/main.cc); so must
  // the echo that stands for gRPC's own cost beside it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::unique_ptr<AnsweringThread> answering;
  if (absl::GetFlag(FLAGS_answer_from_thread)) answering = std::make_unique<AnsweringThread>();
  EchoCustomers service(answering.get());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "partner-bench-echo: cannot listen on %s\n", absl::GetFlag(FLAGS_listen).c_str());
    return 1;
  }
  if (::pipe(stop_pipe) != 0) {
    std::perror("partner-bench-echo: pipe");
    return 1;
  }
  const auto on_stop = [](int) { (void)!::write(stop_pipe[1], "s", 1); };
  std::signal(SIGTERM, on_stop);
  std::signal(SIGINT, on_stop);
  const std::string listen = absl::GetFlag(FLAGS_listen);
  std::printf("partner-bench-echo: listening on %s:%d\n", listen.substr(0, listen.rfind(':')).c_str(), port);
  std::fflush(stdout);
  char stop = 0;
  while (::read(stop_pipe[0], &stop, 1) < 0 && errno == EINTR) {
  }
  server->Shutdown();
  return 0;
}
