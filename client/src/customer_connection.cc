#include "partner/client/customer_connection.h"

#include <utility>

#include "client/src/call_support.h"

namespace partner::client {
namespace {

using internal::Idempotency;
using internal::UnaryCall;

class CustomerConnectionImpl final : public CustomerConnection {
 public:
  CustomerConnectionImpl(std::shared_ptr<v1::CustomerService::StubInterface> stub,
                         ClientOptions options)
      : stub_(std::move(stub)), options_(std::move(options)) {}

  absl::StatusOr<v1::ListCustomersResponse> ListCustomers(const v1::ListCustomersRequest& request,
                                                          const CallOptions& call) override {
    return UnaryCall<v1::ListCustomersResponse>(
        options_, call, Idempotency::kIdempotent,
        [&](grpc::ClientContext* c, auto* r) { return stub_->ListCustomers(c, request, r); });
  }
  absl::StatusOr<v1::GetCustomerResponse> GetCustomer(const v1::GetCustomerRequest& request,
                                                      const CallOptions& call) override {
    return UnaryCall<v1::GetCustomerResponse>(
        options_, call, Idempotency::kIdempotent,
        [&](grpc::ClientContext* c, auto* r) { return stub_->GetCustomer(c, request, r); });
  }
  absl::StatusOr<v1::ListCustomerUsersResponse> ListCustomerUsers(
      const v1::ListCustomerUsersRequest& request, const CallOptions& call) override {
    return UnaryCall<v1::ListCustomerUsersResponse>(
        options_, call, Idempotency::kIdempotent,
        [&](grpc::ClientContext* c, auto* r) { return stub_->ListCustomerUsers(c, request, r); });
  }
  absl::StatusOr<v1::CreateCustomerUserResponse> CreateCustomerUser(
      const v1::CreateCustomerUserRequest& request, const CallOptions& call) override {
    return UnaryCall<v1::CreateCustomerUserResponse>(
        options_, call, Idempotency::kNonIdempotent,
        [&](grpc::ClientContext* c, auto* r) { return stub_->CreateCustomerUser(c, request, r); });
  }

 private:
  std::shared_ptr<v1::CustomerService::StubInterface> stub_;
  ClientOptions options_;
};

}  // namespace

std::shared_ptr<CustomerConnection> MakeCustomerConnection(
    std::shared_ptr<v1::CustomerService::StubInterface> stub, ClientOptions options) {
  return std::make_shared<CustomerConnectionImpl>(std::move(stub), std::move(options));
}

absl::StatusOr<std::shared_ptr<CustomerConnection>> MakeCustomerConnection(
    const ClientOptions& options) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options);
  if (!channel.ok()) return channel.status();
  return MakeCustomerConnection(v1::CustomerService::NewStub(*channel), options);
}

}  // namespace partner::client
