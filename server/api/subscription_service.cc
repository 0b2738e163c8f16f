#include "server/api/subscription_service.h"

#include "server/api/request_validation.h"

namespace partner::api {

SubscriptionServiceImpl::SubscriptionServiceImpl(ServiceDeps deps) : ParsingCallbackService(std::move(deps)) {
  ParseRequestsOf("ListSubscriptions", &SubscriptionServiceImpl::ListSubscriptions);
  ParseRequestsOf("GetSubscription", &SubscriptionServiceImpl::GetSubscription);
  ParseRequestsOf("ListAzureSubscriptions", &SubscriptionServiceImpl::ListAzureSubscriptions);
}

grpc::ServerUnaryReactor* SubscriptionServiceImpl::ListSubscriptions(
    grpc::CallbackServerContext* context, const v1::ListSubscriptionsRequest* request,
    v1::ListSubscriptionsResponse* response) {
  auto* call = new UnaryCall<v1::ListSubscriptionsResponse>(deps_, context, "ListSubscriptions", response);
  if (absl::Status s = call->Admit(ValidateRequest(*request), auth::Permission::kSubscriptionsRead,
                                   request->customer_id());
      !s.ok()) {
    call->Fail(s);
    return call;
  }
  deps_.operations->ListSubscriptions(call->ctx(), *request, call->Completion());
  return call;
}

grpc::ServerUnaryReactor* SubscriptionServiceImpl::GetSubscription(
    grpc::CallbackServerContext* context, const v1::GetSubscriptionRequest* request,
    v1::GetSubscriptionResponse* response) {
  auto* call = new UnaryCall<v1::GetSubscriptionResponse>(deps_, context, "GetSubscription", response);
  if (absl::Status s = call->Admit(ValidateRequest(*request), auth::Permission::kSubscriptionsRead,
                                   request->customer_id());
      !s.ok()) {
    call->Fail(s);
    return call;
  }
  deps_.operations->GetSubscription(call->ctx(), *request, call->Completion());
  return call;
}

grpc::ServerUnaryReactor* SubscriptionServiceImpl::ListAzureSubscriptions(
    grpc::CallbackServerContext* context, const v1::ListAzureSubscriptionsRequest* request,
    v1::ListAzureSubscriptionsResponse* response) {
  auto* call = new UnaryCall<v1::ListAzureSubscriptionsResponse>(deps_, context,
                                                                 "ListAzureSubscriptions", response);
  if (absl::Status s = call->Admit(ValidateRequest(*request), auth::Permission::kSubscriptionsRead,
                                   request->customer_id());
      !s.ok()) {
    call->Fail(s);
    return call;
  }
  deps_.operations->ListAzureSubscriptions(call->ctx(), *request, call->Completion());
  return call;
}

}  // namespace partner::api
