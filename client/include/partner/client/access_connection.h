// AccessConnection: one virtual per AccessService RPC, the seam between AccessClient and gRPC
// (mock: client/mocks/mock_access_connection.h). Implementations are thread-safe.
#ifndef PARTNER_CLIENT_ACCESS_CONNECTION_H_
#define PARTNER_CLIENT_ACCESS_CONNECTION_H_

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "partner/client/client_options.h"
#include "partner/v1/access_service.grpc.pb.h"

namespace partner::client {

class AccessConnection {
 public:
  virtual ~AccessConnection() = default;

  virtual absl::StatusOr<v1::ListRoleDefinitionsResponse> ListRoleDefinitions(
      const v1::ListRoleDefinitionsRequest& request, const CallOptions& call) = 0;
  virtual absl::StatusOr<v1::AssignRoleResponse> AssignRole(const v1::AssignRoleRequest& request,
                                                            const CallOptions& call) = 0;
  virtual absl::StatusOr<v1::ListRoleAssignmentsResponse> ListRoleAssignments(
      const v1::ListRoleAssignmentsRequest& request, const CallOptions& call) = 0;
  virtual absl::StatusOr<v1::RevokeRoleResponse> RevokeRole(const v1::RevokeRoleRequest& request,
                                                            const CallOptions& call) = 0;
  /// Hands each streamed message to `on_message` as it arrives; returns the stream's status.
  virtual absl::Status BatchAssignRoles(
      const v1::BatchAssignRolesRequest& request,
      const std::function<void(const v1::BatchAssignRolesResponse&)>& on_message,
      const CallOptions& call) = 0;
};

/// The connection over `stub`: the list RPCs are retried on UNAVAILABLE; AssignRole, RevokeRole
/// and BatchAssignRoles are not (a caller that knows better can retry them itself).
std::shared_ptr<AccessConnection> MakeAccessConnection(
    std::shared_ptr<v1::AccessService::StubInterface> stub, ClientOptions options);

/// The connection over a new channel to options.target (see MakeChannel for the errors).
absl::StatusOr<std::shared_ptr<AccessConnection>> MakeAccessConnection(
    const ClientOptions& options);

}  // namespace partner::client

#endif  // PARTNER_CLIENT_ACCESS_CONNECTION_H_
