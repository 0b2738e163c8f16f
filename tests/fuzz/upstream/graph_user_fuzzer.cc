// One Graph user as GET /users/{id} and POST /users answer it, with Graph's error bodies.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "server/upstream/graph_client.h"
#include "tests/fuzz/upstream/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace partner;
  auto http = std::make_shared<fuzz::ReplayHttpClient>(fuzz::ResponseFromInput(data, size));
  upstream::GraphClient client(http, fuzz::FuzzUpstreamOptions());
  const ops::OpContext ctx;
  const std::string tenant = "9d2b6e41-0c7a-4f38-b5e1-a3c8d7f2e069";
  (void)fuzz::RunInline(client.GetUser(ctx, tenant, "adele.vance@contoso.onmicrosoft.com"));
  ops::graph::NewUser user;
  user.user_principal_name = "new.user@contoso.onmicrosoft.com";
  user.display_name = "New User";
  user.mail_nickname = "new.user";
  user.usage_location = "US";
  user.password = "fuzz-Secret-Passw0rd!";
  absl::StatusOr<ops::graph::User> created = fuzz::RunInline(client.CreateUser(ctx, tenant, user));
  // The password goes into the POST body only, never into an error message a caller could read.
  // Only the message: WithoutSecret leaves the upstreamCode detail as Graph sent it, so a Graph
  // error code echoing the password would still reach the caller's ErrorInfo (reported on issue 4).
  if (!created.ok() && absl::StrContains(created.status().message(), user.password)) std::abort();
  return 0;
}
