// gMock implementation of AccessConnection, for tests of code that uses AccessClient.
#ifndef PARTNER_CLIENT_MOCKS_MOCK_ACCESS_CONNECTION_H_
#define PARTNER_CLIENT_MOCKS_MOCK_ACCESS_CONNECTION_H_

#include <functional>

#include "gmock/gmock.h"
#include "partner/client/access_connection.h"

namespace partner::client::mocks {

class MockAccessConnection : public AccessConnection {
 public:
  MOCK_METHOD(absl::StatusOr<v1::ListRoleDefinitionsResponse>, ListRoleDefinitions,
              (const v1::ListRoleDefinitionsRequest&, const CallOptions&), (override));
  MOCK_METHOD(absl::StatusOr<v1::AssignRoleResponse>, AssignRole,
              (const v1::AssignRoleRequest&, const CallOptions&), (override));
  MOCK_METHOD(absl::StatusOr<v1::ListRoleAssignmentsResponse>, ListRoleAssignments,
              (const v1::ListRoleAssignmentsRequest&, const CallOptions&), (override));
  MOCK_METHOD(absl::StatusOr<v1::RevokeRoleResponse>, RevokeRole,
              (const v1::RevokeRoleRequest&, const CallOptions&), (override));
  MOCK_METHOD(absl::Status, BatchAssignRoles,
              (const v1::BatchAssignRolesRequest&,
               const std::function<void(const v1::BatchAssignRolesResponse&)>&, const CallOptions&),
              (override));
};

}  // namespace partner::client::mocks

#endif  // PARTNER_CLIENT_MOCKS_MOCK_ACCESS_CONNECTION_H_
