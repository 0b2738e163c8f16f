// ARM's role definition list ({"value": [...], "nextLink": ...}), pages followed only on the
// configured host and never twice.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "server/upstream/arm_client.h"
#include "tests/fuzz/upstream/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace partner;
  auto http = std::make_shared<fuzz::ReplayHttpClient>(fuzz::ResponseFromInput(data, size));
  upstream::ArmClient client(http, fuzz::FuzzUpstreamOptions());
  const ops::OpContext ctx;
  (void)fuzz::RunInline(client.ListRoleDefinitions(ctx, "9d2b6e41-0c7a-4f38-b5e1-a3c8d7f2e069",
                                                   "/subscriptions/3f2e1d0c-9b8a-4765-a4b3-c2d1e0f9a8b7"));
  return 0;
}
