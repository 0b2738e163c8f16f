// ARM's role assignment list, unfiltered (atScope()) and for one principal (whose results the
// client trims to the scope and above).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "server/upstream/arm_client.h"
#include "tests/fuzz/upstream/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace partner;
  const ops::OpContext ctx;
  const std::string tenant = "9d2b6e41-0c7a-4f38-b5e1-a3c8d7f2e069";
  const std::string scope = "/subscriptions/3f2e1d0c-9b8a-4765-a4b3-c2d1e0f9a8b7/resourceGroups/rg-app";
  for (std::optional<std::string> principal : {std::optional<std::string>(),
                                               std::optional<std::string>("0a9b8c7d-1e2f-4a3b-8c4d-5e6f7a8b9c0d")}) {
    auto http = std::make_shared<fuzz::ReplayHttpClient>(fuzz::ResponseFromInput(data, size));
    upstream::ArmClient client(http, fuzz::FuzzUpstreamOptions());
    (void)fuzz::RunInline(client.ListRoleAssignments(ctx, tenant, scope, principal));
  }
  return 0;
}
