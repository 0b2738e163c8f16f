// partner-gateway: the only composition root. Flags -> configuration (validated, exit 2 naming
// the bad field) -> caller policy, audit log, page-token key -> gRPC listener (TLS / mTLS),
// health, reflection, admin HTTP, optional plaintext health-only listener -> serve until SIGINT/SIGTERM -> drain -> exit 0.
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/memory/memory.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "partner/v1/access_service.grpc.pb.h"
#include "partner/v1/customer_service.grpc.pb.h"
#include "partner/v1/subscription_service.grpc.pb.h"
#include "emulator/app_credential.h"
#include "emulator/emulator.h"
#include "server/api/access_service.h"
#include "server/api/admin_http.h"
#include "server/api/audit_log.h"
#include "server/api/metrics.h"
#include "server/api/customer_service.h"
#include "server/api/library_log.h"
#include "server/api/line_writer.h"
#include "server/api/page_token.h"
#include "server/api/reflection_service.h"
#include "server/api/request_log.h"
#include "server/api/subscription_service.h"
#include "server/auth/caller/caller_policy.h"
#include "server/config/load_config.h"
#include "server/upstream_stack.h"

ABSL_FLAG(std::string, config, "", "Textproto configuration file (partner.config.v1.GatewayConfig).");
ABSL_FLAG(bool, sandbox, false, "Serve on loopback against the built-in upstream emulator.");
ABSL_FLAG(int, sandbox_customers, 60, "Number of customers the sandbox's emulator is seeded with.");
ABSL_FLAG(std::string, listen, "",
          "gRPC listen address HOST:PORT, replacing the configured ones (sandbox: 127.0.0.1:50051).");
ABSL_FLAG(std::string, admin_listen, "",
          "Admin HTTP address HOST:PORT for /metrics, /healthz, /readyz, replacing admin_address "
          "(sandbox: 127.0.0.1:0, a free port).");
ABSL_FLAG(std::string, health_listen, "",
          "Plaintext gRPC address HOST:PORT serving only grpc.health.v1 (kubelet's gRPC probes), "
          "replacing health_listen_address.");
ABSL_FLAG(std::string, audit_log, "", "Audit log path, replacing audit_log_path.");

namespace {

using partner::config::v1::GatewayConfig;

int g_signal_pipe[2] = {-1, -1};

void OnStopSignal(int signal_number) {
  const unsigned char byte = static_cast<unsigned char>(signal_number);
  // Only async-signal-safe calls here; a full pipe means a stop is already pending.
  (void)!::write(g_signal_pipe[1], &byte, 1);
}

int Refuse(const absl::Status& status) {
  std::fprintf(stderr, "partner-gateway: %s\n", std::string(status.message()).c_str());
  return 2;
}

// The sandbox's files: the emulator's CA, the generated app credential and, unless --audit_log
// says otherwise, the audit log. They live in a directory only this user can read, under $TMPDIR,
// and go when the gateway exits: the emulator's world goes with the process, and a private key or
// the records of changes to that world are of no use after it (a test suite starts hundreds).
class SandboxDirectory {
 public:
  static absl::StatusOr<std::unique_ptr<SandboxDirectory>> Create() {
    const char* tmp = std::getenv("TMPDIR");
    const std::string parent = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
    std::string path = absl::StrCat(parent, "/partner-gateway-sandbox-XXXXXX");
    if (::mkdtemp(path.data()) == nullptr) {
      return absl::UnavailableError(absl::StrCat("cannot create a private directory under ", parent, ": ",
                                                 std::strerror(errno)));
    }
    return absl::WrapUnique(new SandboxDirectory(std::move(path)));
  }

  SandboxDirectory(const SandboxDirectory&) = delete;
  SandboxDirectory& operator=(const SandboxDirectory&) = delete;
  ~SandboxDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  std::string PathOf(absl::string_view name) const { return absl::StrCat(path_, "/", name); }

  absl::StatusOr<std::string> WritePrivateFile(absl::string_view name, const std::string& content) const {
    const std::string path = PathOf(name);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool written = fd >= 0 && ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
    if (fd >= 0) written = ::close(fd) == 0 && written;
    if (!written) return absl::UnavailableError(absl::StrCat("cannot write ", path));
    return path;
  }

 private:
  explicit SandboxDirectory(std::string path) : path_(std::move(path)) {}

  std::string path_;
};

// The sandbox's configuration: plaintext on loopback, every caller admitted.
GatewayConfig SandboxConfig(const SandboxDirectory& files) {
  GatewayConfig config;
  config.add_listen_addresses("127.0.0.1:50051");
  config.set_admin_address("127.0.0.1:0");
  config.mutable_callers()->set_allow_unauthenticated(true);
  config.set_audit_log_path(files.PathOf("audit.jsonl"));
  return config;
}

// Three partnerctl commands that work against this sandbox's seeded data.
void PrintSandboxTour(partner::emulator::Emulator& emulator, const std::string& target) {
  const std::vector<partner::emulator::Customer> customers = emulator.services().customers();
  for (const partner::emulator::Customer& customer : customers) {
    if (!customer.app_consented || customer.users.empty() || customer.subscriptions.empty() ||
        customer.subscriptions.front().azure_subscriptions.empty()) {
      continue;
    }
    const std::string partnerctl = absl::StrCat("partnerctl --target ", target);
    std::printf("partner-gateway: try:\n  %s customers list --page-size 5\n  %s subscriptions azure --customer %s\n"
                "  %s roles assign --customer %s --subscription %s --user %s --role Reader\n",
                partnerctl.c_str(), partnerctl.c_str(), customer.id.c_str(), partnerctl.c_str(), customer.id.c_str(),
                customer.subscriptions.front().azure_subscriptions.front().c_str(),
                customer.users.front().user_principal_name.c_str());
    return;
  }
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ListenerCredentials(const GatewayConfig& config) {
  if (!config.has_tls()) return grpc::InsecureServerCredentials();
  absl::StatusOr<std::string> cert = partner::config::ReadFileToString(config.tls().cert_file());
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = partner::config::ReadFileToString(config.tls().key_file());
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!config.tls().client_ca_file().empty()) {
    absl::StatusOr<std::string> ca = partner::config::ReadFileToString(config.tls().client_ca_file());
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
    options.client_certificate_request = config.tls().require_client_certificate()
                                             ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                             : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

// ServerBuilder plugins are process-wide (a linked library may register one during static
// initialization, as libgrpc++_reflection does) and would add their services to every server; the
// health listener is plaintext and unauthenticated, so it gets none of them and serves
// grpc.health.v1 only.
class WithoutGlobalPlugins : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->clear();
  }
};

absl::StatusOr<std::string> PageTokenKey(const GatewayConfig& config) {
  if (config.page_token_key_file().empty()) return partner::api::RandomPageTokenKey();
  absl::StatusOr<std::string> key = partner::config::ReadFileToString(config.page_token_key_file());
  if (!key.ok()) return key.status();
  if (key->size() < 32) {
    return absl::InvalidArgumentError(absl::StrCat("page_token_key_file: \"", config.page_token_key_file(),
                                                   "\" holds fewer than 32 bytes"));
  }
  return key;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("partner-gateway --sandbox | --config FILE [flags]");
  absl::ParseCommandLine(argc, argv);
  partner::api::InstallProtobufLogHandler();
  // Debian's Abseil records every Mutex acquisition in a lock-order graph to report potential
  // deadlocks; on the request path that cost 3-4 % of the gateway's CPU (perf, bench/README.md).
  // The tests, which run without this call, keep the check.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const bool sandbox = absl::GetFlag(FLAGS_sandbox);
  const std::string config_path = absl::GetFlag(FLAGS_config);
  if (sandbox == !config_path.empty()) {
    std::fprintf(stderr, "partner-gateway: give exactly one of --sandbox or --config FILE\n");
    return 2;
  }

  // gRPC starts threads during static initialization, so a signal mask set here would not cover
  // them: the handler writes the signal number to a pipe that the main thread watches instead.
  if (::pipe(g_signal_pipe) != 0) {
    std::perror("partner-gateway: pipe");
    return 1;
  }
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  // Declared before everything that writes into it, so it is removed after they are closed.
  std::unique_ptr<SandboxDirectory> sandbox_files;
  GatewayConfig config;
  if (sandbox) {
    absl::StatusOr<std::unique_ptr<SandboxDirectory>> created = SandboxDirectory::Create();
    if (!created.ok()) return Refuse(created.status());
    sandbox_files = *std::move(created);
    config = SandboxConfig(*sandbox_files);
  } else {
    absl::StatusOr<GatewayConfig> loaded = partner::config::LoadConfigFile(config_path);
    if (!loaded.ok()) return Refuse(loaded.status());
    config = *std::move(loaded);
  }
  partner::config::ConfigOverrides overrides;
  if (!absl::GetFlag(FLAGS_listen).empty()) overrides.listen = absl::GetFlag(FLAGS_listen);
  if (!absl::GetFlag(FLAGS_admin_listen).empty()) overrides.admin_address = absl::GetFlag(FLAGS_admin_listen);
  if (!absl::GetFlag(FLAGS_health_listen).empty()) {
    overrides.health_listen_address = absl::GetFlag(FLAGS_health_listen);
  }
  if (!absl::GetFlag(FLAGS_audit_log).empty()) overrides.audit_log_path = absl::GetFlag(FLAGS_audit_log);
  partner::config::ApplyOverrides(overrides, config);
  partner::config::ApplyDefaults(config);
  if (absl::Status s = partner::config::ValidateConfig(config, {.sandbox = sandbox}); !s.ok()) return Refuse(s);

  // Everything a request will need is opened now, so a broken deployment fails at start-up.
  absl::StatusOr<std::shared_ptr<const partner::auth::CallerPolicy>> callers =
      partner::auth::CallerPolicy::Create(config.callers());
  if (!callers.ok()) return Refuse(callers.status());
  absl::StatusOr<std::unique_ptr<partner::api::FileAuditLog>> audit =
      partner::api::FileAuditLog::Open(config.audit_log_path());
  if (!audit.ok()) return Refuse(audit.status());
  absl::StatusOr<std::string> page_token_key = PageTokenKey(config);
  if (!page_token_key.ok()) return Refuse(page_token_key.status());
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = ListenerCredentials(config);
  if (!credentials.ok()) return Refuse(credentials.status());

  partner::api::Metrics metrics;
  absl::StatusOr<std::unique_ptr<partner::api::AdminHttpServer>> admin =
      partner::api::AdminHttpServer::Bind(config.admin_address(), &metrics);
  if (!admin.ok()) return Refuse(admin.status());

  // The sandbox's upstream is the emulator, in process on a loopback port, over HTTPS with a
  // generated certificate; the gateway authenticates with a generated app certificate (a signed
  // client assertion). Same clients, pipeline and token flow as production, other URLs.
  std::unique_ptr<partner::emulator::Emulator> emulator;
  if (sandbox) {
    absl::StatusOr<partner::emulator::AppCredential> app = partner::emulator::GenerateAppCredential("partner-gateway sandbox app");
    if (!app.ok()) return Refuse(app.status());
    partner::emulator::EmulatorOptions emulator_options;
    emulator_options.https = true;
    emulator_options.services.seed.customers = absl::GetFlag(FLAGS_sandbox_customers);
    emulator_options.services.client_secret.clear();
    emulator_options.services.client_certificate_pem = app->certificate_pem;
    absl::StatusOr<std::unique_ptr<partner::emulator::Emulator>> started =
        partner::emulator::Emulator::Start(emulator_options);
    if (!started.ok()) return Refuse(started.status());
    emulator = *std::move(started);
    absl::StatusOr<std::string> ca = sandbox_files->WritePrivateFile("emulator-ca.pem", emulator->ca_certificate_pem());
    absl::StatusOr<std::string> cert = sandbox_files->WritePrivateFile("app.crt", app->certificate_pem);
    absl::StatusOr<std::string> key = sandbox_files->WritePrivateFile("app.key", app->private_key_pem);
    for (const auto* written : {&ca, &cert, &key}) {
      if (!written->ok()) return Refuse(written->status());
    }
    partner::config::v1::Upstreams& up = *config.mutable_upstreams();
    up.set_authority_url(emulator->base_url());
    up.set_partner_center_url(emulator->base_url());
    up.set_arm_url(emulator->base_url());
    up.set_graph_url(emulator->base_url());
    up.set_ca_bundle_file(*ca);
    config.set_partner_tenant_id(emulator_options.services.seed.partner_tenant_id);
    config.set_app_id(emulator_options.services.app_id);
    config.mutable_credential()->mutable_certificate()->set_certificate_file(*cert);
    config.mutable_credential()->mutable_certificate()->set_private_key_file(*key);
  }
  // Declared before everything that logs through it, so that it is destroyed, and flushed, last.
  partner::api::BatchedLineWriter log_lines(STDERR_FILENO);
  const auto write_log_line = [&log_lines](absl::string_view line) { log_lines.Write(line); };
  if (absl::Status ticking = (*admin)->RunEvery(absl::Milliseconds(50), [&log_lines] { log_lines.Flush(); });
      !ticking.ok()) {
    return Refuse(ticking);
  }
  metrics.AddCollector([&log_lines] { return log_lines.RenderMetrics(); });
  absl::StatusOr<std::unique_ptr<partner::UpstreamStack>> upstream =
      partner::UpstreamStack::Build(config, write_log_line);
  if (!upstream.ok()) return Refuse(upstream.status());
  metrics.AddCollector([stack = upstream->get()] { return stack->RenderMetrics(); });

  grpc::EnableDefaultHealthCheckService(true);

  partner::api::PageTokenCodec page_tokens(*page_token_key);
  partner::api::LineRequestLog request_log(write_log_line);
  partner::api::ServiceDeps deps;
  deps.operations = &(*upstream)->operations();
  deps.callers = *callers;
  deps.audit = audit->get();
  deps.page_tokens = &page_tokens;
  deps.metrics = &metrics;
  deps.request_log = &request_log;
  deps.default_deadline = absl::Seconds(config.default_deadline_seconds());
  partner::api::CustomerServiceImpl customers(deps);
  partner::api::SubscriptionServiceImpl subscriptions(deps);
  partner::api::AccessServiceImpl access(deps);
  // Only on this server: reflection describes the API, which the health listener does not serve.
  partner::api::ServerReflectionService reflection({partner::v1::CustomerService::service_full_name(),
                                                    partner::v1::SubscriptionService::service_full_name(),
                                                    partner::v1::AccessService::service_full_name(),
                                                    "grpc.health.v1.Health"});

  grpc::ServerBuilder builder;
  std::vector<int> ports(config.listen_addresses_size(), 0);
  for (int i = 0; i < config.listen_addresses_size(); ++i) {
    builder.AddListeningPort(config.listen_addresses(i), *credentials, &ports[i]);
  }
  builder.RegisterService(&customers);
  builder.RegisterService(&subscriptions);
  builder.RegisterService(&access);
  builder.RegisterService(&reflection);
  builder.SetMaxMessageSize(16 * 1024 * 1024);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  for (int i = 0; server != nullptr && i < config.listen_addresses_size(); ++i) {
    if (ports[i] == 0) server.reset();
  }
  if (server == nullptr) {
    std::fprintf(stderr, "partner-gateway: cannot listen on %s\n", config.listen_addresses(0).c_str());
    return 1;
  }
  // Started once the API serves, since a new server's health service answers SERVING at once.
  // Its default answers every call UNIMPLEMENTED; gRPC refuses to build a server with nothing to
  // poll, and the health service itself is only added once the server starts.
  grpc::CallbackGenericService everything_else_unimplemented;
  std::unique_ptr<grpc::Server> health_server;
  int health_port = 0;
  if (!config.health_listen_address().empty()) {
    grpc::ServerBuilder health_builder;
    health_builder.AddListeningPort(config.health_listen_address(), grpc::InsecureServerCredentials(),
                                    &health_port);
    health_builder.SetOption(std::make_unique<WithoutGlobalPlugins>());
    health_builder.RegisterCallbackGenericService(&everything_else_unimplemented);
    health_server = health_builder.BuildAndStart();
    if (health_server == nullptr || health_port == 0) {
      std::fprintf(stderr, "partner-gateway: cannot listen on %s (health_listen_address)\n",
                   config.health_listen_address().c_str());
      return 1;
    }
  }
  const auto set_serving = [&](bool serving) {
    server->GetHealthCheckService()->SetServingStatus(serving);
    if (health_server != nullptr) health_server->GetHealthCheckService()->SetServingStatus(serving);
    (*admin)->SetReady(serving);
  };
  set_serving(true);

  // Tests start the gateway on port 0 and read the bound port from this first line.
  const std::string host = partner::config::SplitHostPort(config.listen_addresses(0))->host;
  std::printf("partner-gateway: listening on %s:%d (%s)\n", host.c_str(), ports[0],
              sandbox ? "sandbox" : absl::StrCat("config ", config_path).c_str());
  std::printf("partner-gateway: admin http on %s (/metrics /healthz /readyz)\n",
              absl::StrCat(partner::config::SplitHostPort(config.admin_address())->host, ":",
                           (*admin)->port()).c_str());
  if (health_server != nullptr) {
    std::printf("partner-gateway: health on %s:%d (grpc.health.v1, plaintext)\n",
                partner::config::SplitHostPort(config.health_listen_address())->host.c_str(), health_port);
  }
  std::printf("partner-gateway: audit log %s%s\n", config.audit_log_path().c_str(),
              sandbox && absl::GetFlag(FLAGS_audit_log).empty() ? " (removed at exit, with the sandbox's credentials)" : "");
  if (sandbox) {
    std::printf("partner-gateway: SANDBOX: plaintext on loopback, every caller admitted; no real "
                "Microsoft service is called\n");
    PrintSandboxTour(*emulator, absl::StrCat(host, ":", ports[0]));
  }
  std::fflush(stdout);

  // The main thread serves the admin listener until the drain is over. The drain blocks for up to
  // the grace period, so it runs on a thread of its own, started by the signal, while /readyz
  // keeps answering 503.
  std::thread drain;
  (*admin)->Serve(g_signal_pipe[0], [&] {
    unsigned char signal_number = 0;
    while (::read(g_signal_pipe[0], &signal_number, 1) < 0 && errno == EINTR) {
    }
    drain = std::thread([&, signal_number] {
      // Health and readiness go NOT_SERVING first so balancers stop sending, then in-flight RPCs
      // get the grace period before they are cancelled.
      set_serving(false);
      std::fprintf(stderr, "partner-gateway: %s received, draining for up to %ds\n",
                   signal_number == SIGTERM ? "SIGTERM" : "SIGINT", config.drain_grace_seconds());
      server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(config.drain_grace_seconds()));
      server->Wait();
      // The health listener outlives the API's drain so probes keep seeing NOT_SERVING, not
      // refused connections; its only calls are health checks and watches, cut after a second.
      if (health_server != nullptr) {
        health_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
        health_server->Wait();
      }
      (*admin)->Stop();
    });
  });
  drain.join();
  return 0;
}
