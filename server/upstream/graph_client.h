// The Microsoft Graph client for users of a customer tenant (CONTRACTS.md §6), as
// ops::graph::GraphPort.
//
// Each call uses a token of the customer tenant given as `tenant`, for the Graph scope. The
// new user's password goes only into the POST body: never into a log line or a Status.
// Thread-safe; the client must outlive the tasks it returns.
#ifndef PARTNER_SERVER_UPSTREAM_GRAPH_CLIENT_H_
#define PARTNER_SERVER_UPSTREAM_GRAPH_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/http/http_client.h"
#include "server/ops/upstream_ports.h"
#include "server/upstream/call.h"

namespace partner::upstream {

class GraphClient final : public ops::graph::GraphPort {
 public:
  GraphClient(std::shared_ptr<http::HttpClient> http, UpstreamOptions options);

  ops::OpTask<absl::StatusOr<ops::graph::User>> GetUser(const ops::OpContext& ctx, std::string tenant,
                                                       std::string id_or_upn) override;
  // UserPage::skip_token is Graph's @odata.nextLink; passing it back requests that page, and
  // only if it points at the configured Graph host. A search_prefix becomes
  // $filter=startswith(displayName,'p') or startswith(userPrincipalName,'p'); it must be 1 to 1024
  // bytes without control characters, else INVALID_ARGUMENT before any upstream call.
  ops::OpTask<absl::StatusOr<ops::graph::UserPage>> ListUsers(const ops::OpContext& ctx, std::string tenant,
                                                             ops::graph::UserQuery query) override;
  ops::OpTask<absl::StatusOr<ops::graph::User>> CreateUser(const ops::OpContext& ctx, std::string tenant,
                                                          ops::graph::NewUser user) override;

 private:
  http::HttpRequest NewRequest(std::string method, std::string operation, std::string tenant, std::string url) const;

  std::shared_ptr<http::HttpClient> http_;
  UpstreamOptions options_;
};

}  // namespace partner::upstream

#endif  // PARTNER_SERVER_UPSTREAM_GRAPH_CLIENT_H_
