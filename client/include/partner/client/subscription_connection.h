// SubscriptionConnection: one virtual per SubscriptionService RPC, the seam between
// SubscriptionClient and gRPC (mock: client/mocks/mock_subscription_connection.h).
// Implementations are thread-safe.
#ifndef PARTNER_CLIENT_SUBSCRIPTION_CONNECTION_H_
#define PARTNER_CLIENT_SUBSCRIPTION_CONNECTION_H_

#include <memory>

#include "absl/status/statusor.h"
#include "partner/client/client_options.h"
#include "partner/v1/subscription_service.grpc.pb.h"

namespace partner::client {

class SubscriptionConnection {
 public:
  virtual ~SubscriptionConnection() = default;

  virtual absl::StatusOr<v1::ListSubscriptionsResponse> ListSubscriptions(
      const v1::ListSubscriptionsRequest& request, const CallOptions& call) = 0;
  virtual absl::StatusOr<v1::GetSubscriptionResponse> GetSubscription(
      const v1::GetSubscriptionRequest& request, const CallOptions& call) = 0;
  virtual absl::StatusOr<v1::ListAzureSubscriptionsResponse> ListAzureSubscriptions(
      const v1::ListAzureSubscriptionsRequest& request, const CallOptions& call) = 0;
};

/// The connection over `stub`: every RPC is a read, retried on UNAVAILABLE.
std::shared_ptr<SubscriptionConnection> MakeSubscriptionConnection(
    std::shared_ptr<v1::SubscriptionService::StubInterface> stub, ClientOptions options);

/// The connection over a new channel to options.target (see MakeChannel for the errors).
absl::StatusOr<std::shared_ptr<SubscriptionConnection>> MakeSubscriptionConnection(
    const ClientOptions& options);

}  // namespace partner::client

#endif  // PARTNER_CLIENT_SUBSCRIPTION_CONNECTION_H_
