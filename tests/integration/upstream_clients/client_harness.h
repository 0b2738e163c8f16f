// The typed upstream clients exactly as UpstreamStack assembles them (curl transport -> policy
// pipeline -> token provider -> PartnerCenterClient / ArmClient / GraphClient), pointed at the
// in-process emulator over HTTPS with its generated CA as the only trusted root.
#ifndef PARTNER_TESTS_INTEGRATION_UPSTREAM_CLIENTS_CLIENT_HARNESS_H_
#define PARTNER_TESTS_INTEGRATION_UPSTREAM_CLIENTS_CLIENT_HARNESS_H_

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "emulator/emulator.h"
#include "gtest/gtest.h"
#include "server/auth/token/token_provider.h"
#include "server/http/curl_transport.h"
#include "server/http/pipeline.h"
#include "server/ops/op_task.h"
#include "server/ops/operations.h"
#include "server/upstream/arm_client.h"
#include "server/upstream/graph_client.h"
#include "server/upstream/partner_center_client.h"

namespace partner::testing {

class ClientHarness {
 public:
  static absl::StatusOr<std::unique_ptr<ClientHarness>> Start(emulator::EmulatorOptions options,
                                                             http::RetryOptions retry) {
    std::unique_ptr<ClientHarness> h(new ClientHarness());
    options.https = true;
    const emulator::ServiceOptions services = options.services;
    absl::StatusOr<std::unique_ptr<emulator::Emulator>> emu = emulator::Emulator::Start(std::move(options));
    if (!emu.ok()) return emu.status();
    h->emulator_ = *std::move(emu);

    static std::atomic<int> next_id{0};
    h->ca_file_ = absl::StrCat(::testing::TempDir(), "/upstream_clients_ca_", getpid(), "_", next_id++, ".pem");
    std::ofstream(h->ca_file_) << h->emulator_->ca_certificate_pem();

    http::CurlTransportOptions transport_options;
    transport_options.ca_bundle_file = h->ca_file_;
    absl::StatusOr<std::unique_ptr<http::CurlTransport>> transport = http::CurlTransport::Create(transport_options);
    if (!transport.ok()) return transport.status();
    h->transport_ = *std::move(transport);

    http::PipelineOptions token_pipeline;
    token_pipeline.retry = retry;
    token_pipeline.log_sink = [](absl::string_view) {};
    h->token_http_ = http::MakeUpstreamPipeline(std::move(token_pipeline), h->transport_, nullptr);
    auth::TokenProviderOptions token_options;
    token_options.authority_url = h->emulator_->base_url();
    token_options.app_id = services.app_id;
    token_options.credential = auth::ClientSecret{"sandbox-client-secret"};
    absl::StatusOr<std::shared_ptr<auth::TokenProvider>> tokens =
        auth::TokenProvider::Create(std::move(token_options), h->token_http_);
    if (!tokens.ok()) return tokens.status();
    h->tokens_ = *std::move(tokens);

    http::PipelineOptions pipeline;
    pipeline.retry = retry;
    pipeline.log_sink = [](absl::string_view) {};
    h->pipeline_ = http::MakeUpstreamPipeline(std::move(pipeline), h->transport_, h->tokens_);

    upstream::UpstreamOptions upstream;
    upstream.partner_center_url = h->emulator_->base_url();
    upstream.arm_url = h->emulator_->base_url();
    upstream.graph_url = h->emulator_->base_url();
    upstream.partner_tenant_id = services.seed.partner_tenant_id;
    h->partner_center_ = std::make_unique<upstream::PartnerCenterClient>(h->pipeline_, upstream);
    h->arm_ = std::make_unique<upstream::ArmClient>(h->pipeline_, upstream);
    h->graph_ = std::make_unique<upstream::GraphClient>(h->pipeline_, upstream);
    return h;
  }

  // The transport first, while the emulator still runs: a request still in flight would otherwise
  // keep it, and its loop thread, alive past the test.
  ~ClientHarness() {
    if (transport_ != nullptr) transport_->Shutdown();
    std::remove(ca_file_.c_str());
  }

  emulator::Emulator& emulator() { return *emulator_; }
  upstream::PartnerCenterClient& partner_center() { return *partner_center_; }
  upstream::ArmClient& arm() { return *arm_; }
  upstream::GraphClient& graph() { return *graph_; }
  auth::TokenProvider& tokens() { return *tokens_; }

 private:
  ClientHarness() = default;

  // Declared in dependency order so that destruction runs clients first, emulator last.
  std::unique_ptr<emulator::Emulator> emulator_;
  std::string ca_file_;
  std::shared_ptr<http::CurlTransport> transport_;
  std::shared_ptr<http::HttpClient> token_http_;
  std::shared_ptr<auth::TokenProvider> tokens_;
  std::shared_ptr<http::HttpClient> pipeline_;
  std::unique_ptr<upstream::PartnerCenterClient> partner_center_;
  std::unique_ptr<upstream::ArmClient> arm_;
  std::unique_ptr<upstream::GraphClient> graph_;
};

// Runs a client coroutine on the transport's thread and waits for its result. The state is
// shared with the completion, so a call that outlives `timeout` cannot touch a dead frame.
template <class T>
absl::StatusOr<T> Await(ops::OpTask<absl::StatusOr<T>> task, absl::Duration timeout = absl::Seconds(60)) {
  struct State {
    absl::Notification done;
    std::optional<absl::StatusOr<T>> result;
  };
  auto state = std::make_shared<State>();
  ops::StartOpTask(std::move(task), [state](absl::StatusOr<T> result) {
    state->result.emplace(std::move(result));
    state->done.Notify();
  });
  if (!state->done.WaitForNotificationWithTimeout(timeout)) {
    return absl::DeadlineExceededError(absl::StrCat("the test gave up on the call after ", absl::FormatDuration(timeout)));
  }
  return *std::move(state->result);
}

}  // namespace partner::testing

#endif  // PARTNER_TESTS_INTEGRATION_UPSTREAM_CLIENTS_CLIENT_HARNESS_H_
