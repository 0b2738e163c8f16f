// CustomerClient: customers of the partner and the users of their tenants.
// A cheap value type (a shared pointer to its connection): copy it freely, use it from any thread.
#ifndef PARTNER_CLIENT_CUSTOMER_CLIENT_H_
#define PARTNER_CLIENT_CUSTOMER_CLIENT_H_

#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "partner/client/client_options.h"
#include "partner/client/customer_connection.h"

namespace partner::client {

class CustomerClient {
 public:
  explicit CustomerClient(std::shared_ptr<CustomerConnection> connection)
      : connection_(std::move(connection)) {}

  /// One page of customers. INVALID_ARGUMENT for a bad page token or page size.
  absl::StatusOr<v1::ListCustomersResponse> ListCustomers(const v1::ListCustomersRequest& request,
                                                          const CallOptions& call = {}) const;
  /// Every customer matching the request's filter, walking all pages from request.page_token.
  absl::StatusOr<std::vector<v1::Customer>> ListAllCustomers(
      const v1::ListCustomersRequest& request, const CallOptions& call = {}) const;
  /// NOT_FOUND for an unknown customer.
  absl::StatusOr<v1::GetCustomerResponse> GetCustomer(const v1::GetCustomerRequest& request,
                                                      const CallOptions& call = {}) const;
  absl::StatusOr<v1::ListCustomerUsersResponse> ListCustomerUsers(
      const v1::ListCustomerUsersRequest& request, const CallOptions& call = {}) const;
  /// Every user of the customer's tenant, walking all pages.
  absl::StatusOr<std::vector<v1::CustomerUser>> ListAllCustomerUsers(
      const v1::ListCustomerUsersRequest& request, const CallOptions& call = {}) const;
  /// Never retried by the library: a lost response may mean the user was created.
  absl::StatusOr<v1::CreateCustomerUserResponse> CreateCustomerUser(
      const v1::CreateCustomerUserRequest& request, const CallOptions& call = {}) const;

 private:
  std::shared_ptr<CustomerConnection> connection_;
};

}  // namespace partner::client

#endif  // PARTNER_CLIENT_CUSTOMER_CLIENT_H_
