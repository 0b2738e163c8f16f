// partner.v1.AccessService on the gRPC callback API; BatchAssignRoles streams with a write
// reactor that writes one result at a time as items complete.
#ifndef PARTNER_SERVER_API_ACCESS_SERVICE_H_
#define PARTNER_SERVER_API_ACCESS_SERVICE_H_

#include "partner/v1/access_service.grpc.pb.h"
#include "server/api/parsing_service.h"

namespace partner::api {

class AccessServiceImpl final : public ParsingCallbackService<v1::AccessService> {
 public:
  explicit AccessServiceImpl(ServiceDeps deps);

  grpc::ServerUnaryReactor* ListRoleDefinitions(grpc::CallbackServerContext* context,
                                                const v1::ListRoleDefinitionsRequest* request,
                                                v1::ListRoleDefinitionsResponse* response) override;
  grpc::ServerUnaryReactor* AssignRole(grpc::CallbackServerContext* context,
                                       const v1::AssignRoleRequest* request,
                                       v1::AssignRoleResponse* response) override;
  grpc::ServerUnaryReactor* ListRoleAssignments(grpc::CallbackServerContext* context,
                                                const v1::ListRoleAssignmentsRequest* request,
                                                v1::ListRoleAssignmentsResponse* response) override;
  grpc::ServerUnaryReactor* RevokeRole(grpc::CallbackServerContext* context,
                                       const v1::RevokeRoleRequest* request,
                                       v1::RevokeRoleResponse* response) override;
  grpc::ServerWriteReactor<v1::BatchAssignRolesResponse>* BatchAssignRoles(
      grpc::CallbackServerContext* context, const v1::BatchAssignRolesRequest* request) override;
};

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_ACCESS_SERVICE_H_
