#include "tests/reliability/harness.h"

#include <arpa/inet.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace partner::reliability {

absl::StatusOr<TestEmulator> StartEmulator(const TempDir& dir, emulator::EmulatorOptions options) {
  options.https = true;
  absl::StatusOr<std::unique_ptr<emulator::Emulator>> started = emulator::Emulator::Start(std::move(options));
  if (!started.ok()) return started.status();
  TestEmulator out;
  out.ca_file = dir.Write("emulator-ca.pem", (*started)->ca_certificate_pem());
  out.emulator = *std::move(started);
  return out;
}

std::string GatewayConfig(const TempDir& dir, const TestEmulator& emulator, const GatewaySettings& s) {
  const emulator::ServiceOptions& services = emulator.emulator->services().options();
  const std::string& url = emulator.emulator->base_url();
  return absl::StrCat(
      "listen_addresses: \"127.0.0.1:0\"\n", "admin_address: \"127.0.0.1:0\"\n",
      "callers { allow_unauthenticated: true }\n",
      "partner_tenant_id: \"", services.seed.partner_tenant_id, "\"\n", "app_id: \"", services.app_id, "\"\n",
      "credential { client_secret_file: \"", dir.Write("client-secret", services.client_secret + "\n"), "\" }\n",
      "page_token_key_file: \"", dir.Write("page-token-key", std::string(48, 'k')), "\"\n",
      "audit_log_path: \"", dir.Path("audit.jsonl"), "\"\n",
      "upstreams { authority_url: \"", url, "\" partner_center_url: \"", url, "\" arm_url: \"", url,
      "\" graph_url: \"", url, "\" ca_bundle_file: \"", emulator.ca_file, "\" request_timeout_seconds: ",
      s.request_timeout_seconds, " }\n",
      "retry { max_attempts: ", s.retry_max_attempts, " initial_backoff_ms: ", s.retry_initial_backoff_ms,
      " max_backoff_ms: ", s.retry_max_backoff_ms, " }\n",
      "limits { batch_concurrency: ", s.batch_concurrency, " batch_per_customer_concurrency: ",
      s.batch_per_customer_concurrency, " partner_center_requests_per_second: 1000 arm_requests_per_second: 1000",
      " graph_requests_per_second: 1000 }\n");
}

GatewayProcess::GatewayProcess(const std::string& config_file)
    : process_(PARTNER_GATEWAY_BINARY, {"--config", config_file}, {.stderr_file = config_file + ".stderr"}) {}

bool GatewayProcess::WaitReady(std::string* error) {
  static const std::regex kListening(R"(^partner-gateway: listening on [^ ]+:(\d+) .*)");
  static const std::regex kAdmin(R"(^partner-gateway: admin http on [^ ]+:(\d+) .*)");
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  std::string lines_read;
  while (grpc_port_ == 0 || admin_port_ == 0) {
    const std::string line =
        process_.ReadLine(static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(give_up - absl::Now()))));
    if (line.empty()) {
      *error = absl::StrCat("partner-gateway did not start (stdout so far: '", lines_read, "')");
      return false;
    }
    absl::StrAppend(&lines_read, line, "\n");
    std::smatch m;
    if (std::regex_match(line, m, kListening)) grpc_port_ = std::stoi(m[1].str());
    if (std::regex_match(line, m, kAdmin)) admin_port_ = std::stoi(m[1].str());
  }
  return true;
}

void GatewayProcess::Kill(int signal) { process_.Signal(signal); }

int GatewayProcess::Wait() { return process_.Wait().exit_code; }

std::string HttpGet(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\n\r\n";
    (void)!::write(fd, request.data(), request.size());
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return response;
}

double MetricSum(const std::string& metrics, const std::string& prefix) {
  double sum = -1;
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    if (!absl::StartsWith(line, prefix)) continue;
    const std::size_t space = line.rfind(' ');
    double value = 0;
    if (space != absl::string_view::npos && absl::SimpleAtod(line.substr(space + 1), &value)) {
      sum = (sum < 0 ? 0 : sum) + value;
    }
  }
  return sum;
}

Stubs::Stubs(int port) {
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  customers = v1::CustomerService::NewStub(channel);
  subscriptions = v1::SubscriptionService::NewStub(channel);
  access = v1::AccessService::NewStub(channel);
}

absl::StatusOr<std::vector<Target>> DiscoverTargets(Stubs& stubs, emulator::Emulator& emulator, int max_targets,
                                                    int users_per_target) {
  std::vector<Target> targets;
  for (const emulator::Customer& customer : emulator.services().customers()) {
    if (static_cast<int>(targets.size()) == max_targets) break;
    if (!customer.app_consented || customer.relationship_revoked || customer.users.empty()) continue;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ListAzureSubscriptionsRequest request;
    request.set_customer_id(customer.id);
    v1::ListAzureSubscriptionsResponse response;
    const grpc::Status status = stubs.subscriptions->ListAzureSubscriptions(&context, request, &response);
    if (!status.ok()) {
      return absl::UnavailableError(absl::StrCat("ListAzureSubscriptions(", customer.id, "): ", status.error_message()));
    }
    if (response.azure_subscriptions().empty()) continue;
    Target target{customer.id, response.azure_subscriptions(0).azure_subscription_id(), {}};
    for (const emulator::User& user : customer.users) {
      if (static_cast<int>(target.user_object_ids.size()) == users_per_target) break;
      target.user_object_ids.push_back(user.id);
    }
    targets.push_back(std::move(target));
  }
  if (targets.empty()) return absl::NotFoundError("no emulator customer has an Azure subscription");
  return targets;
}

std::vector<std::string> DuplicateAssignments(emulator::Emulator& emulator) {
  std::map<std::string, int> seen;
  std::vector<std::string> duplicates;
  for (const emulator::RoleAssignment& a : emulator.services().role_assignments()) {
    const std::string key =
        absl::StrCat(absl::AsciiStrToLower(a.scope), " ", absl::AsciiStrToLower(a.principal_id), " ",
                     absl::AsciiStrToLower(a.role_definition_guid));
    if (++seen[key] == 2) duplicates.push_back(key);
  }
  return duplicates;
}

v1::AssignRoleRequest AssignRequest(const Target& target, const std::string& user_object_id, const std::string& role) {
  v1::AssignRoleRequest request;
  request.set_customer_id(target.customer_id);
  request.set_azure_subscription_id(target.azure_subscription_id);
  request.mutable_principal()->set_object_id(user_object_id);
  request.set_principal_type(v1::PRINCIPAL_TYPE_USER);
  request.mutable_role()->set_role_name(role);
  request.set_description("reliability suite");
  return request;
}

}  // namespace partner::reliability
