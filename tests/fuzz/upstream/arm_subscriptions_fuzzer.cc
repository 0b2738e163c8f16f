// ARM's subscription list (CONTRACTS.md §5.3: {"value": [...], "nextLink": ...}), each item's
// subscriptionId checked against its id, pages followed only on the configured host and never
// twice.
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
  (void)fuzz::RunInline(client.ListSubscriptions(ctx, "8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418"));
  return 0;
}
