// The emulator's data: a partner tenant, its customers (tenants) with Partner Center
// subscriptions, the Azure subscriptions behind them, directory users, role definitions and role
// assignments, plus the access tokens it has issued. Seeded deterministically; guarded by one
// mutex because tests read it from their own threads while the server mutates it.
#ifndef PARTNER_EMULATOR_WORLD_H_
#define PARTNER_EMULATOR_WORLD_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace partner::emulator {

struct PcSubscription {
  std::string id;  // upper case, as Partner Center writes it
  std::string offer_id;
  std::string offer_name;
  std::string friendly_name;
  int quantity = 1;
  std::string unit_type;
  std::string billing_type;
  std::string status = "active";
  absl::Time created;
  std::string entitlement_id;                    // legacy Azure: the ARM subscription id
  std::vector<std::string> azure_subscriptions;  // Azure plan: ARM ids (lower case)
};

struct AzureSubscription {
  std::string id;  // lower case
  std::string tenant_id;
  std::string display_name;
  std::string pc_subscription_id;
  std::vector<std::string> resource_groups;
  // ARM's subscription state (§5.3): Enabled, Warned, PastDue, Disabled or Deleted.
  std::string state = "Enabled";
  // The gateway's app has lost its RBAC role here: ARM answers 403 AuthorizationFailed (§5.7) and
  // no longer shows the subscription in GET /subscriptions (§5.3).
  bool authorization_denied = false;
};

struct User {
  std::string id;
  std::string user_principal_name;
  std::string display_name;
  std::string given_name;
  std::string surname;
  std::string mail;
  std::string usage_location;
  bool account_enabled = true;
  absl::Time created;
};

struct Customer {
  std::string id;  // tenant id
  std::string commerce_id;
  std::string company_name;
  std::string domain;
  std::string relationship = "reseller";
  // The gateway's app has a service principal in this tenant (else AADSTS700016).
  bool app_consented = true;
  // The customer revoked delegated admin: Partner Center answers 403 code 20002 on its routes.
  bool relationship_revoked = false;
  std::vector<PcSubscription> subscriptions;
  std::vector<User> users;
};

struct RoleDefinition {
  std::string guid;
  std::string role_name;
  std::string type;  // BuiltInRole or CustomRole
  std::string description;
  std::string assignable_scope;  // "/" for built-in roles
};

struct RoleAssignment {
  std::string name;   // GUID chosen by the caller
  std::string scope;  // "/subscriptions/{id}" or ".../resourceGroups/{rg}", as given
  std::string role_definition_guid;
  std::string principal_id;
  std::string principal_type;
  std::string description;
  absl::Time created;
};

// Role assignments by lower-case name, with the names in each subscription: a list or a PUT reads
// its subscription's assignments only, as ARM does, instead of every tenant's.
class RoleAssignmentStore {
 public:
  const RoleAssignment* Find(const std::string& name) const;
  // Replaces an assignment of the same name, wherever it was.
  void Put(RoleAssignment assignment);
  void Erase(const std::string& name);
  void Clear();
  // The assignments whose scope is the subscription or inside it, in name order.
  std::vector<const RoleAssignment*> InSubscription(absl::string_view subscription_id) const;
  const std::map<std::string, RoleAssignment>& by_name() const { return by_name_; }

 private:
  std::map<std::string, RoleAssignment> by_name_;
  // Lower-case subscription id -> name -> the assignment in by_name_ (whose nodes never move), so
  // listing a subscription looks nothing up.
  std::map<std::string, std::map<std::string, const RoleAssignment*>> by_subscription_;
};

struct IssuedToken {
  std::string tenant_id;
  std::string audience;  // resource, e.g. "https://management.azure.com"
  absl::Time expires;
};

struct SeedOptions {
  int customers = 60;
  std::uint64_t seed = 1;
  std::string partner_tenant_id = "5c1b2a3d-0e9f-4a8b-9c7d-6e5f4a3b2c1d";
  // How many of the last customers have not consented the app (AADSTS700016 in their tenant).
  int unconsented_customers = 1;
};

// Built-in roles with their fixed GUIDs (CONTRACTS.md §5.4).
const std::vector<RoleDefinition>& BuiltInRoles();

// Seeded customers, ordered by company name (the order Partner Center lists them in).
std::vector<Customer> SeedCustomers(const SeedOptions& options);

}  // namespace partner::emulator

#endif  // PARTNER_EMULATOR_WORLD_H_
