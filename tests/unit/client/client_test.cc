// The client classes over the shipped mock connections: the paging helpers and call options.
#include <string>
#include <vector>

#include "client/mocks/mock_access_connection.h"
#include "client/mocks/mock_customer_connection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "partner/client/access_client.h"
#include "partner/client/customer_client.h"
#include "tests/testing/status_matchers.h"

namespace partner::client {
namespace {

using ::partner::testing::IsOk;
using ::partner::testing::StatusIs;
using ::testing::_;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::Property;
using ::testing::Return;

// Pages of three customers keyed by page token: "" -> a,b,c "t1" -> d,e,f "t2" -> g.
absl::StatusOr<v1::ListCustomersResponse> ThreePages(const v1::ListCustomersRequest& request,
                                                     const CallOptions&) {
  v1::ListCustomersResponse page;
  std::vector<std::string> ids;
  if (request.page_token().empty()) {
    ids = {"a", "b", "c"};
    page.set_next_page_token("t1");
  } else if (request.page_token() == "t1") {
    ids = {"d", "e", "f"};
    page.set_next_page_token("t2");
  } else if (request.page_token() == "t2") {
    ids = {"g"};
  } else {
    return absl::InvalidArgumentError("bad token");
  }
  for (const std::string& id : ids) page.add_customers()->set_customer_id(id);
  return page;
}

std::vector<std::string> Ids(const std::vector<v1::Customer>& customers) {
  std::vector<std::string> ids;
  for (const v1::Customer& c : customers) ids.push_back(c.customer_id());
  return ids;
}

TEST(CustomerClientTest, ListAllReturnsEveryItemOnceAndKeepsTheFilter) {
  auto connection = std::make_shared<mocks::MockCustomerConnection>();
  std::vector<std::string> prefixes;
  EXPECT_CALL(*connection, ListCustomers(_, _))
      .Times(3)
      .WillRepeatedly([&](const v1::ListCustomersRequest& r, const CallOptions& c) {
        prefixes.push_back(r.company_name_prefix() + "/" + std::to_string(r.page_size()));
        return ThreePages(r, c);
      });
  CustomerClient client(connection);
  v1::ListCustomersRequest request;
  request.set_company_name_prefix("Fab");
  request.set_page_size(3);
  absl::StatusOr<std::vector<v1::Customer>> all = client.ListAllCustomers(request);
  ASSERT_THAT(all.status(), IsOk());
  EXPECT_THAT(Ids(*all), ElementsAre("a", "b", "c", "d", "e", "f", "g"));
  EXPECT_THAT(prefixes, ElementsAre("Fab/3", "Fab/3", "Fab/3"));
}

TEST(CustomerClientTest, ListAllFailsWithThePageError) {
  auto connection = std::make_shared<mocks::MockCustomerConnection>();
  v1::ListCustomersResponse first;
  first.add_customers()->set_customer_id("a");
  first.set_next_page_token("t1");
  EXPECT_CALL(*connection, ListCustomers(_, _))
      .WillOnce(Return(first))
      .WillOnce(Return(absl::UnavailableError("gone")));
  EXPECT_THAT(CustomerClient(connection).ListAllCustomers({}).status(),
              StatusIs(absl::StatusCode::kUnavailable, "gone"));
}

TEST(CustomerClientTest, ListAllRefusesARepeatedPageToken) {
  auto connection = std::make_shared<mocks::MockCustomerConnection>();
  v1::ListCustomersResponse looping;
  looping.add_customers()->set_customer_id("a");
  looping.set_next_page_token("same");
  EXPECT_CALL(*connection, ListCustomers(_, _)).Times(2).WillRepeatedly(Return(looping));
  EXPECT_THAT(CustomerClient(connection).ListAllCustomers({}).status(),
              StatusIs(absl::StatusCode::kInternal));
}

TEST(CustomerClientTest, CopiesShareTheConnectionAndPassCallOptions) {
  auto connection = std::make_shared<mocks::MockCustomerConnection>();
  EXPECT_CALL(*connection, GetCustomer(_, Field(&CallOptions::correlation_id, "c-1")))
      .WillOnce(Return(v1::GetCustomerResponse()));
  CustomerClient original(connection);
  CustomerClient copy = original;
  CallOptions call;
  call.correlation_id = "c-1";
  EXPECT_THAT(copy.GetCustomer({}, call).status(), IsOk());
}

TEST(AccessClientTest, ListAllRoleAssignmentsWalksEveryPage) {
  auto connection = std::make_shared<mocks::MockAccessConnection>();
  v1::ListRoleAssignmentsResponse first, second;
  first.add_role_assignments()->set_role_assignment_id("r1");
  first.set_next_page_token("p2");
  second.add_role_assignments()->set_role_assignment_id("r2");
  EXPECT_CALL(*connection,
              ListRoleAssignments(Property(&v1::ListRoleAssignmentsRequest::page_token, ""), _))
      .WillOnce(Return(first));
  EXPECT_CALL(*connection,
              ListRoleAssignments(Property(&v1::ListRoleAssignmentsRequest::page_token, "p2"), _))
      .WillOnce(Return(second));
  absl::StatusOr<std::vector<v1::RoleAssignment>> all =
      AccessClient(connection).ListAllRoleAssignments({});
  ASSERT_THAT(all.status(), IsOk());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].role_assignment_id(), "r2");
}

TEST(MakeChannelTest, RefusesIncompleteOrUnreadableTlsFiles) {
  ClientOptions cert_without_key;
  cert_without_key.tls_cert_file = "/etc/hostname";
  EXPECT_THAT(MakeChannel(cert_without_key).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("both")));
  ClientOptions missing_roots;
  missing_roots.tls_root_file = "/nonexistent/ca.pem";
  EXPECT_THAT(MakeChannel(missing_roots).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("ca.pem")));
  EXPECT_THAT(MakeCustomerConnection(missing_roots).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MakeChannel(ClientOptions()).status(), IsOk());
}

}  // namespace
}  // namespace partner::client
