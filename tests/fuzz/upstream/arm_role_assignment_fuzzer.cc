// One ARM role assignment as PUT, GET and DELETE answer it, with ARM's error bodies (409
// RoleAssignmentExists carrying the existing id, PrincipalNotFound, wrong-issuer 401s).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "server/upstream/arm_client.h"
#include "tests/fuzz/upstream/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace partner;
  auto http = std::make_shared<fuzz::ReplayHttpClient>(fuzz::ResponseFromInput(data, size));
  upstream::ArmClient client(http, fuzz::FuzzUpstreamOptions());
  const ops::OpContext ctx;
  const std::string tenant = "9d2b6e41-0c7a-4f38-b5e1-a3c8d7f2e069";
  const std::string scope = "/subscriptions/3f2e1d0c-9b8a-4765-a4b3-c2d1e0f9a8b7";
  const std::string id = scope + "/providers/Microsoft.Authorization/roleAssignments/6f1d3c2a-0b4e-4d5f-9a8b-7c6d5e4f3a2b";
  ops::arm::RoleAssignmentProperties properties;
  properties.role_definition_id =
      scope + "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7";
  properties.principal_id = "0a9b8c7d-1e2f-4a3b-8c4d-5e6f7a8b9c0d";
  properties.principal_type = "User";
  (void)fuzz::RunInline(
      client.PutRoleAssignment(ctx, tenant, scope, "6f1d3c2a-0b4e-4d5f-9a8b-7c6d5e4f3a2b", properties));
  (void)fuzz::RunInline(client.GetRoleAssignment(ctx, tenant, id));
  (void)fuzz::RunInline(client.DeleteRoleAssignment(ctx, tenant, id));
  return 0;
}
