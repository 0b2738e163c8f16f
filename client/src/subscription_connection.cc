#include "partner/client/subscription_connection.h"

#include <utility>

#include "client/src/call_support.h"

namespace partner::client {
namespace {

using internal::Idempotency;
using internal::UnaryCall;

class SubscriptionConnectionImpl final : public SubscriptionConnection {
 public:
  SubscriptionConnectionImpl(std::shared_ptr<v1::SubscriptionService::StubInterface> stub,
                             ClientOptions options)
      : stub_(std::move(stub)), options_(std::move(options)) {}

  absl::StatusOr<v1::ListSubscriptionsResponse> ListSubscriptions(
      const v1::ListSubscriptionsRequest& request, const CallOptions& call) override {
    return UnaryCall<v1::ListSubscriptionsResponse>(
        options_, call, Idempotency::kIdempotent,
        [&](grpc::ClientContext* c, auto* r) { return stub_->ListSubscriptions(c, request, r); });
  }
  absl::StatusOr<v1::GetSubscriptionResponse> GetSubscription(
      const v1::GetSubscriptionRequest& request, const CallOptions& call) override {
    return UnaryCall<v1::GetSubscriptionResponse>(
        options_, call, Idempotency::kIdempotent,
        [&](grpc::ClientContext* c, auto* r) { return stub_->GetSubscription(c, request, r); });
  }
  absl::StatusOr<v1::ListAzureSubscriptionsResponse> ListAzureSubscriptions(
      const v1::ListAzureSubscriptionsRequest& request, const CallOptions& call) override {
    return UnaryCall<v1::ListAzureSubscriptionsResponse>(
        options_, call, Idempotency::kIdempotent, [&](grpc::ClientContext* c, auto* r) {
          return stub_->ListAzureSubscriptions(c, request, r);
        });
  }

 private:
  std::shared_ptr<v1::SubscriptionService::StubInterface> stub_;
  ClientOptions options_;
};

}  // namespace

std::shared_ptr<SubscriptionConnection> MakeSubscriptionConnection(
    std::shared_ptr<v1::SubscriptionService::StubInterface> stub, ClientOptions options) {
  return std::make_shared<SubscriptionConnectionImpl>(std::move(stub), std::move(options));
}

absl::StatusOr<std::shared_ptr<SubscriptionConnection>> MakeSubscriptionConnection(
    const ClientOptions& options) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options);
  if (!channel.ok()) return channel.status();
  return MakeSubscriptionConnection(v1::SubscriptionService::NewStub(*channel), options);
}

}  // namespace partner::client
