// What the operations need from the upstream services, as small interfaces ("ports") with plain
// structs. The REST clients of server/upstream implement them through an adapter; tests use
// stateful fakes. Errors are absl::Status with the DESIGN.md code mapping, carrying the upstream
// error code and request id as ops::WithUpstreamDetails ("upstreamCode", "upstreamRequestId")
// and, for throttling, ops::WithRetryDelay.
#ifndef PARTNER_SERVER_OPS_UPSTREAM_PORTS_H_
#define PARTNER_SERVER_OPS_UPSTREAM_PORTS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/ops/op_task.h"
#include "server/ops/operations.h"

namespace partner::ops {

namespace pc {

struct Customer {
  std::string id;  // tenant id
  std::string company_name;
  std::string domain;
  std::string relationship_to_partner;  // "reseller", "advisor", ...
  std::optional<bool> allow_delegated_access;
};

struct CustomerQuery {
  int size = 100;
  std::optional<std::string> name_prefix;
  std::optional<std::string> domain_prefix;
  std::string continuation;  // empty: first page
};

struct CustomerPage {
  std::vector<Customer> customers;
  std::string continuation;  // empty: last page
};

struct Subscription {
  std::string id;  // upper case, as Partner Center returns it
  std::string offer_id;
  std::string offer_name;
  std::string friendly_name;
  int quantity = 0;
  std::string status;  // "active", ...
  std::optional<absl::Time> creation_date;
  // Legacy Azure (MS-AZR-0145P): the ARM subscription id. Not always equal to `id` (CONTRACTS.md
  // §4.3), so it is read rather than assumed.
  std::string entitlement_id;
};

struct AzureEntitlement {
  std::string id;  // the ARM subscription id
  std::string friendly_name;
  std::string status;
};

class PartnerCenterPort {
 public:
  virtual ~PartnerCenterPort() = default;
  virtual OpTask<absl::StatusOr<CustomerPage>> ListCustomers(const OpContext& ctx, CustomerQuery query) = 0;
  virtual OpTask<absl::StatusOr<Customer>> GetCustomer(const OpContext& ctx, std::string customer_id) = 0;
  virtual OpTask<absl::StatusOr<std::vector<Subscription>>> ListSubscriptions(const OpContext& ctx,
                                                                             std::string customer_id) = 0;
  virtual OpTask<absl::StatusOr<Subscription>> GetSubscription(const OpContext& ctx, std::string customer_id,
                                                               std::string subscription_id) = 0;
  virtual OpTask<absl::StatusOr<std::vector<AzureEntitlement>>> ListAzureEntitlements(
      const OpContext& ctx, std::string customer_id, std::string subscription_id) = 0;
};

}  // namespace pc

namespace arm {

// An Azure subscription as ARM lists it (CONTRACTS.md §5.3).
struct Subscription {
  std::string id;               // "/subscriptions/{subscription_id}"
  std::string subscription_id;  // GUID, in ARM's letter case
  std::string tenant_id;
  std::string display_name;
  std::string state;  // "Enabled", "Warned", "PastDue", "Disabled" or "Deleted"
};

struct RoleDefinition {
  std::string id;  // "/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
  std::string role_name;
  std::string type;  // "BuiltInRole" or "CustomRole"
  std::string description;
};

struct RoleAssignment {
  std::string id;
  std::string name;
  std::string scope;
  std::string role_definition_id;  // full ARM id
  std::string principal_id;
  std::string principal_type;  // "User", "Group", ...
  std::string description;
  std::optional<absl::Time> created_on;
};

struct RoleAssignmentProperties {
  std::string role_definition_id;  // full ARM id
  std::string principal_id;
  std::string principal_type;
  std::string description;
};

// `tenant` selects the customer tenant whose token is used.
class ArmPort {
 public:
  virtual ~ArmPort() = default;
  // The subscriptions the app can see in `tenant`: only those where it holds an RBAC role, so an
  // app without any role there gets an empty list, not an error.
  virtual OpTask<absl::StatusOr<std::vector<Subscription>>> ListSubscriptions(const OpContext& ctx,
                                                                              std::string tenant) = 0;
  virtual OpTask<absl::StatusOr<std::vector<RoleDefinition>>> ListRoleDefinitions(const OpContext& ctx,
                                                                                  std::string tenant,
                                                                                  std::string scope) = 0;
  // 409 RoleAssignmentExists, 400 RoleAssignmentUpdateNotPermitted and 400 PrincipalNotFound are
  // told apart by their upstreamCode.
  virtual OpTask<absl::StatusOr<RoleAssignment>> PutRoleAssignment(const OpContext& ctx, std::string tenant,
                                                                   std::string scope, std::string name,
                                                                   RoleAssignmentProperties properties) = 0;
  virtual OpTask<absl::StatusOr<RoleAssignment>> GetRoleAssignment(const OpContext& ctx, std::string tenant,
                                                                   std::string assignment_id) = 0;
  // Assignments at `scope` and inherited from above it, optionally of one principal.
  virtual OpTask<absl::StatusOr<std::vector<RoleAssignment>>> ListRoleAssignments(
      const OpContext& ctx, std::string tenant, std::string scope, std::optional<std::string> principal_id) = 0;
  // nullopt when ARM answered 204 (nothing to delete).
  virtual OpTask<absl::StatusOr<std::optional<RoleAssignment>>> DeleteRoleAssignment(
      const OpContext& ctx, std::string tenant, std::string assignment_id) = 0;
};

}  // namespace arm

namespace graph {

struct User {
  std::string id;
  std::string user_principal_name;
  std::string display_name;
  std::string mail;
};

struct UserQuery {
  int top = 100;
  std::string skip_token;  // empty: first page
  // Users whose displayName or userPrincipalName starts with it, case-insensitively; nullopt: all
  // users. Ignored with a skip_token, whose next link already carries the filter.
  std::optional<std::string> search_prefix;
};

struct UserPage {
  std::vector<User> users;
  std::string skip_token;  // empty: last page
};

struct NewUser {
  std::string user_principal_name;
  std::string display_name;
  std::string mail_nickname;
  std::string usage_location;
  std::string password;
  bool force_change_password_next_sign_in = true;
  bool account_enabled = true;
};

class GraphPort {
 public:
  virtual ~GraphPort() = default;
  virtual OpTask<absl::StatusOr<User>> GetUser(const OpContext& ctx, std::string tenant, std::string id_or_upn) = 0;
  virtual OpTask<absl::StatusOr<UserPage>> ListUsers(const OpContext& ctx, std::string tenant, UserQuery query) = 0;
  // ALREADY_EXISTS when the UPN is taken.
  virtual OpTask<absl::StatusOr<User>> CreateUser(const OpContext& ctx, std::string tenant, NewUser user) = 0;
};

}  // namespace graph

// Time for caches and the PrincipalNotFound backoff.
class OpClock {
 public:
  virtual ~OpClock() = default;
  virtual absl::Time Now() = 0;
  // Completes after `delay`, or early with false when ctx is cancelled.
  virtual OpTask<bool> Sleep(const OpContext& ctx, absl::Duration delay) = 0;
};

}  // namespace partner::ops

#endif  // PARTNER_SERVER_OPS_UPSTREAM_PORTS_H_
