// Partner Center subscriptions: the collection (followed through links.next until it ends or
// repeats) and the single subscription, with quantities as numbers or strings and dates.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "server/upstream/partner_center_client.h"
#include "tests/fuzz/upstream/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace partner;
  const ops::OpContext ctx;
  const std::string customer = "9d2b6e41-0c7a-4f38-b5e1-a3c8d7f2e069";
  {
    auto http = std::make_shared<fuzz::ReplayHttpClient>(fuzz::ResponseFromInput(data, size));
    upstream::PartnerCenterClient client(http, fuzz::FuzzUpstreamOptions());
    (void)fuzz::RunInline(client.ListSubscriptions(ctx, customer));
  }
  auto http = std::make_shared<fuzz::ReplayHttpClient>(fuzz::ResponseFromInput(data, size));
  upstream::PartnerCenterClient client(http, fuzz::FuzzUpstreamOptions());
  (void)fuzz::RunInline(client.GetSubscription(ctx, customer, "A3F0C6D2-1B7E-4C59-8D24-6E0F9B1A7C35"));
  return 0;
}
