// Graph's users page (value, @odata.nextLink) through ListUsers, then the skip token it hands
// back, which must stay on the configured Graph host.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "server/upstream/graph_client.h"
#include "tests/fuzz/upstream/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace partner;
  auto http = std::make_shared<fuzz::ReplayHttpClient>(fuzz::ResponseFromInput(data, size));
  upstream::GraphClient client(http, fuzz::FuzzUpstreamOptions());
  const ops::OpContext ctx;
  const std::string tenant = "9d2b6e41-0c7a-4f38-b5e1-a3c8d7f2e069";
  ops::graph::UserQuery query;
  query.top = 7;
  absl::StatusOr<ops::graph::UserPage> page = fuzz::RunInline(client.ListUsers(ctx, tenant, query));
  if (page.ok() && !page->skip_token.empty()) {
    query.skip_token = page->skip_token;
    (void)fuzz::RunInline(client.ListUsers(ctx, tenant, query));
  }
  return 0;
}
