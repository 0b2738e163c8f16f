#include "server/http/pipeline.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/http/bearer_token_policy.h"
#include "server/http/header_policies.h"
#include "server/http/rate_limit_policy.h"

namespace partner::http {

std::unique_ptr<HttpClient> MakeUpstreamPipeline(PipelineOptions options, std::shared_ptr<HttpClient> transport,
                                                 std::shared_ptr<TokenSource> tokens) {
  std::shared_ptr<Timer> timer = options.timer != nullptr ? std::move(options.timer) : std::make_shared<ThreadTimer>();
  std::shared_ptr<HttpClient> client =
      std::make_shared<LoggingPolicy>(std::move(options.log_sink), std::move(options.metrics), std::move(transport));
  client = std::make_shared<BearerTokenPolicy>(std::move(tokens), std::move(client));
  if (!options.rate_limits.empty()) {
    client = std::make_shared<RateLimitPolicy>(std::move(options.rate_limits), timer, std::move(client));
  }
  client = std::make_shared<RetryPolicy>(std::move(options.retry), std::move(timer), std::move(client));
  client = std::make_shared<UserAgentPolicy>(std::move(client), absl::StrCat("partner-gateway/", options.version));
  return std::make_unique<RequestIdPolicy>(std::move(client), std::move(options.new_request_id));
}

}  // namespace partner::http
