// The shipped mock connection in a user's own test: paging over a mocked CustomerConnection.
#include "client/mocks/mock_customer_connection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "partner/client/customer_client.h"

namespace {

using ::testing::_;
using ::testing::Return;

TEST(ConsumerTest, ListAllCustomersOverTheMockConnection) {
  auto connection = std::make_shared<partner::client::mocks::MockCustomerConnection>();
  partner::v1::ListCustomersResponse first, second;
  first.add_customers()->set_customer_id("a");
  first.set_next_page_token("next");
  second.add_customers()->set_customer_id("b");
  EXPECT_CALL(*connection, ListCustomers(_, _)).WillOnce(Return(first)).WillOnce(Return(second));
  auto all = partner::client::CustomerClient(connection).ListAllCustomers({});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].customer_id(), "b");
}

}  // namespace
