// The Azure Resource Manager client (CONTRACTS.md §5): the subscriptions the app can see, and
// Microsoft.Authorization role definitions and role assignments, as ops::arm::ArmPort.
//
// Each call uses a token of the customer tenant given as `tenant`, for the ARM scope. Scopes and
// assignment ids are re-encoded segment by segment. Thread-safe; the client must outlive the
// tasks it returns.
#ifndef PARTNER_SERVER_UPSTREAM_ARM_CLIENT_H_
#define PARTNER_SERVER_UPSTREAM_ARM_CLIENT_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/http/http_client.h"
#include "server/ops/upstream_ports.h"
#include "server/upstream/call.h"

namespace partner::upstream {

class ArmClient final : public ops::arm::ArmPort {
 public:
  ArmClient(std::shared_ptr<http::HttpClient> http, UpstreamOptions options);

  ops::OpTask<absl::StatusOr<std::vector<ops::arm::Subscription>>> ListSubscriptions(const ops::OpContext& ctx,
                                                                                   std::string tenant) override;
  ops::OpTask<absl::StatusOr<std::vector<ops::arm::RoleDefinition>>> ListRoleDefinitions(
      const ops::OpContext& ctx, std::string tenant, std::string scope) override;
  ops::OpTask<absl::StatusOr<ops::arm::RoleAssignment>> PutRoleAssignment(
      const ops::OpContext& ctx, std::string tenant, std::string scope, std::string name,
      ops::arm::RoleAssignmentProperties properties) override;
  ops::OpTask<absl::StatusOr<ops::arm::RoleAssignment>> GetRoleAssignment(const ops::OpContext& ctx,
                                                                         std::string tenant,
                                                                         std::string assignment_id) override;
  // Without a principal: `$filter=atScope()`; with one: `$filter=principalId eq '<oid>'`.
  ops::OpTask<absl::StatusOr<std::vector<ops::arm::RoleAssignment>>> ListRoleAssignments(
      const ops::OpContext& ctx, std::string tenant, std::string scope,
      std::optional<std::string> principal_id) override;
  ops::OpTask<absl::StatusOr<std::optional<ops::arm::RoleAssignment>>> DeleteRoleAssignment(
      const ops::OpContext& ctx, std::string tenant, std::string assignment_id) override;

 private:
  http::HttpRequest NewRequest(std::string method, std::string operation, std::string tenant, std::string url) const;
  // Every page of a {"value": [...], "nextLink": ...} list.
  template <class T>
  ops::OpTask<absl::StatusOr<std::vector<T>>> ListAll(const ops::OpContext& ctx, http::HttpRequest request,
                                                      std::string resource);

  std::shared_ptr<http::HttpClient> http_;
  UpstreamOptions options_;
};

}  // namespace partner::upstream

#endif  // PARTNER_SERVER_UPSTREAM_ARM_CLIENT_H_
