// Partner Center's customer collection (items, links.next with its MS-ContinuationToken header,
// BOM) through PartnerCenterClient::ListCustomers, then the continuation it hands back.
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
  ops::pc::CustomerQuery query;
  query.size = 7;
  query.name_prefix = "Contoso";
  absl::StatusOr<ops::pc::CustomerPage> page = fuzz::RunInline(client.ListCustomers(ctx, query));
  if (page.ok() && !page->continuation.empty()) {
    query.continuation = page->continuation;
    (void)fuzz::RunInline(client.ListCustomers(ctx, query));
  }
  return 0;
}
