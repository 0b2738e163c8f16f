// The connections over the generated mock stubs: which RPCs are retried, deadlines, metadata,
// and the error details a failed call keeps.
#include <grpcpp/test/client_context_test_peer.h>
#include <grpcpp/test/mock_stream.h>

#include <chrono>
#include <memory>

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "partner/client/access_connection.h"
#include "partner/client/customer_connection.h"
#include "partner/client/error_details.h"
#include "partner/client/subscription_connection.h"
#include "partner/v1/access_service_mock.grpc.pb.h"
#include "partner/v1/customer_service_mock.grpc.pb.h"
#include "partner/v1/subscription_service_mock.grpc.pb.h"
#include "tests/testing/status_matchers.h"

namespace partner::client {
namespace {

using ::partner::testing::IsOk;
using ::partner::testing::StatusIs;
using ::testing::_;
using ::testing::Return;

const grpc::Status kUnavailable(grpc::StatusCode::UNAVAILABLE, "try again");

ClientOptions FastRetries(int max_attempts = 3) {
  ClientOptions options;
  options.retry.max_attempts = max_attempts;
  options.retry.initial_backoff = std::chrono::milliseconds(1);
  options.retry.max_backoff = std::chrono::milliseconds(2);
  return options;
}

TEST(CustomerConnectionTest, ReadRetriedOnUnavailableThenSucceeds) {
  auto stub = std::make_shared<v1::MockCustomerServiceStub>();
  EXPECT_CALL(*stub, ListCustomers(_, _, _))
      .WillOnce(Return(kUnavailable))
      .WillOnce(Return(kUnavailable))
      .WillOnce([](grpc::ClientContext*, const v1::ListCustomersRequest&,
                   v1::ListCustomersResponse* response) {
        response->add_customers()->set_customer_id("c1");
        return grpc::Status::OK;
      });
  auto connection = MakeCustomerConnection(stub, FastRetries());
  absl::StatusOr<v1::ListCustomersResponse> response = connection->ListCustomers({}, {});
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_EQ(response->customers(0).customer_id(), "c1");
}

TEST(CustomerConnectionTest, ReadGivesUpAfterMaxAttempts) {
  auto stub = std::make_shared<v1::MockCustomerServiceStub>();
  EXPECT_CALL(*stub, GetCustomer(_, _, _)).Times(3).WillRepeatedly(Return(kUnavailable));
  auto connection = MakeCustomerConnection(stub, FastRetries(3));
  EXPECT_THAT(connection->GetCustomer({}, {}).status(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(CustomerConnectionTest, PerCallMaxAttemptsOverridesTheClients) {
  auto stub = std::make_shared<v1::MockCustomerServiceStub>();
  EXPECT_CALL(*stub, GetCustomer(_, _, _)).Times(1).WillRepeatedly(Return(kUnavailable));
  auto connection = MakeCustomerConnection(stub, FastRetries(5));
  CallOptions call;
  call.max_attempts = 1;
  EXPECT_THAT(connection->GetCustomer({}, call).status(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(CustomerConnectionTest, PermanentErrorIsNotRetried) {
  auto stub = std::make_shared<v1::MockCustomerServiceStub>();
  EXPECT_CALL(*stub, GetCustomer(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::NOT_FOUND, "no such customer")));
  auto connection = MakeCustomerConnection(stub, FastRetries());
  EXPECT_THAT(connection->GetCustomer({}, {}).status(),
              StatusIs(absl::StatusCode::kNotFound, "no such customer"));
}

TEST(CustomerConnectionTest, CreateCustomerUserIsNeverRetried) {
  auto stub = std::make_shared<v1::MockCustomerServiceStub>();
  EXPECT_CALL(*stub, CreateCustomerUser(_, _, _)).WillOnce(Return(kUnavailable));
  auto connection = MakeCustomerConnection(stub, FastRetries());
  EXPECT_THAT(connection->CreateCustomerUser({}, {}).status(),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(AccessConnectionTest, AssignAndRevokeAreNeverRetriedButListsAre) {
  auto stub = std::make_shared<v1::MockAccessServiceStub>();
  EXPECT_CALL(*stub, AssignRole(_, _, _)).WillOnce(Return(kUnavailable));
  EXPECT_CALL(*stub, RevokeRole(_, _, _)).WillOnce(Return(kUnavailable));
  EXPECT_CALL(*stub, ListRoleAssignments(_, _, _)).Times(3).WillRepeatedly(Return(kUnavailable));
  EXPECT_CALL(*stub, ListRoleDefinitions(_, _, _)).Times(3).WillRepeatedly(Return(kUnavailable));
  auto connection = MakeAccessConnection(stub, FastRetries(3));
  EXPECT_THAT(connection->AssignRole({}, {}).status(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(connection->RevokeRole({}, {}).status(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(connection->ListRoleAssignments({}, {}).status(),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(connection->ListRoleDefinitions({}, {}).status(),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(SubscriptionConnectionTest, EveryRpcIsARetriedRead) {
  auto stub = std::make_shared<v1::MockSubscriptionServiceStub>();
  EXPECT_CALL(*stub, ListSubscriptions(_, _, _)).Times(2).WillRepeatedly(Return(kUnavailable));
  EXPECT_CALL(*stub, GetSubscription(_, _, _)).Times(2).WillRepeatedly(Return(kUnavailable));
  EXPECT_CALL(*stub, ListAzureSubscriptions(_, _, _)).Times(2).WillRepeatedly(Return(kUnavailable));
  auto connection = MakeSubscriptionConnection(stub, FastRetries(2));
  EXPECT_FALSE(connection->ListSubscriptions({}, {}).ok());
  EXPECT_FALSE(connection->GetSubscription({}, {}).ok());
  EXPECT_FALSE(connection->ListAzureSubscriptions({}, {}).ok());
}

// The deadline of the client's options, or the call's, on every attempt.
std::chrono::milliseconds DeadlineSeen(const ClientOptions& options, const CallOptions& call) {
  auto stub = std::make_shared<v1::MockCustomerServiceStub>();
  std::chrono::system_clock::time_point deadline;
  EXPECT_CALL(*stub, GetCustomer(_, _, _))
      .WillOnce([&](grpc::ClientContext* context, auto&, auto*) {
        deadline = context->deadline();
        return grpc::Status::OK;
      });
  const auto start = std::chrono::system_clock::now();
  EXPECT_THAT(MakeCustomerConnection(stub, options)->GetCustomer({}, call).status(), IsOk());
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - start);
}

TEST(CustomerConnectionTest, DefaultDeadlineApplied) {
  ClientOptions options;
  options.default_timeout = std::chrono::seconds(7);
  const auto seen = DeadlineSeen(options, {});
  EXPECT_GE(seen, std::chrono::milliseconds(6000));
  EXPECT_LE(seen, std::chrono::milliseconds(7000));
}

TEST(CustomerConnectionTest, PerCallDeadlineOverridesTheDefault) {
  ClientOptions options;
  options.default_timeout = std::chrono::seconds(30);
  CallOptions call;
  call.timeout = std::chrono::seconds(2);
  const auto seen = DeadlineSeen(options, call);
  EXPECT_GE(seen, std::chrono::milliseconds(1000));
  EXPECT_LE(seen, std::chrono::milliseconds(2000));
}

TEST(CustomerConnectionTest, RetriesShareOneDeadlineAndStopBeforeIt) {
  auto stub = std::make_shared<v1::MockCustomerServiceStub>();
  std::vector<std::chrono::system_clock::time_point> deadlines;
  EXPECT_CALL(*stub, ListCustomers(_, _, _))
      .WillRepeatedly([&](grpc::ClientContext* context, auto&, auto*) {
        deadlines.push_back(context->deadline());
        return kUnavailable;
      });
  ClientOptions options = FastRetries(10);
  options.retry.initial_backoff = std::chrono::milliseconds(600);
  options.retry.max_backoff = std::chrono::milliseconds(600);
  CallOptions call;
  call.timeout = std::chrono::seconds(1);
  // Waits of 300-600 ms: two to four attempts fit in one second, never the ten allowed, which
  // would take at least 2.7 s. The slack above the deadline absorbs a loaded machine's scheduling.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(MakeCustomerConnection(stub, options)->ListCustomers({}, call).status(),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
  ASSERT_GE(deadlines.size(), 2u);
  ASSERT_LE(deadlines.size(), 4u);
  EXPECT_EQ(deadlines.front(), deadlines.back());
}

TEST(CustomerConnectionTest, SendsBearerTokenAndCorrelationId) {
  auto stub = std::make_shared<v1::MockCustomerServiceStub>();
  std::multimap<std::string, std::string> sent;
  EXPECT_CALL(*stub, GetCustomer(_, _, _))
      .WillOnce([&](grpc::ClientContext* context, auto&, auto*) {
        sent = grpc::testing::ClientContextTestPeer(context).GetSendInitialMetadata();
        return grpc::Status::OK;
      });
  ClientOptions options;
  options.bearer_token = "tok123";
  CallOptions call;
  call.correlation_id = "corr-7";
  EXPECT_THAT(MakeCustomerConnection(stub, options)->GetCustomer({}, call).status(), IsOk());
  EXPECT_THAT(sent, ::testing::Contains(std::pair<const std::string, std::string>(
                        "authorization", "Bearer tok123")));
  EXPECT_THAT(sent, ::testing::Contains(
                        std::pair<const std::string, std::string>("x-correlation-id", "corr-7")));
}

TEST(CustomerConnectionTest, AttemptsOfOneCallShareAGeneratedCorrelationId) {
  auto stub = std::make_shared<v1::MockCustomerServiceStub>();
  std::vector<std::string> ids;
  auto record = [&](grpc::ClientContext* context, auto&, auto*) {
    auto sent = grpc::testing::ClientContextTestPeer(context).GetSendInitialMetadata();
    auto it = sent.find("x-correlation-id");
    ids.push_back(it == sent.end() ? "" : it->second);
    return ids.size() >= 2 ? grpc::Status::OK : kUnavailable;
  };
  EXPECT_CALL(*stub, ListCustomers(_, _, _)).Times(3).WillRepeatedly(record);
  auto connection = MakeCustomerConnection(stub, FastRetries());
  EXPECT_THAT(connection->ListCustomers({}, {}).status(), IsOk());
  EXPECT_THAT(connection->ListCustomers({}, {}).status(), IsOk());
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_THAT(ids[0], ::testing::MatchesRegex(
                          "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_EQ(ids[0], ids[1]) << "a retry must keep the call's correlation id";
  EXPECT_NE(ids[1], ids[2]) << "another call gets another id";
}

TEST(CustomerConnectionTest, FailedCallKeepsTheRichErrorDetails) {
  google::rpc::ErrorInfo info;
  info.set_reason("ERROR_REASON_NOT_FOUND");
  info.set_domain("partner-gateway.v1");
  (*info.mutable_metadata())["correlationId"] = "abc";
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_seconds(2);
  retry.mutable_retry_delay()->set_nanos(500000000);
  google::rpc::Status details;
  details.set_code(5);
  details.add_details()->PackFrom(info);
  details.add_details()->PackFrom(retry);
  const grpc::Status failure(grpc::StatusCode::NOT_FOUND, "customer not found",
                             details.SerializeAsString());

  auto stub = std::make_shared<v1::MockCustomerServiceStub>();
  EXPECT_CALL(*stub, GetCustomer(_, _, _)).WillOnce(Return(failure));
  absl::Status status = MakeCustomerConnection(stub, {})->GetCustomer({}, {}).status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound, "customer not found"));
  const ErrorDetails decoded = DecodeErrorDetails(status);
  EXPECT_EQ(decoded.reason, "ERROR_REASON_NOT_FOUND");
  EXPECT_EQ(decoded.domain, "partner-gateway.v1");
  EXPECT_EQ(decoded.Metadata("correlationId"), "abc");
  EXPECT_EQ(decoded.retry_delay, std::chrono::milliseconds(2500));
  EXPECT_EQ(DecodeErrorDetails(failure).reason, "ERROR_REASON_NOT_FOUND");
  EXPECT_EQ(DecodeErrorDetails(absl::NotFoundError("plain")).reason, "");
}

TEST(AccessConnectionTest, BatchStreamsEveryMessageAndIsNotRetried) {
  auto stub = std::make_shared<v1::MockAccessServiceStub>();
  auto* reader = new grpc::testing::MockClientReader<v1::BatchAssignRolesResponse>();
  v1::BatchAssignRolesResponse item, summary;
  item.mutable_item()->set_index(0);
  summary.mutable_summary()->set_created(1);
  EXPECT_CALL(*reader, Read(_))
      .WillOnce([&](auto* m) {
        *m = item;
        return true;
      })
      .WillOnce([&](auto* m) {
        *m = summary;
        return true;
      })
      .WillOnce(Return(false));
  EXPECT_CALL(*reader, Finish()).WillOnce(Return(kUnavailable));
  EXPECT_CALL(*stub, BatchAssignRolesRaw(_, _)).WillOnce(Return(reader));
  std::vector<v1::BatchAssignRolesResponse> seen;
  absl::Status status =
      MakeAccessConnection(stub, FastRetries())
          ->BatchAssignRoles({}, [&](const v1::BatchAssignRolesResponse& m) { seen.push_back(m); },
                             {});
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[1].has_summary());
}

}  // namespace
}  // namespace partner::client
