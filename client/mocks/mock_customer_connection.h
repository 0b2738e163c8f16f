// gMock implementation of CustomerConnection, for tests of code that uses CustomerClient.
#ifndef PARTNER_CLIENT_MOCKS_MOCK_CUSTOMER_CONNECTION_H_
#define PARTNER_CLIENT_MOCKS_MOCK_CUSTOMER_CONNECTION_H_

#include "gmock/gmock.h"
#include "partner/client/customer_connection.h"

namespace partner::client::mocks {

class MockCustomerConnection : public CustomerConnection {
 public:
  MOCK_METHOD(absl::StatusOr<v1::ListCustomersResponse>, ListCustomers,
              (const v1::ListCustomersRequest&, const CallOptions&), (override));
  MOCK_METHOD(absl::StatusOr<v1::GetCustomerResponse>, GetCustomer,
              (const v1::GetCustomerRequest&, const CallOptions&), (override));
  MOCK_METHOD(absl::StatusOr<v1::ListCustomerUsersResponse>, ListCustomerUsers,
              (const v1::ListCustomerUsersRequest&, const CallOptions&), (override));
  MOCK_METHOD(absl::StatusOr<v1::CreateCustomerUserResponse>, CreateCustomerUser,
              (const v1::CreateCustomerUserRequest&, const CallOptions&), (override));
};

}  // namespace partner::client::mocks

#endif  // PARTNER_CLIENT_MOCKS_MOCK_CUSTOMER_CONNECTION_H_
