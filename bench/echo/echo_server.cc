// A trivial gRPC service for the overhead scenario: CustomerService.GetCustomer answered from
// memory on the callback API (as the gateway serves), so CPU per RPC here is what gRPC itself
// costs and the gateway's CPU per RPC can be stated as a multiple of it. With
// --answer_from_thread the answer is given from a thread of its own, as the gateway answers from
// its transport thread once the upstream replied: that measures what gRPC costs when a call
// completes asynchronously. With --relay_url each call is answered once the upstream answered
// the GET of a customer through the gateway's HTTP transport: the floor of the gateway's latency.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/loadgen/rest_driver.h"
#include "partner/v1/customer_service.grpc.pb.h"
#include "server/config/load_config.h"
#include "server/http/curl_transport.h"
#include "server/upstream_stack.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "HOST:PORT to listen on (port 0: ephemeral)");
ABSL_FLAG(bool, answer_from_thread, false,
          "finish each call from one answering thread instead of inside the handler");
ABSL_FLAG(std::string, relay_url, "",
          "emulator base URL: answer each call once GET /v1/customers/{id} there has answered");
ABSL_FLAG(std::string, relay_ca_file, "", "with --relay_url: PEM CA trusted for the emulator's https");

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

// GETs a customer from the upstream for each call handed to it and finishes the call once the
// answer is in, through the gateway's own HTTP transport (libcurl multi on event loops) set up as
// the gateway sets it under its default configuration (TransportOptionsFrom). No policy pipeline, no operation, no parsing,
// validation, logging or authorization: what a gateway on gRPC and this transport cannot do
// without, so its latency is a floor for the gateway's.
class Relay {
 public:
  // Takes a Partner Center token and customer ids from the emulator first.
  static absl::StatusOr<std::unique_ptr<Relay>> Start(const std::string& base_url, const std::string& ca_file) {
    partner::bench::RestOptions options;
    options.base_url = base_url;
    options.ca_file = ca_file;
    partner::bench::RestDriver upstream(options);
    if (absl::Status prepared = upstream.Prepare(100); !prepared.ok()) return prepared;
    std::vector<std::string> urls;
    for (const std::string& id : upstream.customer_ids()) urls.push_back(absl::StrCat(base_url, "/v1/customers/", id));
    partner::config::v1::GatewayConfig defaults;
    defaults.mutable_upstreams()->set_ca_bundle_file(ca_file);
    partner::config::ApplyDefaults(defaults);
    absl::StatusOr<std::unique_ptr<partner::http::CurlTransport>> transport =
        partner::http::CurlTransport::Create(partner::TransportOptionsFrom(defaults));
    if (!transport.ok()) return transport.status();
    return std::unique_ptr<Relay>(
        new Relay(*std::move(transport), std::move(urls), absl::StrCat("Bearer ", upstream.token())));
  }

  void Forward(grpc::ServerUnaryReactor* reactor) {
    auto request = std::make_shared<partner::http::HttpRequest>();
    request->url = urls_[next_.fetch_add(1, std::memory_order_relaxed) % urls_.size()];
    request->headers = {{"Authorization", authorization_}, {"Accept", "application/json"}};
    request->deadline = absl::Now() + absl::Seconds(60);
    transport_->Send(std::move(request), [reactor](absl::StatusOr<partner::http::HttpResponse> response) {
      if (!response.ok()) {
        reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(response.status().message())));
      } else if (response->status != 200) {
        reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, absl::StrCat("upstream HTTP ", response->status)));
      } else {
        reactor->Finish(grpc::Status::OK);
      }
    });
  }

 private:
  Relay(std::unique_ptr<partner::http::CurlTransport> transport, std::vector<std::string> urls, std::string authorization)
      : transport_(std::move(transport)), urls_(std::move(urls)), authorization_(std::move(authorization)) {}

  const std::unique_ptr<partner::http::CurlTransport> transport_;
  const std::vector<std::string> urls_;
  const std::string authorization_;
  std::atomic<std::uint64_t> next_ = 0;
};

class EchoCustomers final : public partner::v1::CustomerService::CallbackService {
 public:
  // Both null: each call is finished inside its handler.
  EchoCustomers(AnsweringThread* answering, Relay* relay) : answering_(answering), relay_(relay) {}

  grpc::ServerUnaryReactor* GetCustomer(grpc::CallbackServerContext* context,
                                        const partner::v1::GetCustomerRequest* request,
                                        partner::v1::GetCustomerResponse* response) override {
    partner::v1::Customer* customer = response->mutable_customer();
    customer->set_customer_id(request->customer_id());
    customer->set_company_name("Echo Ltd");
    customer->set_domain("echo.onmicrosoft.com");
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (relay_ != nullptr) {
      relay_->Forward(reactor);
    } else if (answering_ != nullptr) {
      answering_->Answer(reactor);
    } else {
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }

 private:
  AnsweringThread* answering_;
  Relay* relay_;
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
  const std::string relay_url = absl::GetFlag(FLAGS_relay_url);
  if (!relay_url.empty() && absl::GetFlag(FLAGS_answer_from_thread)) {
    std::fprintf(stderr, "partner-bench-echo: --relay_url and --answer_from_thread exclude each other\n");
    return 2;
  }
  std::unique_ptr<AnsweringThread> answering;
  if (absl::GetFlag(FLAGS_answer_from_thread)) answering = std::make_unique<AnsweringThread>();
  std::unique_ptr<Relay> relay;
  if (!relay_url.empty()) {
    absl::StatusOr<std::unique_ptr<Relay>> started = Relay::Start(relay_url, absl::GetFlag(FLAGS_relay_ca_file));
    if (!started.ok()) {
      std::fprintf(stderr, "partner-bench-echo: --relay_url %s: %s\n", relay_url.c_str(),
                   std::string(started.status().message()).c_str());
      return 1;
    }
    relay = *std::move(started);
  }
  EchoCustomers service(answering.get(), relay.get());
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
