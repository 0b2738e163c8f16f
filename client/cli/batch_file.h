// The input of `partnerctl roles batch-assign`: CSV with a header row, or JSON lines (one
// AssignRoleRequest in the proto3 JSON mapping per line).
#ifndef PARTNER_CLIENT_CLI_BATCH_FILE_H_
#define PARTNER_CLIENT_CLI_BATCH_FILE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "partner/v1/access_service.pb.h"

namespace partner::cli {

// CSV columns (header names, any order, case-insensitive): customer, subscription,
// resource_group, user | object_id, role | role_id, principal_type, description.
// INVALID_ARGUMENT naming the line for anything it cannot read.
absl::StatusOr<std::vector<v1::AssignRoleRequest>> ParseBatch(const std::string& content);

// user, group, service-principal, foreign-group; INVALID_ARGUMENT otherwise.
absl::StatusOr<v1::PrincipalType> ParsePrincipalType(const std::string& text);

}  // namespace partner::cli

#endif  // PARTNER_CLIENT_CLI_BATCH_FILE_H_
