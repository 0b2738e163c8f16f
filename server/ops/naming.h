// Deterministic names and classifications used by the operations.
#ifndef PARTNER_SERVER_OPS_NAMING_H_
#define PARTNER_SERVER_OPS_NAMING_H_

#include <string>

#include "absl/strings/string_view.h"
#include "partner/v1/resources.pb.h"

namespace partner::ops {

// RFC 4122 version-5 (SHA-1, name-based) UUID of `name` in `namespace_uuid`, lower case.
std::string NameBasedUuid(absl::string_view namespace_uuid, absl::string_view name);

// The role assignment name for (scope, principal, role definition): the same triple always gets
// the same name, whatever the letter case of its parts, so retries and racing replicas converge
// on one assignment.
std::string RoleAssignmentName(absl::string_view scope, absl::string_view principal_id,
                               absl::string_view role_definition_id);

// "/subscriptions/{sub}" or "/subscriptions/{sub}/resourceGroups/{rg}" (sub lower-cased).
std::string ScopeFor(absl::string_view azure_subscription_id, absl::string_view resource_group);

// Product kind from a Partner Center offer id.
v1::SubscriptionKind KindForOffer(absl::string_view offer_id);

v1::SubscriptionStatus StatusFromPartnerCenter(absl::string_view status);
v1::CustomerRelationship RelationshipFromPartnerCenter(absl::string_view relationship);
v1::PrincipalType PrincipalTypeFromArm(absl::string_view principal_type);
absl::string_view PrincipalTypeToArm(v1::PrincipalType type);

}  // namespace partner::ops

#endif  // PARTNER_SERVER_OPS_NAMING_H_
