// SubscriptionClient: a customer's Partner Center subscriptions and its Azure subscriptions.
// A cheap value type (a shared pointer to its connection): copy it freely, use it from any thread.
#ifndef PARTNER_CLIENT_SUBSCRIPTION_CLIENT_H_
#define PARTNER_CLIENT_SUBSCRIPTION_CLIENT_H_

#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "partner/client/client_options.h"
#include "partner/client/subscription_connection.h"

namespace partner::client {

class SubscriptionClient {
 public:
  explicit SubscriptionClient(std::shared_ptr<SubscriptionConnection> connection)
      : connection_(std::move(connection)) {}

  /// NOT_FOUND for an unknown customer.
  absl::StatusOr<v1::ListSubscriptionsResponse> ListSubscriptions(
      const v1::ListSubscriptionsRequest& request, const CallOptions& call = {}) const {
    return connection_->ListSubscriptions(request, call);
  }
  /// NOT_FOUND for an unknown customer or subscription.
  absl::StatusOr<v1::GetSubscriptionResponse> GetSubscription(
      const v1::GetSubscriptionRequest& request, const CallOptions& call = {}) const {
    return connection_->GetSubscription(request, call);
  }
  /// The Azure subscriptions of the customer's Azure plans and legacy Azure subscriptions.
  absl::StatusOr<v1::ListAzureSubscriptionsResponse> ListAzureSubscriptions(
      const v1::ListAzureSubscriptionsRequest& request, const CallOptions& call = {}) const {
    return connection_->ListAzureSubscriptions(request, call);
  }

 private:
  std::shared_ptr<SubscriptionConnection> connection_;
};

}  // namespace partner::client

#endif  // PARTNER_CLIENT_SUBSCRIPTION_CLIENT_H_
