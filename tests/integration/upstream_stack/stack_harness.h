// The gateway as it runs in production, in process: a gRPC listener on 127.0.0.1:0 -> the api
// handlers -> UpstreamStack (curl transport, policy pipeline, token provider, Partner Center /
// ARM / Graph clients, operations) -> the emulator on its own loopback port. Only the wiring of
// main.cc is repeated here; every layer below the listener is the real one.
#ifndef PARTNER_TESTS_INTEGRATION_UPSTREAM_STACK_STACK_HARNESS_H_
#define PARTNER_TESTS_INTEGRATION_UPSTREAM_STACK_STACK_HARNESS_H_

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "emulator/emulator.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/api/access_service.h"
#include "server/api/audit_log.h"
#include "server/api/customer_service.h"
#include "server/api/subscription_service.h"
#include "server/auth/caller/caller_policy.h"
#include "server/config/load_config.h"
#include "server/upstream_stack.h"

namespace partner::testing {

// Bearer tokens of the three callers every harness knows.
inline constexpr char kAdminToken[] = "admin-token";
inline constexpr char kReaderToken[] = "reader-token";
inline constexpr char kStrangerToken[] = "stranger-token";

struct HarnessOptions {
  emulator::EmulatorOptions emulator;
  // Small retry budgets keep the "after retries" rows of the error table to a second or two.
  int max_attempts = 3;
  int initial_backoff_ms = 20;
  int max_backoff_ms = 200;
  int principal_not_found_backoff_ms = 200;
  absl::Duration default_deadline = absl::Seconds(20);
  // Overrides the credential the gateway presents (a broken deployment).
  std::optional<std::string> client_secret;
};

class StackHarness {
 public:
  static absl::StatusOr<std::unique_ptr<StackHarness>> Start(HarnessOptions options) {
    std::unique_ptr<StackHarness> h(new StackHarness());
    absl::StatusOr<std::unique_ptr<emulator::Emulator>> emu = emulator::Emulator::Start(options.emulator);
    if (!emu.ok()) return emu.status();
    h->emulator_ = *std::move(emu);

    config::v1::GatewayConfig config;
    config.add_listen_addresses("127.0.0.1:0");
    config.set_allow_plain_http(true);
    config::v1::Upstreams& up = *config.mutable_upstreams();
    up.set_authority_url(h->emulator_->base_url());
    up.set_partner_center_url(h->emulator_->base_url());
    up.set_arm_url(h->emulator_->base_url());
    up.set_graph_url(h->emulator_->base_url());
    const emulator::ServiceOptions& services = options.emulator.services;
    config.set_partner_tenant_id(services.seed.partner_tenant_id);
    config.set_app_id(services.app_id);
    config.mutable_credential()->set_client_secret(options.client_secret.value_or(services.client_secret));
    config::v1::RetryOptions& retry = *config.mutable_retry();
    retry.set_max_attempts(options.max_attempts);
    retry.set_initial_backoff_ms(options.initial_backoff_ms);
    retry.set_max_backoff_ms(options.max_backoff_ms);
    retry.set_principal_not_found_initial_backoff_ms(options.principal_not_found_backoff_ms);
    config::ApplyDefaults(config);
    absl::StatusOr<std::unique_ptr<UpstreamStack>> stack = UpstreamStack::Build(config);
    if (!stack.ok()) return stack.status();
    h->stack_ = *std::move(stack);

    config::v1::CallerPolicy policy;
    config::v1::Caller* admin = policy.add_callers();
    admin->set_name("admin");
    admin->add_permissions("*");
    admin->add_bearer_token_sha256(auth::Sha256Hex(kAdminToken));
    config::v1::Caller* reader = policy.add_callers();
    reader->set_name("reader");
    reader->add_permissions("customers.read");
    reader->add_permissions("subscriptions.read");
    reader->add_permissions("access.read");
    reader->add_bearer_token_sha256(auth::Sha256Hex(kReaderToken));
    absl::StatusOr<std::shared_ptr<const auth::CallerPolicy>> callers = auth::CallerPolicy::Create(policy);
    if (!callers.ok()) return callers.status();

    h->audit_path_ = absl::StrCat(::testing::TempDir(), "upstream_stack_audit_", getpid(), "_", NextId(), ".jsonl");
    absl::StatusOr<std::unique_ptr<api::FileAuditLog>> audit = api::FileAuditLog::Open(h->audit_path_);
    if (!audit.ok()) return audit.status();
    h->audit_ = *std::move(audit);

    api::ServiceDeps deps;
    deps.operations = &h->stack_->operations();
    deps.callers = *std::move(callers);
    deps.audit = h->audit_.get();
    deps.page_tokens = &h->page_tokens_;
    deps.metrics = &h->metrics_;
    deps.default_deadline = options.default_deadline;
    h->customers_ = std::make_unique<api::CustomerServiceImpl>(deps);
    h->subscriptions_ = std::make_unique<api::SubscriptionServiceImpl>(deps);
    h->access_ = std::make_unique<api::AccessServiceImpl>(deps);

    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(h->customers_.get());
    builder.RegisterService(h->subscriptions_.get());
    builder.RegisterService(h->access_.get());
    h->server_ = builder.BuildAndStart();
    if (h->server_ == nullptr || port == 0) return absl::UnavailableError("the gRPC listener did not start");
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    h->customer_stub = v1::CustomerService::NewStub(channel);
    h->subscription_stub = v1::SubscriptionService::NewStub(channel);
    h->access_stub = v1::AccessService::NewStub(channel);
    return h;
  }

  ~StackHarness() {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    std::remove(audit_path_.c_str());
  }

  emulator::Emulator& emulator() { return *emulator_; }
  emulator::Services& services() { return emulator_->services(); }
  const std::string& audit_path() const { return audit_path_; }
  // The audit log as written so far, one JSON record a line.
  std::vector<std::string> AuditLines() const {
    std::ifstream in(audit_path_);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  std::unique_ptr<v1::CustomerService::Stub> customer_stub;
  std::unique_ptr<v1::SubscriptionService::Stub> subscription_stub;
  std::unique_ptr<v1::AccessService::Stub> access_stub;

 private:
  StackHarness() = default;
  static int NextId() {
    static std::atomic<int> next{0};
    return next++;
  }

  // Destroyed bottom-up in reverse: listener, handlers, audit log, upstream stack, emulator.
  std::unique_ptr<emulator::Emulator> emulator_;
  std::unique_ptr<UpstreamStack> stack_;
  std::string audit_path_;
  std::unique_ptr<api::FileAuditLog> audit_;
  api::PageTokenCodec page_tokens_{"upstream-stack-test-page-token-key-0123456789"};
  api::Metrics metrics_;
  std::unique_ptr<api::CustomerServiceImpl> customers_;
  std::unique_ptr<api::SubscriptionServiceImpl> subscriptions_;
  std::unique_ptr<api::AccessServiceImpl> access_;
  std::unique_ptr<grpc::Server> server_;
};

// A call as `token` with a deadline (none when `deadline` is zero).
inline std::unique_ptr<grpc::ClientContext> As(const std::string& token,
                                               std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  if (deadline.count() > 0) context->set_deadline(std::chrono::system_clock::now() + deadline);
  return context;
}

// The rich details a client decodes from grpc-status-details-bin.
struct RichError {
  bool has_error_info = false;
  std::string reason;
  std::string domain;
  std::map<std::string, std::string> metadata;
  std::optional<absl::Duration> retry_delay;
};

inline RichError Details(const grpc::Status& status) {
  RichError out;
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return out;
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&info)) {
      out.has_error_info = true;
      out.reason = info.reason();
      out.domain = info.domain();
      for (const auto& [k, v] : info.metadata()) out.metadata[k] = v;
    } else if (any.UnpackTo(&retry)) {
      out.retry_delay = absl::Seconds(retry.retry_delay().seconds()) + absl::Nanoseconds(retry.retry_delay().nanos());
    }
  }
  return out;
}

inline std::string Lower(const std::string& s) { return absl::AsciiStrToLower(s); }

// A fresh harness per test, so emulator state and faults never leak between tests.
class StackTest : public ::testing::Test {
 protected:
  virtual HarnessOptions Options() { return {}; }
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<StackHarness>> started = StackHarness::Start(Options());
    ASSERT_TRUE(started.ok()) << started.status();
    h_ = *std::move(started);
  }

  // The first seeded customer that has consented the app and satisfies `want`.
  emulator::Customer Consented(const std::function<bool(const emulator::Customer&)>& want = nullptr) {
    for (const emulator::Customer& c : h_->services().customers()) {
      if (c.app_consented && (want == nullptr || want(c))) return c;
    }
    ADD_FAILURE() << "no seeded customer fits";
    return {};
  }
  static std::string FirstAzure(const emulator::Customer& c) {
    for (const emulator::PcSubscription& s : c.subscriptions) {
      if (!s.azure_subscriptions.empty()) return s.azure_subscriptions.front();
    }
    return "";
  }
  std::int64_t UpstreamRequests() { return h_->services().counters().upstream_requests; }

  std::unique_ptr<StackHarness> h_;
};

}  // namespace partner::testing

#endif  // PARTNER_TESTS_INTEGRATION_UPSTREAM_STACK_STACK_HARNESS_H_
