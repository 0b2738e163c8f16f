#include "server/config/load_config.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/config/usable_cpus.h"

namespace partner::config {
namespace {

class CollectingErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    // The parser counts from 0; editors count from 1.
    errors_.push_back(absl::StrCat("line ", line + 1, ":", column + 1, ": ", message));
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
  std::string Joined() const { return absl::StrJoin(errors_, "; "); }

 private:
  std::vector<std::string> errors_;
};

struct CloudPreset {
  const char* authority;
  const char* partner_center;
  const char* arm;
  const char* graph;
  const char* partner_center_scope;
  const char* arm_scope;
  const char* graph_scope;
};

// CONTRACTS.md §7. Partner Center's app-only audience in China is not documented; the scope
// follows the base URL as the PowerShell module derives it.
constexpr CloudPreset kPublic = {
    "https://login.microsoftonline.com", "https://api.partnercenter.microsoft.com",
    "https://management.azure.com", "https://graph.microsoft.com",
    "https://api.partnercenter.microsoft.com/.default", "https://management.azure.com/.default",
    "https://graph.microsoft.com/.default"};
constexpr CloudPreset kUsGovernment = {
    "https://login.microsoftonline.us", "https://api.partnercenter.microsoft.com",
    "https://management.usgovcloudapi.net", "https://graph.microsoft.us",
    "https://api.partnercenter.microsoft.com/.default",
    "https://management.usgovcloudapi.net/.default", "https://graph.microsoft.us/.default"};
constexpr CloudPreset kChina = {
    "https://login.chinacloudapi.cn", "https://partner.partnercenterapi.microsoftonline.cn",
    "https://management.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn",
    "https://partner.partnercenterapi.microsoftonline.cn/.default",
    "https://management.chinacloudapi.cn/.default",
    "https://microsoftgraph.chinacloudapi.cn/.default"};

const CloudPreset& PresetFor(v1::Cloud cloud) {
  switch (cloud) {
    case v1::CLOUD_US_GOVERNMENT:
      return kUsGovernment;
    case v1::CLOUD_CHINA:
      return kChina;
    default:
      return kPublic;
  }
}

void DefaultString(std::string* field, const char* value) {
  if (field->empty()) *field = value;
}

bool IsGuid(absl::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

bool IsHex64(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

class Problems {
 public:
  void Add(std::string field, absl::string_view what) {
    items_.push_back(absl::StrCat(field, ": ", what));
  }
  // Checks that `path` names a readable regular file.
  void RequireFile(const std::string& field, const std::string& path) {
    if (path.empty()) {
      Add(field, "required");
      return;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      Add(field, absl::StrCat("cannot read \"", path, "\": ", std::strerror(errno)));
    } else if (!S_ISREG(st.st_mode)) {
      Add(field, absl::StrCat("\"", path, "\" is not a regular file"));
    } else if (FILE* f = std::fopen(path.c_str(), "rb"); f == nullptr) {
      Add(field, absl::StrCat("cannot open \"", path, "\": ", std::strerror(errno)));
    } else {
      std::fclose(f);
    }
  }
  absl::Status ToStatus() const {
    if (items_.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("invalid configuration: ", absl::StrJoin(items_, "; ")));
  }

 private:
  std::vector<std::string> items_;
};

void CheckUrl(Problems& problems, const std::string& field, const std::string& url,
              bool allow_plain_http) {
  if (absl::StartsWith(url, "https://")) {
    if (url.size() == 8) problems.Add(field, "has no host");
    return;
  }
  if (absl::StartsWith(url, "http://")) {
    if (!allow_plain_http) {
      problems.Add(field, absl::StrCat("\"", url,
                                       "\" is plain http; upstreams must use https (plain http "
                                       "is only allowed in the sandbox with allow_plain_http)"));
    }
    return;
  }
  problems.Add(field, absl::StrCat("\"", url, "\" is not an https:// URL"));
}

void CheckPositive(Problems& problems, const std::string& field, double value) {
  if (!(value > 0)) problems.Add(field, absl::StrCat("must be positive, got ", value));
}

// Two listeners collide when their ports are equal and their hosts overlap; a port of 0 picks a
// free port, so it never collides.
bool SameSocket(const HostPort& a, const HostPort& b) {
  const auto wildcard = [](const std::string& host) { return host == "0.0.0.0" || host == "::"; };
  return a.port != 0 && a.port == b.port && (a.host == b.host || wildcard(a.host) || wildcard(b.host));
}

}  // namespace

absl::StatusOr<v1::GatewayConfig> ParseConfigText(absl::string_view text) {
  v1::GatewayConfig config;
  google::protobuf::TextFormat::Parser parser;
  CollectingErrors errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &config)) {
    return absl::InvalidArgumentError(absl::StrCat("config: ", errors.Joined()));
  }
  return config;
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    const std::string message = absl::StrCat("cannot read \"", path, "\": ", std::strerror(err));
    if (err == EACCES) return absl::PermissionDeniedError(message);
    return absl::NotFoundError(message);
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading \"", path, "\""));
  return content.str();
}

absl::StatusOr<v1::GatewayConfig> LoadConfigFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return absl::InvalidArgumentError(absl::StrCat("config: ", text.status().message()));
  absl::StatusOr<v1::GatewayConfig> config = ParseConfigText(*text);
  if (!config.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

void ApplyOverrides(const ConfigOverrides& overrides, v1::GatewayConfig& config) {
  if (overrides.listen.has_value()) {
    config.clear_listen_addresses();
    config.add_listen_addresses(*overrides.listen);
  }
  if (overrides.admin_address.has_value()) config.set_admin_address(*overrides.admin_address);
  if (overrides.health_listen_address.has_value()) {
    config.set_health_listen_address(*overrides.health_listen_address);
  }
  if (overrides.audit_log_path.has_value()) config.set_audit_log_path(*overrides.audit_log_path);
}

void ApplyDefaults(v1::GatewayConfig& config) {
  if (config.listen_addresses().empty()) config.add_listen_addresses("0.0.0.0:50051");
  DefaultString(config.mutable_admin_address(), "0.0.0.0:9464");
  if (config.drain_grace_seconds() == 0) config.set_drain_grace_seconds(20);
  if (config.default_deadline_seconds() == 0) config.set_default_deadline_seconds(60);

  v1::Upstreams& up = *config.mutable_upstreams();
  if (up.cloud() == v1::CLOUD_UNSPECIFIED) up.set_cloud(v1::CLOUD_PUBLIC);
  const CloudPreset& preset = PresetFor(up.cloud());
  DefaultString(up.mutable_authority_url(), preset.authority);
  DefaultString(up.mutable_partner_center_url(), preset.partner_center);
  DefaultString(up.mutable_arm_url(), preset.arm);
  DefaultString(up.mutable_graph_url(), preset.graph);
  DefaultString(up.mutable_partner_center_scope(), preset.partner_center_scope);
  DefaultString(up.mutable_arm_scope(), preset.arm_scope);
  DefaultString(up.mutable_graph_scope(), preset.graph_scope);
  if (up.request_timeout_seconds() == 0) up.set_request_timeout_seconds(30);

  v1::RetryOptions& retry = *config.mutable_retry();
  if (retry.max_attempts() == 0) retry.set_max_attempts(4);
  if (retry.initial_backoff_ms() == 0) retry.set_initial_backoff_ms(200);
  if (retry.max_backoff_ms() == 0) retry.set_max_backoff_ms(10000);
  if (retry.principal_not_found_initial_backoff_ms() == 0) {
    retry.set_principal_not_found_initial_backoff_ms(1000);
  }

  v1::Limits& limits = *config.mutable_limits();
  if (limits.max_concurrent_upstream_requests() == 0) limits.set_max_concurrent_upstream_requests(256);
  // Partner Center and Graph publish per-tenant limits well above these; staying under them keeps
  // a burst of RPCs from turning into 429 storms.
  if (limits.partner_center_requests_per_second() == 0) limits.set_partner_center_requests_per_second(15);
  if (limits.arm_requests_per_second() == 0) limits.set_arm_requests_per_second(20);
  if (limits.graph_requests_per_second() == 0) limits.set_graph_requests_per_second(15);
  if (limits.batch_concurrency() == 0) limits.set_batch_concurrency(16);
  if (limits.batch_per_customer_concurrency() == 0) limits.set_batch_per_customer_concurrency(4);
  if (limits.max_concurrent_rpcs() == 0) limits.set_max_concurrent_rpcs(10000);
  if (limits.upstream_threads() == 0) {
    limits.set_upstream_threads(static_cast<int>(std::clamp(UsableCpus(), 1u, 4u)));
  }

  v1::CacheOptions& caches = *config.mutable_caches();
  if (caches.entitlements_ttl_seconds() == 0) caches.set_entitlements_ttl_seconds(300);
  if (caches.role_definitions_ttl_seconds() == 0) caches.set_role_definitions_ttl_seconds(3600);
}

std::optional<HostPort> SplitHostPort(absl::string_view address) {
  HostPort out;
  absl::string_view port;
  if (absl::StartsWith(address, "[")) {
    const size_t close = address.find(']');
    if (close == absl::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return std::nullopt;
    }
    out.host = std::string(address.substr(1, close - 1));
    port = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) return std::nullopt;
    out.host = std::string(address.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return std::nullopt;
    port = address.substr(colon + 1);
  }
  if (out.host.empty() || port.empty() || !absl::SimpleAtoi(port, &out.port) || out.port < 0 ||
      out.port > 65535) {
    return std::nullopt;
  }
  return out;
}

bool IsLoopbackAddress(absl::string_view host_port) {
  std::optional<HostPort> hp = SplitHostPort(host_port);
  if (!hp.has_value()) return false;
  return hp->host == "localhost" || hp->host == "::1" || absl::StartsWith(hp->host, "127.");
}

absl::Status ValidateConfig(const v1::GatewayConfig& config, const ValidateOptions& options) {
  Problems problems;

  if (config.listen_addresses().empty()) problems.Add("listen_addresses", "required");
  bool all_loopback = true;
  for (int i = 0; i < config.listen_addresses_size(); ++i) {
    const std::string& address = config.listen_addresses(i);
    if (!SplitHostPort(address).has_value()) {
      problems.Add(absl::StrCat("listen_addresses[", i, "]"),
                   absl::StrCat("\"", address, "\" is not HOST:PORT"));
    }
    all_loopback = all_loopback && IsLoopbackAddress(address);
  }
  if (!SplitHostPort(config.admin_address()).has_value()) {
    problems.Add("admin_address", absl::StrCat("\"", config.admin_address(), "\" is not HOST:PORT"));
  }
  if (!config.health_listen_address().empty()) {
    const std::string& health = config.health_listen_address();
    std::optional<HostPort> hp = SplitHostPort(health);
    if (!hp.has_value()) {
      problems.Add("health_listen_address", absl::StrCat("\"", health, "\" is not HOST:PORT"));
    } else {
      std::vector<std::string> others(config.listen_addresses().begin(), config.listen_addresses().end());
      others.push_back(config.admin_address());
      for (const std::string& other : others) {
        std::optional<HostPort> taken = SplitHostPort(other);
        if (taken.has_value() && SameSocket(*hp, *taken)) {
          problems.Add("health_listen_address",
                       absl::StrCat("\"", health, "\" is also used by \"", other,
                                    "\" (the health listener needs its own port)"));
          break;
        }
      }
    }
  }

  const bool tls = config.has_tls();
  if (tls) {
    problems.RequireFile("tls.cert_file", config.tls().cert_file());
    problems.RequireFile("tls.key_file", config.tls().key_file());
    if (!config.tls().client_ca_file().empty()) {
      problems.RequireFile("tls.client_ca_file", config.tls().client_ca_file());
    } else if (config.tls().require_client_certificate()) {
      problems.Add("tls.require_client_certificate", "needs tls.client_ca_file");
    }
  } else if (!all_loopback) {
    problems.Add("tls", "required when a listen address is not loopback (plaintext is only "
                        "served on 127.0.0.1/::1)");
  }

  const v1::CallerPolicy& callers = config.callers();
  const bool plaintext_loopback = !tls && all_loopback;
  if (callers.allow_unauthenticated() && !plaintext_loopback) {
    problems.Add("callers.allow_unauthenticated",
                 "only allowed when every listener is plaintext on loopback");
  }
  if (callers.trust_forwarded_client_cert() && !plaintext_loopback) {
    problems.Add("callers.trust_forwarded_client_cert",
                 "only allowed when every listener is plaintext on loopback (a local sidecar)");
  }
  if (!callers.bearer_token_digests_file().empty()) {
    problems.RequireFile("callers.bearer_token_digests_file", callers.bearer_token_digests_file());
  }
  static constexpr absl::string_view kPermissions[] = {
      "*", "customers.read", "subscriptions.read", "access.read", "access.write", "users.write"};
  std::vector<std::string> names;
  for (int i = 0; i < callers.callers_size(); ++i) {
    const v1::Caller& caller = callers.callers(i);
    const std::string field = absl::StrCat("callers.callers[", i, "]");
    if (caller.name().empty()) problems.Add(field + ".name", "required");
    for (const std::string& other : names) {
      if (other == caller.name()) problems.Add(field + ".name", "duplicate \"" + other + "\"");
    }
    names.push_back(caller.name());
    for (int j = 0; j < caller.bearer_token_sha256_size(); ++j) {
      if (!IsHex64(caller.bearer_token_sha256(j))) {
        problems.Add(absl::StrCat(field, ".bearer_token_sha256[", j, "]"),
                     "must be 64 hex digits (the SHA-256 of the token, not the token)");
      }
    }
    for (int j = 0; j < caller.permissions_size(); ++j) {
      bool known = false;
      for (absl::string_view p : kPermissions) known = known || p == caller.permissions(j);
      if (!known) {
        problems.Add(absl::StrCat(field, ".permissions[", j, "]"),
                     absl::StrCat("unknown permission \"", caller.permissions(j), "\""));
      }
    }
    for (int j = 0; j < caller.customer_allowlist_size(); ++j) {
      if (!IsGuid(caller.customer_allowlist(j))) {
        problems.Add(absl::StrCat(field, ".customer_allowlist[", j, "]"), "must be a GUID");
      }
    }
  }

  if (config.allow_plain_http() && !options.sandbox) {
    problems.Add("allow_plain_http", "only allowed in the sandbox");
  }
  const bool plain_ok = config.allow_plain_http() && options.sandbox;
  const v1::Upstreams& up = config.upstreams();
  CheckUrl(problems, "upstreams.authority_url", up.authority_url(), plain_ok);
  CheckUrl(problems, "upstreams.partner_center_url", up.partner_center_url(), plain_ok);
  CheckUrl(problems, "upstreams.arm_url", up.arm_url(), plain_ok);
  CheckUrl(problems, "upstreams.graph_url", up.graph_url(), plain_ok);
  if (!up.ca_bundle_file().empty()) problems.RequireFile("upstreams.ca_bundle_file", up.ca_bundle_file());
  CheckPositive(problems, "upstreams.request_timeout_seconds", up.request_timeout_seconds());

  // The sandbox takes the partner's identity from the emulator it starts.
  const bool identity_required = !options.sandbox;
  if (identity_required || !config.partner_tenant_id().empty()) {
    if (!IsGuid(config.partner_tenant_id())) {
      problems.Add("partner_tenant_id", config.partner_tenant_id().empty() ? "required" : "must be a GUID");
    }
  }
  if (identity_required || !config.app_id().empty()) {
    if (!IsGuid(config.app_id())) {
      problems.Add("app_id", config.app_id().empty() ? "required" : "must be a GUID");
    }
  }

  const v1::Credential& credential = config.credential();
  if (!credential.client_secret().empty()) {
    problems.Add("credential.client_secret",
                 "inline secrets are refused; put the secret in a file readable only by the "
                 "gateway and set credential.client_secret_file");
  }
  switch (credential.kind_case()) {
    case v1::Credential::kCertificate:
      problems.RequireFile("credential.certificate.certificate_file",
                           credential.certificate().certificate_file());
      problems.RequireFile("credential.certificate.private_key_file",
                           credential.certificate().private_key_file());
      break;
    case v1::Credential::kClientSecretFile:
      problems.RequireFile("credential.client_secret_file", credential.client_secret_file());
      break;
    case v1::Credential::KIND_NOT_SET:
      if (!options.sandbox) {
        problems.Add("credential", "required: certificate { ... } or client_secret_file");
      }
      break;
  }

  if (!options.sandbox) {
    problems.RequireFile("page_token_key_file", config.page_token_key_file());
    if (config.audit_log_path().empty()) problems.Add("audit_log_path", "required");
  } else if (!config.page_token_key_file().empty()) {
    problems.RequireFile("page_token_key_file", config.page_token_key_file());
  }

  const v1::RetryOptions& retry = config.retry();
  CheckPositive(problems, "retry.max_attempts", retry.max_attempts());
  CheckPositive(problems, "retry.initial_backoff_ms", retry.initial_backoff_ms());
  CheckPositive(problems, "retry.principal_not_found_initial_backoff_ms",
                retry.principal_not_found_initial_backoff_ms());
  if (retry.max_backoff_ms() < retry.initial_backoff_ms()) {
    problems.Add("retry.max_backoff_ms", "must be at least retry.initial_backoff_ms");
  }
  const v1::Limits& limits = config.limits();
  CheckPositive(problems, "limits.max_concurrent_upstream_requests", limits.max_concurrent_upstream_requests());
  CheckPositive(problems, "limits.partner_center_requests_per_second", limits.partner_center_requests_per_second());
  CheckPositive(problems, "limits.arm_requests_per_second", limits.arm_requests_per_second());
  CheckPositive(problems, "limits.graph_requests_per_second", limits.graph_requests_per_second());
  CheckPositive(problems, "limits.batch_concurrency", limits.batch_concurrency());
  CheckPositive(problems, "limits.batch_per_customer_concurrency", limits.batch_per_customer_concurrency());
  CheckPositive(problems, "limits.max_concurrent_rpcs", limits.max_concurrent_rpcs());
  CheckPositive(problems, "limits.upstream_threads", limits.upstream_threads());
  CheckPositive(problems, "caches.entitlements_ttl_seconds", config.caches().entitlements_ttl_seconds());
  CheckPositive(problems, "caches.role_definitions_ttl_seconds", config.caches().role_definitions_ttl_seconds());
  CheckPositive(problems, "drain_grace_seconds", config.drain_grace_seconds());
  CheckPositive(problems, "default_deadline_seconds", config.default_deadline_seconds());

  return problems.ToStatus();
}

}  // namespace partner::config
