// The token endpoint's answer, through TokenProvider's real request/parse path: the fuzz bytes
// are the response (status selector + body). Every GetToken completes exactly once, and a
// success carries a non-empty token.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/auth/token/token_provider.h"
#include "tests/fuzz/upstream/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace partner;
  auto http = std::make_shared<fuzz::ReplayHttpClient>(fuzz::ResponseFromInput(data, size));
  auth::TokenProviderOptions options;
  options.authority_url = std::string(fuzz::ReplayHttpClient::kBaseUrl);
  options.app_id = "0d7e2f4a-91c3-4b6e-8a55-3f1e9c2b7d60";
  options.credential = auth::ClientSecret{"sandbox-client-secret"};
  options.clock = [] { return absl::FromUnixSeconds(1741944067); };
  absl::StatusOr<std::shared_ptr<auth::TokenProvider>> provider = auth::TokenProvider::Create(std::move(options), http);
  if (!provider.ok()) std::abort();
  for (int call = 0; call < 2; ++call) {
    std::optional<absl::StatusOr<std::string>> token;
    (*provider)->GetToken("9d2b6e41-0c7a-4f38-b5e1-a3c8d7f2e069", "https://management.azure.com/.default",
                          absl::InfiniteFuture(), [&token](absl::StatusOr<std::string> result) {
                            if (token.has_value()) std::abort();
                            token.emplace(std::move(result));
                          });
    if (!token.has_value()) std::abort();
    if (token->ok() && token->value().empty()) std::abort();
  }
  return 0;
}
