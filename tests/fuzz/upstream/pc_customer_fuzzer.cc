// One Partner Center customer (companyProfile, relationshipToPartner, allowDelegatedAccess) and
// the error bodies of its route.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "server/upstream/partner_center_client.h"
#include "tests/fuzz/upstream/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace partner;
  auto http = std::make_shared<fuzz::ReplayHttpClient>(fuzz::ResponseFromInput(data, size));
  upstream::PartnerCenterClient client(http, fuzz::FuzzUpstreamOptions());
  const ops::OpContext ctx;
  (void)fuzz::RunInline(client.GetCustomer(ctx, "9d2b6e41-0c7a-4f38-b5e1-a3c8d7f2e069"));
  return 0;
}
