// The four upstream services of CONTRACTS.md (Entra token endpoint, Partner Center, ARM, Graph)
// over one World, with the auth rules of the real services and counters tests can read.
// Thread-safe: every call takes the world's mutex; a state-file write follows once it is released.
#ifndef PARTNER_EMULATOR_SERVICES_H_
#define PARTNER_EMULATOR_SERVICES_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "emulator/exchange.h"
#include "emulator/state_file.h"
#include "emulator/world.h"

namespace partner::emulator {

// Audiences (resources) the services accept tokens for: the public cloud's by default; a
// sovereign-cloud test sets its own.
struct Audiences {
  std::string partner_center = "https://api.partnercenter.microsoft.com";
  std::string arm = "https://management.azure.com";
  std::string graph = "https://graph.microsoft.com";
};

struct ServiceOptions {
  SeedOptions seed;
  Audiences audiences;
  std::string app_id = "0d7e2f4a-91c3-4b6e-8a55-3f1e9c2b7d60";
  // Accepted client secret; empty: secrets are refused (certificate only).
  std::string client_secret = "sandbox-client-secret";
  // PEM certificate whose key signs client assertions; empty: assertions are refused.
  std::string client_certificate_pem;
  absl::Duration token_lifetime = absl::Hours(1);
  // Users created through Graph and the role assignments are kept in this file and read back on
  // start (state_file.h); empty: they last as long as the process.
  std::string state_file;

  // The quirks of CONTRACTS.md §8, each as the real service shows it by default; the other form is
  // one the documentation or captured traffic also shows, so clients must cope with both.
  // Prepend a UTF-8 BOM to Partner Center bodies (§2.3).
  bool partner_center_bom = true;
  // Partner Center error `code` as a JSON number (observed) rather than a string (documented) (§2.5).
  bool partner_center_numeric_error_codes = true;
  // links.next.uri of the customer list starts with "/v1/customers" rather than "/customers" (§2.4).
  bool partner_center_next_link_v1 = true;
  // Partner Center subscription ids in upper case rather than lower case (§2.7).
  bool partner_center_upper_case_subscription_ids = true;
  // ARM answers PrincipalNotFound for a principal younger than this unless principalType is given.
  absl::Duration principal_replication_delay = absl::Seconds(10);
  // ARM token buckets per subscription at the documented limits (§5.2).
  bool arm_throttling = true;
  // 409 RoleAssignmentExists names the existing assignment (newer text) rather than not (§5.7).
  bool arm_exists_names_existing_id = true;
  // Graph's Retry-After in fractional seconds ("2.128") rather than whole ones (§6.3).
  bool graph_fractional_retry_after = true;
  int role_assignment_limit = 4000;
  int arm_page_size = 200;
  int graph_page_size = 100;
};

struct Counters {
  std::map<std::string, std::int64_t> requests_by_route;  // "pc.list_customers" -> n
  std::int64_t tokens_issued = 0;
  std::map<std::string, std::int64_t> tokens_by_tenant;
  std::int64_t rejected_tokens = 0;
  std::int64_t upstream_requests = 0;  // every request except admin and token routes
};

class Services {
 public:
  // `base_url` is where the emulator listens ("http://127.0.0.1:1234"): next links and client
  // assertion audiences are built from it. `clock` is injectable for tests. With a state file, its
  // users and role assignments are loaded (an unusable file is the error) and the file is written
  // at once, so an unwritable path fails here rather than at the first change.
  static absl::StatusOr<std::unique_ptr<Services>> Create(ServiceOptions options, std::string base_url,
                                                          absl::AnyInvocable<absl::Time()> clock = absl::Now);

  EmuResponse Handle(const EmuRequest& request);

  Counters counters() const;
  std::vector<RoleAssignment> role_assignments() const;
  std::vector<Customer> customers() const;
  std::vector<AzureSubscription> azure_subscriptions() const;

  // Upstream states the seed does not produce, for tests; false when the id is unknown.
  // The customer revoked (or restored) the reseller relationship: Partner Center answers 403
  // code 20002 on the customer's routes (§2.5).
  bool SetRelationshipRevoked(absl::string_view customer_id, bool revoked);
  // The app's role on the Azure subscription was removed (or restored): ARM answers 403
  // AuthorizationFailed on the subscription's routes (§5.7), and GET /subscriptions no longer
  // shows it (§5.3).
  bool SetAuthorizationDenied(absl::string_view azure_subscription_id, bool denied);
  // An assignment made elsewhere (the portal, another tool) under a name of its own choosing. Kept
  // in the state file like any other; a failed write is reported on stderr.
  void AddRoleAssignment(RoleAssignment assignment);
  const std::string& base_url() const { return base_url_; }
  const ServiceOptions& options() const { return options_; }

 private:
  Services(ServiceOptions options, std::string base_url, absl::AnyInvocable<absl::Time()> clock);

  struct StateSnapshot {
    std::uint64_t generation = 0;
    PersistedState state;
  };
  absl::Status LoadState() ABSL_LOCKS_EXCLUDED(mu_);
  // The state to write after a change (nullopt when nothing changed or there is no state file).
  std::optional<StateSnapshot> TakeStateSnapshot() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes outside mu_; a snapshot older than the last one written is skipped, as that one holds it.
  absl::Status SaveState(const StateSnapshot& snapshot) ABSL_LOCKS_EXCLUDED(mu_, state_write_mu_);
  EmuResponse HandleLocked(const EmuRequest& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  struct Bucket {
    double tokens = 0;
    absl::Time refilled;
  };
  struct Caller {
    std::string tenant_id;
    std::string correlation_id;
  };

  EmuResponse HandleToken(const EmuRequest& request, const std::string& tenant, bool v1) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  EmuResponse HandlePartnerCenter(const EmuRequest& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  EmuResponse HandleArm(const EmuRequest& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  EmuResponse HandleGraph(const EmuRequest& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  EmuResponse HandleAdmin(const EmuRequest& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The tenant a valid bearer token for `audience` was issued by, or why not.
  enum class TokenProblem { kMissing, kUnknown, kExpired, kWrongAudience };
  absl::StatusOr<std::string> Authenticate(const EmuRequest& request, const std::string& audience,
                                           TokenProblem* problem) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Customer* FindCustomer(absl::string_view id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Customer* FindTenant(absl::string_view id_or_domain) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  AzureSubscription* FindAzureSubscription(absl::string_view id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const RoleDefinition* FindRole(const std::string& tenant, absl::string_view guid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<RoleDefinition> RolesOf(const std::string& tenant) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Consumes one token of the subscription's bucket for `kind` (reads, writes, deletes); the
  // remaining count, or nullopt when empty.
  std::optional<int> TakeArmToken(const std::string& subscription, const std::string& kind) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NewGuid() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Count(const std::string& route) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ServiceOptions options_;
  const std::string base_url_;
  absl::AnyInvocable<absl::Time()> clock_;

  mutable absl::Mutex mu_;
  std::vector<Customer> customers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, AzureSubscription> azure_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, RoleDefinition> custom_roles_ ABSL_GUARDED_BY(mu_);  // tenant -> role
  RoleAssignmentStore assignments_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, IssuedToken> tokens_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Bucket> arm_buckets_ ABSL_GUARDED_BY(mu_);
  Counters counters_ ABSL_GUARDED_BY(mu_);
  std::uint64_t guid_state_ ABSL_GUARDED_BY(mu_);
  std::vector<CreatedUser> created_users_ ABSL_GUARDED_BY(mu_);
  bool state_changed_ ABSL_GUARDED_BY(mu_) = false;
  std::uint64_t state_generation_ ABSL_GUARDED_BY(mu_) = 0;

  absl::Mutex state_write_mu_;
  std::uint64_t written_generation_ ABSL_GUARDED_BY(state_write_mu_) = 0;
};

// Helpers shared by the route files.
std::string Lower(absl::string_view s);
bool IsGuid(absl::string_view s);
std::string FormatArmTime(absl::Time t);  // ISO-8601 UTC with 7 fractional digits, as ARM writes it

}  // namespace partner::emulator

#endif  // PARTNER_EMULATOR_SERVICES_H_
