// The error bodies of each service mapped to a Status: Partner Center's two shapes ({"code",
// "description"} and {"statusCode", "message"}), ARM's and Graph's {"error": {"code",
// "message"}}, with the ARM message scraping (wrong issuer tenants, existing assignment id).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/status/status.h"
#include "server/ops/error_reason.h"
#include "server/upstream/call.h"
#include "tests/fuzz/upstream/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace partner;
  http::HttpResponse response = fuzz::ResponseFromInput(data, size);
  // These functions map failures; a 2xx never reaches them.
  if (response.status < 300) response.status = 400 + response.status % 30;
  const absl::Status statuses[] = {
      upstream::PartnerCenterError(response, "customer x", "9d2b6e41-0c7a-4f38-b5e1-a3c8d7f2e069"),
      upstream::ArmError(response, "role assignment y"),
      upstream::GraphError(response, "user z"),
  };
  for (const absl::Status& status : statuses) {
    if (status.ok()) std::abort();
    (void)ops::GetUpstreamDetails(status);
    (void)ops::GetRetryDelay(status);
  }
  return 0;
}
