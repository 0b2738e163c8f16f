#include "server/api/parsing_service.h"

#include <grpcpp/support/slice.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "partner/v1/customer_service.pb.h"
#include "tests/testing/status_matchers.h"

namespace partner::api {
namespace {

using ::partner::testing::IsOk;
using ::partner::testing::StatusIs;

grpc::ByteBuffer BufferOf(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

TEST(ParseRequestTest, ParsesAValidRequestAndReleasesTheBuffer) {
  v1::GetCustomerRequest sent;
  sent.set_customer_id("3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f");
  grpc::ByteBuffer buffer = BufferOf(sent.SerializeAsString());
  v1::GetCustomerRequest received;
  EXPECT_THAT(ParseRequest(&buffer, &received), IsOk());
  EXPECT_EQ(received.customer_id(), sent.customer_id());
  EXPECT_FALSE(buffer.Valid());
}

TEST(ParseRequestTest, InvalidUtf8NamesTheFieldAndReleasesTheBuffer) {
  v1::GetCustomerRequest sent;
  sent.set_customer_id("\xFF");
  grpc::ByteBuffer buffer = BufferOf(sent.SerializeAsString());
  v1::GetCustomerRequest received;
  EXPECT_THAT(ParseRequest(&buffer, &received),
              StatusIs(absl::StatusCode::kInvalidArgument, "customer_id: not valid UTF-8"));
  EXPECT_FALSE(buffer.Valid());
}

TEST(ParseRequestTest, NoMessageIsInvalidArgument) {
  grpc::ByteBuffer none;
  v1::GetCustomerRequest received;
  EXPECT_THAT(ParseRequest(&none, &received),
              StatusIs(absl::StatusCode::kInvalidArgument, "the call carried no request message"));
}

}  // namespace
}  // namespace partner::api
