#include "partner/client/access_client.h"

#include "partner/client/paging.h"

namespace partner::client {

absl::StatusOr<std::vector<v1::RoleAssignment>> AccessClient::ListAllRoleAssignments(
    const v1::ListRoleAssignmentsRequest& request, const CallOptions& call) const {
  std::vector<v1::RoleAssignment> all;
  absl::Status status = ForEachPage(
      request,
      [&](const v1::ListRoleAssignmentsRequest& r) { return ListRoleAssignments(r, call); },
      [&](v1::ListRoleAssignmentsResponse& page) {
        for (v1::RoleAssignment& a : *page.mutable_role_assignments()) all.push_back(std::move(a));
      });
  if (!status.ok()) return status;
  return all;
}

}  // namespace partner::client
