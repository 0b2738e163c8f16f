// Who the caller is (client certificate identity, bearer token, or the local sidecar's
// x-forwarded-client-cert) and what it may do (per-method permissions, customer allowlists).
#ifndef PARTNER_SERVER_AUTH_CALLER_CALLER_POLICY_H_
#define PARTNER_SERVER_AUTH_CALLER_CALLER_POLICY_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/config/config.pb.h"

namespace partner::auth {

enum class Permission { kCustomersRead, kSubscriptionsRead, kAccessRead, kAccessWrite, kUsersWrite };
absl::string_view PermissionName(Permission permission);

struct CallerIdentity {
  std::string name;
  bool all_permissions = false;
  std::set<Permission> permissions;
  std::set<std::string> customer_allowlist;  // lower-case GUIDs; empty: every customer
};

// What a connection and its metadata present; filled by the api layer from the gRPC context.
struct PresentedCredentials {
  std::vector<std::string> certificate_identities;  // SAN URIs and DNS names of a verified cert
  std::optional<std::string> authorization;         // the "authorization" metadata value
  std::optional<std::string> forwarded_client_cert; // the "x-forwarded-client-cert" value
};

class CallerPolicy {
 public:
  // Reads the bearer token digests file if configured.
  static absl::StatusOr<std::shared_ptr<const CallerPolicy>> Create(
      const config::v1::CallerPolicy& config);

  // UNAUTHENTICATED (ERROR_REASON_UNAUTHENTICATED) when nothing presented identifies a caller.
  absl::StatusOr<CallerIdentity> Authenticate(const PresentedCredentials& presented) const;

  // PERMISSION_DENIED (ERROR_REASON_CALLER_NOT_PERMITTED) unless `caller` holds `permission`
  // and, when `customer_id` is not empty, may touch that customer.
  static absl::Status Authorize(const CallerIdentity& caller, Permission permission,
                                absl::string_view customer_id);

 private:
  CallerPolicy() = default;

  bool allow_unauthenticated_ = false;
  bool trust_forwarded_client_cert_ = false;
  std::vector<CallerIdentity> callers_;
  std::map<std::string, size_t> by_identity_;      // certificate identity -> callers_ index
  std::map<std::string, size_t> by_token_digest_;  // lower-case sha256 hex -> callers_ index
};

// Lower-case hex SHA-256.
std::string Sha256Hex(absl::string_view data);

// The URI= and DNS= values of the last element of an Envoy x-forwarded-client-cert header (the
// element the local sidecar added). Empty for a header with an unclosed quote, whose last element
// cannot be told apart from text the caller sent.
std::vector<std::string> ParseForwardedClientCert(absl::string_view header);

}  // namespace partner::auth

#endif  // PARTNER_SERVER_AUTH_CALLER_CALLER_POLICY_H_
