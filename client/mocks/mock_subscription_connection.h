// gMock implementation of SubscriptionConnection, for tests of code that uses SubscriptionClient.
#ifndef PARTNER_CLIENT_MOCKS_MOCK_SUBSCRIPTION_CONNECTION_H_
#define PARTNER_CLIENT_MOCKS_MOCK_SUBSCRIPTION_CONNECTION_H_

#include "gmock/gmock.h"
#include "partner/client/subscription_connection.h"

namespace partner::client::mocks {

class MockSubscriptionConnection : public SubscriptionConnection {
 public:
  MOCK_METHOD(absl::StatusOr<v1::ListSubscriptionsResponse>, ListSubscriptions,
              (const v1::ListSubscriptionsRequest&, const CallOptions&), (override));
  MOCK_METHOD(absl::StatusOr<v1::GetSubscriptionResponse>, GetSubscription,
              (const v1::GetSubscriptionRequest&, const CallOptions&), (override));
  MOCK_METHOD(absl::StatusOr<v1::ListAzureSubscriptionsResponse>, ListAzureSubscriptions,
              (const v1::ListAzureSubscriptionsRequest&, const CallOptions&), (override));
};

}  // namespace partner::client::mocks

#endif  // PARTNER_CLIENT_MOCKS_MOCK_SUBSCRIPTION_CONNECTION_H_
