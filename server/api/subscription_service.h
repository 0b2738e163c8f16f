// partner.v1.SubscriptionService on the gRPC callback API.
#ifndef PARTNER_SERVER_API_SUBSCRIPTION_SERVICE_H_
#define PARTNER_SERVER_API_SUBSCRIPTION_SERVICE_H_

#include "partner/v1/subscription_service.grpc.pb.h"
#include "server/api/parsing_service.h"

namespace partner::api {

class SubscriptionServiceImpl final : public ParsingCallbackService<v1::SubscriptionService> {
 public:
  explicit SubscriptionServiceImpl(ServiceDeps deps);

  grpc::ServerUnaryReactor* ListSubscriptions(grpc::CallbackServerContext* context,
                                              const v1::ListSubscriptionsRequest* request,
                                              v1::ListSubscriptionsResponse* response) override;
  grpc::ServerUnaryReactor* GetSubscription(grpc::CallbackServerContext* context,
                                            const v1::GetSubscriptionRequest* request,
                                            v1::GetSubscriptionResponse* response) override;
  grpc::ServerUnaryReactor* ListAzureSubscriptions(grpc::CallbackServerContext* context,
                                                   const v1::ListAzureSubscriptionsRequest* request,
                                                   v1::ListAzureSubscriptionsResponse* response) override;
};

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_SUBSCRIPTION_SERVICE_H_
