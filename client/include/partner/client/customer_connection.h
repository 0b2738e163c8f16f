// CustomerConnection: one virtual per CustomerService RPC, the seam between CustomerClient and
// gRPC. Tests of code using CustomerClient mock it (client/mocks/mock_customer_connection.h).
// Implementations are thread-safe.
#ifndef PARTNER_CLIENT_CUSTOMER_CONNECTION_H_
#define PARTNER_CLIENT_CUSTOMER_CONNECTION_H_

#include <memory>

#include "absl/status/statusor.h"
#include "partner/client/client_options.h"
#include "partner/v1/customer_service.grpc.pb.h"

namespace partner::client {

class CustomerConnection {
 public:
  virtual ~CustomerConnection() = default;

  virtual absl::StatusOr<v1::ListCustomersResponse> ListCustomers(
      const v1::ListCustomersRequest& request, const CallOptions& call) = 0;
  virtual absl::StatusOr<v1::GetCustomerResponse> GetCustomer(const v1::GetCustomerRequest& request,
                                                              const CallOptions& call) = 0;
  virtual absl::StatusOr<v1::ListCustomerUsersResponse> ListCustomerUsers(
      const v1::ListCustomerUsersRequest& request, const CallOptions& call) = 0;
  virtual absl::StatusOr<v1::CreateCustomerUserResponse> CreateCustomerUser(
      const v1::CreateCustomerUserRequest& request, const CallOptions& call) = 0;
};

/// The connection over `stub`: reads retried on UNAVAILABLE, CreateCustomerUser never.
std::shared_ptr<CustomerConnection> MakeCustomerConnection(
    std::shared_ptr<v1::CustomerService::StubInterface> stub, ClientOptions options);

/// The connection over a new channel to options.target (see MakeChannel for the errors).
absl::StatusOr<std::shared_ptr<CustomerConnection>> MakeCustomerConnection(
    const ClientOptions& options);

}  // namespace partner::client

#endif  // PARTNER_CLIENT_CUSTOMER_CONNECTION_H_
