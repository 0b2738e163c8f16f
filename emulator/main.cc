// partner-emulator: the four upstream services on one loopback listener, for tests, benchmarks
// and trying the gateway by hand (shared/DESIGN.md "The emulator").
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "emulator/emulator.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "HOST:PORT to listen on (port 0: ephemeral)");
ABSL_FLAG(int, customers, 60, "number of seeded customers");
ABSL_FLAG(uint64_t, seed, 1, "seed of the generated data");
ABSL_FLAG(int, latency_ms, 0, "latency added to every upstream response");
ABSL_FLAG(int, jitter_ms, 0, "random extra latency, 0..N ms");
ABSL_FLAG(std::string, fault, "",
          "faults, e.g. 503=0.1,429=0.05,reset=0.01; hostile responses: malformed, truncated, oversized, slow");
ABSL_FLAG(int64_t, oversized_bytes, 20 << 20, "body size of the 'oversized' fault");
ABSL_FLAG(int, slow_body_interval_ms, 100, "the 'slow' fault sends one body byte per interval");
ABSL_FLAG(int, retry_after_ms, 1000, "Retry-After of injected 429s");
ABSL_FLAG(int, token_lifetime_s, 3600, "lifetime of issued access tokens");
ABSL_FLAG(bool, https, false, "serve HTTPS (generated certificate unless --tls_cert/--tls_key)");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate for HTTPS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key for HTTPS");
ABSL_FLAG(std::string, ca_out, "", "write the generated certificate (PEM) here, for clients to trust");
ABSL_FLAG(std::string, client_secret, "sandbox-client-secret", "accepted client secret (empty: none)");
ABSL_FLAG(std::string, client_certificate, "", "PEM certificate whose key signs accepted client assertions");
ABSL_FLAG(std::string, state_file, "",
          "keep created users and role assignments in this file across restarts (empty: in memory only)");
ABSL_FLAG(bool, partner_center_bom, true, "start Partner Center bodies with a UTF-8 BOM");
ABSL_FLAG(bool, partner_center_numeric_error_codes, true, "Partner Center error codes as JSON numbers (false: strings)");
ABSL_FLAG(bool, partner_center_next_link_v1, true, "customer list next links start with /v1 (false: /customers...)");
ABSL_FLAG(bool, partner_center_upper_case_subscription_ids, true, "Partner Center subscription ids in upper case");
ABSL_FLAG(bool, arm_throttling, true, "ARM token buckets at the documented limits");
ABSL_FLAG(bool, arm_exists_names_existing_id, true, "409 RoleAssignmentExists names the existing assignment");
ABSL_FLAG(int, principal_replication_delay_ms, 10000,
          "ARM answers PrincipalNotFound for a user younger than this unless principalType is given");
ABSL_FLAG(bool, graph_fractional_retry_after, true, "Graph Retry-After in fractional seconds (false: whole)");

namespace {

bool ParseFaults(const std::string& spec, partner::emulator::FaultOptions* faults, std::string* error) {
  for (absl::string_view item : absl::StrSplit(spec, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
    double rate = 0;
    if (!absl::SimpleAtod(kv.second, &rate) || rate < 0 || rate > 1) {
      *error = absl::StrCat("--fault: '", item, "' needs a rate between 0 and 1");
      return false;
    }
    if (kv.first == "503") faults->unavailable_rate = rate;
    else if (kv.first == "429") faults->throttle_rate = rate;
    else if (kv.first == "reset") faults->reset_rate = rate;
    else if (kv.first == "malformed") faults->malformed_rate = rate;
    else if (kv.first == "truncated") faults->truncated_rate = rate;
    else if (kv.first == "oversized") faults->oversized_rate = rate;
    else if (kv.first == "slow") faults->slow_body_rate = rate;
    else {
      *error = absl::StrCat("--fault: unknown fault '", kv.first,
                            "' (expected 503, 429, reset, malformed, truncated, oversized or slow)");
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("partner-emulator: Entra token endpoint, Partner Center, ARM and Graph on loopback");
  absl::ParseCommandLine(argc, argv);
  // As in the gateway (server/main.cc): Debian's Abseil otherwise records every Mutex acquisition
  // in a lock-order graph, and the emulator shares the benchmark machine's cores with the gateway.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  partner::emulator::EmulatorOptions options;
  const std::string listen = absl::GetFlag(FLAGS_listen);
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &options.port) || options.port < 0 ||
      options.port > 65535) {
    std::cerr << "partner-emulator: --listen: expected HOST:PORT, got '" << listen << "'\n";
    return 2;
  }
  options.host = listen.substr(0, colon);
  if (options.host.size() > 2 && options.host.front() == '[') options.host = options.host.substr(1, options.host.size() - 2);
  if (absl::GetFlag(FLAGS_customers) < 1 || absl::GetFlag(FLAGS_customers) > 100000) {
    std::cerr << "partner-emulator: --customers: expected 1..100000\n";
    return 2;
  }
  options.services.seed.customers = absl::GetFlag(FLAGS_customers);
  options.services.seed.seed = absl::GetFlag(FLAGS_seed);
  options.services.token_lifetime = absl::Seconds(absl::GetFlag(FLAGS_token_lifetime_s));
  options.services.client_secret = absl::GetFlag(FLAGS_client_secret);
  options.services.state_file = absl::GetFlag(FLAGS_state_file);
  options.services.partner_center_bom = absl::GetFlag(FLAGS_partner_center_bom);
  options.services.partner_center_numeric_error_codes = absl::GetFlag(FLAGS_partner_center_numeric_error_codes);
  options.services.partner_center_next_link_v1 = absl::GetFlag(FLAGS_partner_center_next_link_v1);
  options.services.partner_center_upper_case_subscription_ids = absl::GetFlag(FLAGS_partner_center_upper_case_subscription_ids);
  options.services.arm_throttling = absl::GetFlag(FLAGS_arm_throttling);
  options.services.arm_exists_names_existing_id = absl::GetFlag(FLAGS_arm_exists_names_existing_id);
  options.services.graph_fractional_retry_after = absl::GetFlag(FLAGS_graph_fractional_retry_after);
  if (absl::GetFlag(FLAGS_principal_replication_delay_ms) < 0) {
    std::cerr << "partner-emulator: --principal_replication_delay_ms must not be negative\n";
    return 2;
  }
  options.services.principal_replication_delay = absl::Milliseconds(absl::GetFlag(FLAGS_principal_replication_delay_ms));
  if (const std::string path = absl::GetFlag(FLAGS_client_certificate); !path.empty()) {
    std::ifstream in(path);
    std::stringstream pem;
    pem << in.rdbuf();
    if (!in || pem.str().find("BEGIN CERTIFICATE") == std::string::npos) {
      std::cerr << "partner-emulator: --client_certificate: no PEM certificate in " << path << "\n";
      return 2;
    }
    options.services.client_certificate_pem = pem.str();
  }
  options.https = absl::GetFlag(FLAGS_https);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  options.faults.latency = absl::Milliseconds(absl::GetFlag(FLAGS_latency_ms));
  options.faults.latency_jitter = absl::Milliseconds(absl::GetFlag(FLAGS_jitter_ms));
  options.faults.throttle_retry_after = absl::Milliseconds(absl::GetFlag(FLAGS_retry_after_ms));
  if (absl::GetFlag(FLAGS_oversized_bytes) < 1 || absl::GetFlag(FLAGS_slow_body_interval_ms) < 1) {
    std::cerr << "partner-emulator: --oversized_bytes and --slow_body_interval_ms must be positive\n";
    return 2;
  }
  options.faults.oversized_bytes = static_cast<std::size_t>(absl::GetFlag(FLAGS_oversized_bytes));
  options.faults.slow_body_interval = absl::Milliseconds(absl::GetFlag(FLAGS_slow_body_interval_ms));
  std::string error;
  if (!ParseFaults(absl::GetFlag(FLAGS_fault), &options.faults, &error)) {
    std::cerr << "partner-emulator: " << error << "\n";
    return 2;
  }

  // Blocked before Start, whose threads inherit the mask, and taken by sigwait below: a handler
  // that only set a flag for a pause()d main thread missed a signal delivered to the event loop's
  // thread instead, and the emulator under valgrind then never stopped.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  absl::StatusOr<std::unique_ptr<partner::emulator::Emulator>> emulator = partner::emulator::Emulator::Start(options);
  if (!emulator.ok()) {
    std::cerr << "partner-emulator: " << emulator.status().message() << "\n";
    return 1;
  }
  if (const std::string path = absl::GetFlag(FLAGS_ca_out); !path.empty() && options.https) {
    std::ofstream(path) << (*emulator)->ca_certificate_pem();
  }
  std::cout << "partner-emulator listening on " << (*emulator)->base_url() << " (partner tenant "
            << options.services.seed.partner_tenant_id << ", app " << options.services.app_id << ")" << std::endl;
  int stop_signal = 0;
  sigwait(&stop_signals, &stop_signal);
  return 0;
}
