#include "partner/client/customer_client.h"

#include "partner/client/paging.h"

namespace partner::client {

absl::StatusOr<v1::ListCustomersResponse> CustomerClient::ListCustomers(
    const v1::ListCustomersRequest& request, const CallOptions& call) const {
  return connection_->ListCustomers(request, call);
}

absl::StatusOr<std::vector<v1::Customer>> CustomerClient::ListAllCustomers(
    const v1::ListCustomersRequest& request, const CallOptions& call) const {
  std::vector<v1::Customer> all;
  absl::Status status = ForEachPage(
      request, [&](const v1::ListCustomersRequest& r) { return ListCustomers(r, call); },
      [&](v1::ListCustomersResponse& page) {
        for (v1::Customer& c : *page.mutable_customers()) all.push_back(std::move(c));
      });
  if (!status.ok()) return status;
  return all;
}

absl::StatusOr<v1::GetCustomerResponse> CustomerClient::GetCustomer(
    const v1::GetCustomerRequest& request, const CallOptions& call) const {
  return connection_->GetCustomer(request, call);
}

absl::StatusOr<v1::ListCustomerUsersResponse> CustomerClient::ListCustomerUsers(
    const v1::ListCustomerUsersRequest& request, const CallOptions& call) const {
  return connection_->ListCustomerUsers(request, call);
}

absl::StatusOr<std::vector<v1::CustomerUser>> CustomerClient::ListAllCustomerUsers(
    const v1::ListCustomerUsersRequest& request, const CallOptions& call) const {
  std::vector<v1::CustomerUser> all;
  absl::Status status = ForEachPage(
      request, [&](const v1::ListCustomerUsersRequest& r) { return ListCustomerUsers(r, call); },
      [&](v1::ListCustomerUsersResponse& page) {
        for (v1::CustomerUser& u : *page.mutable_users()) all.push_back(std::move(u));
      });
  if (!status.ok()) return status;
  return all;
}

absl::StatusOr<v1::CreateCustomerUserResponse> CustomerClient::CreateCustomerUser(
    const v1::CreateCustomerUserRequest& request, const CallOptions& call) const {
  return connection_->CreateCustomerUser(request, call);
}

}  // namespace partner::client
