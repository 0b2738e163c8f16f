// Loading, defaulting and validating the gateway configuration (config.proto).
#ifndef PARTNER_SERVER_CONFIG_LOAD_CONFIG_H_
#define PARTNER_SERVER_CONFIG_LOAD_CONFIG_H_

#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/config/config.pb.h"

namespace partner::config {

// Parses a textproto. Errors name the line and column.
absl::StatusOr<v1::GatewayConfig> ParseConfigText(absl::string_view text);

// Reads and parses a textproto file.
absl::StatusOr<v1::GatewayConfig> LoadConfigFile(const std::string& path);

// Command-line values that override the file; unset members leave it alone.
struct ConfigOverrides {
  std::optional<std::string> listen;  // replaces listen_addresses
  std::optional<std::string> admin_address;
  std::optional<std::string> health_listen_address;
  std::optional<std::string> audit_log_path;
};
void ApplyOverrides(const ConfigOverrides& overrides, v1::GatewayConfig& config);

// Fills every unset field with its documented default, upstream URLs and scopes from the cloud
// preset included.
void ApplyDefaults(v1::GatewayConfig& config);

struct ValidateOptions {
  // The sandbox may use plain http upstream and needs no page-token key file or audit path.
  bool sandbox = false;
};

// Checks the whole (defaulted) config, files included. INVALID_ARGUMENT naming every bad field.
absl::Status ValidateConfig(const v1::GatewayConfig& config, const ValidateOptions& options);

// True for 127.0.0.0/8, ::1 and "localhost" hosts of a HOST:PORT address.
bool IsLoopbackAddress(absl::string_view host_port);

// Splits "HOST:PORT" / "[v6]:PORT"; nullopt when malformed.
struct HostPort {
  std::string host;
  int port = 0;
};
std::optional<HostPort> SplitHostPort(absl::string_view address);

// Reads a whole file (secrets, keys, PEM). NOT_FOUND / PERMISSION_DENIED name the path only.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace partner::config

#endif  // PARTNER_SERVER_CONFIG_LOAD_CONFIG_H_
