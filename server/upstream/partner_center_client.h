// The Partner Center REST client (CONTRACTS.md §2-4): customers with filter and paging,
// subscriptions and Azure entitlements, as ops::pc::PartnerCenterPort.
//
// Every call uses the partner tenant's token for the Partner Center scope. Thread-safe; the
// client must outlive the tasks it returns.
#ifndef PARTNER_SERVER_UPSTREAM_PARTNER_CENTER_CLIENT_H_
#define PARTNER_SERVER_UPSTREAM_PARTNER_CENTER_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/http/http_client.h"
#include "server/ops/upstream_ports.h"
#include "server/upstream/call.h"

namespace partner::upstream {

class PartnerCenterClient final : public ops::pc::PartnerCenterPort {
 public:
  PartnerCenterClient(std::shared_ptr<http::HttpClient> http, UpstreamOptions options);

  // CustomerPage::continuation is the next link and its MS-ContinuationToken, opaque to the
  // caller; passing it back in CustomerQuery::continuation requests the next page.
  ops::OpTask<absl::StatusOr<ops::pc::CustomerPage>> ListCustomers(const ops::OpContext& ctx,
                                                                    ops::pc::CustomerQuery query) override;
  ops::OpTask<absl::StatusOr<ops::pc::Customer>> GetCustomer(const ops::OpContext& ctx,
                                                            std::string customer_id) override;
  ops::OpTask<absl::StatusOr<std::vector<ops::pc::Subscription>>> ListSubscriptions(
      const ops::OpContext& ctx, std::string customer_id) override;
  ops::OpTask<absl::StatusOr<ops::pc::Subscription>> GetSubscription(const ops::OpContext& ctx,
                                                                    std::string customer_id,
                                                                    std::string subscription_id) override;
  ops::OpTask<absl::StatusOr<std::vector<ops::pc::AzureEntitlement>>> ListAzureEntitlements(
      const ops::OpContext& ctx, std::string customer_id, std::string subscription_id) override;

 private:
  http::HttpRequest NewRequest(std::string operation, std::string url) const;

  std::shared_ptr<http::HttpClient> http_;
  UpstreamOptions options_;
};

}  // namespace partner::upstream

#endif  // PARTNER_SERVER_UPSTREAM_PARTNER_CENTER_CLIENT_H_
