// AccessClient: Azure role assignments on a customer's Azure subscriptions.
// A cheap value type (a shared pointer to its connection): copy it freely, use it from any thread.
#ifndef PARTNER_CLIENT_ACCESS_CLIENT_H_
#define PARTNER_CLIENT_ACCESS_CLIENT_H_

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "partner/client/access_connection.h"
#include "partner/client/client_options.h"

namespace partner::client {

class AccessClient {
 public:
  explicit AccessClient(std::shared_ptr<AccessConnection> connection)
      : connection_(std::move(connection)) {}

  absl::StatusOr<v1::ListRoleDefinitionsResponse> ListRoleDefinitions(
      const v1::ListRoleDefinitionsRequest& request, const CallOptions& call = {}) const {
    return connection_->ListRoleDefinitions(request, call);
  }
  /// Idempotent on the server (already_existed on a repeat) but not retried by the library.
  /// NOT_FOUND with reason ERROR_REASON_PRINCIPAL_NOT_FOUND or ERROR_REASON_ROLE_NOT_FOUND.
  absl::StatusOr<v1::AssignRoleResponse> AssignRole(const v1::AssignRoleRequest& request,
                                                    const CallOptions& call = {}) const {
    return connection_->AssignRole(request, call);
  }
  absl::StatusOr<v1::ListRoleAssignmentsResponse> ListRoleAssignments(
      const v1::ListRoleAssignmentsRequest& request, const CallOptions& call = {}) const {
    return connection_->ListRoleAssignments(request, call);
  }
  /// Every assignment at the request's scope, walking all pages.
  absl::StatusOr<std::vector<v1::RoleAssignment>> ListAllRoleAssignments(
      const v1::ListRoleAssignmentsRequest& request, const CallOptions& call = {}) const;
  /// Success with already_absent when there was nothing to revoke.
  absl::StatusOr<v1::RevokeRoleResponse> RevokeRole(const v1::RevokeRoleRequest& request,
                                                    const CallOptions& call = {}) const {
    return connection_->RevokeRole(request, call);
  }
  /// Streams an item result per request item (completion order), then the summary.
  /// @return the status of the whole call; item failures are in their results.
  absl::Status BatchAssignRoles(
      const v1::BatchAssignRolesRequest& request,
      const std::function<void(const v1::BatchAssignRolesResponse&)>& on_message,
      const CallOptions& call = {}) const {
    return connection_->BatchAssignRoles(request, on_message, call);
  }

 private:
  std::shared_ptr<AccessConnection> connection_;
};

}  // namespace partner::client

#endif  // PARTNER_CLIENT_ACCESS_CLIENT_H_
