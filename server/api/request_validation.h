// Validation of every request before any upstream call: identifiers that end up in upstream URLs
// are checked against their exact grammar, so nothing a caller sends can change an upstream
// path, host or query. Errors are INVALID_ARGUMENT naming the field (ops::InvalidField).
#ifndef PARTNER_SERVER_API_REQUEST_VALIDATION_H_
#define PARTNER_SERVER_API_REQUEST_VALIDATION_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "partner/v1/access_service.pb.h"
#include "partner/v1/customer_service.pb.h"
#include "partner/v1/subscription_service.pb.h"

namespace partner::api {

inline constexpr int kMaxPageSize = 500;
inline constexpr int kMaxBatchItems = 5000;

// Primitives; `field` names the field in the error.
bool IsGuid(absl::string_view value);
absl::Status ValidateGuid(absl::string_view field, absl::string_view value);
absl::Status ValidateResourceGroup(absl::string_view field, absl::string_view value);
absl::Status ValidateUserPrincipalName(absl::string_view field, absl::string_view value);
absl::Status ValidateRoleName(absl::string_view field, absl::string_view value);
absl::Status ValidateRoleAssignmentId(absl::string_view field, absl::string_view value);
// Free text (display names, descriptions): valid UTF-8, no control characters.
absl::Status ValidateText(absl::string_view field, absl::string_view value, size_t min_chars,
                          size_t max_chars);
absl::Status ValidatePageSize(absl::string_view field, int page_size);

absl::Status ValidateRequest(const v1::ListCustomersRequest& request);
absl::Status ValidateRequest(const v1::GetCustomerRequest& request);
absl::Status ValidateRequest(const v1::ListCustomerUsersRequest& request);
absl::Status ValidateRequest(const v1::CreateCustomerUserRequest& request);
absl::Status ValidateRequest(const v1::ListSubscriptionsRequest& request);
absl::Status ValidateRequest(const v1::GetSubscriptionRequest& request);
absl::Status ValidateRequest(const v1::ListAzureSubscriptionsRequest& request);
absl::Status ValidateRequest(const v1::ListRoleDefinitionsRequest& request);
absl::Status ValidateRequest(const v1::ListRoleAssignmentsRequest& request);
absl::Status ValidateRequest(const v1::RevokeRoleRequest& request);
// `prefix` is prepended to field names ("items[3]." for a batch item).
absl::Status ValidateAssignRole(const v1::AssignRoleRequest& request, absl::string_view prefix = "");
// The batch as a whole (its size); items are validated one by one as they run.
absl::Status ValidateRequest(const v1::BatchAssignRolesRequest& request);

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_REQUEST_VALIDATION_H_
