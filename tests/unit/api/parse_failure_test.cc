#include "server/api/parse_failure.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "partner/v1/access_service.pb.h"
#include "partner/v1/customer_service.pb.h"
#include "server/ops/error_reason.h"
#include "tests/testing/status_matchers.h"

namespace partner::api {
namespace {

using ::partner::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Optional;

constexpr char kGuid[] = "3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f";

// An overlong '/', a lone surrogate, a byte never in UTF-8, a cut sequence.
const std::vector<std::string>& BadUtf8() {
  static const auto* v = new std::vector<std::string>{"\xC0\xAF", "\xED\xA0\x80", "\xFF", "ab\xE2\x82"};
  return *v;
}

v1::AssignRoleRequest GoodAssign() {
  v1::AssignRoleRequest r;
  r.set_customer_id(kGuid);
  r.set_azure_subscription_id(kGuid);
  r.mutable_principal()->set_user_principal_name("mila.berg@fabrikamtoys.onmicrosoft.com");
  r.mutable_role()->set_role_name("Reader");
  r.set_description("Granted by the helpdesk");
  return r;
}

// The wire bytes of `message`, which C++ serializes even when a string holds invalid UTF-8.
template <class Message>
std::string Wire(const Message& message) {
  std::string wire;
  EXPECT_TRUE(message.SerializeToString(&wire));
  return wire;
}

TEST(ParseFailureTest, NamesTheTopLevelStringTheParserRefused) {
  for (const std::string& bad : BadUtf8()) {
    v1::GetCustomerRequest request;
    request.set_customer_id(absl::StrCat(kGuid, bad));
    const std::string wire = Wire(request);
    ASSERT_FALSE(v1::GetCustomerRequest().ParseFromString(wire)) << absl::CHexEscape(bad);
    EXPECT_THAT(FindInvalidUtf8Field(*v1::GetCustomerRequest::descriptor(), wire), Optional(std::string("customer_id")));
  }
}

TEST(ParseFailureTest, ValidUtf8IsNeverNamed) {
  v1::AssignRoleRequest request = GoodAssign();
  request.set_description("R\xC3\xA9sum\xC3\xA9 \xF0\x9F\x98\x80 \xE2\x80\xAE \xEF\xBC\x8F");
  const std::string wire = Wire(request);
  ASSERT_TRUE(v1::AssignRoleRequest().ParseFromString(wire));
  EXPECT_EQ(FindInvalidUtf8Field(*v1::AssignRoleRequest::descriptor(), wire), std::nullopt);
}

TEST(ParseFailureTest, NamesNestedFieldsByTheirPath) {
  v1::AssignRoleRequest assign = GoodAssign();
  assign.mutable_principal()->set_user_principal_name("mila\xFF@fabrikam.com");
  EXPECT_THAT(FindInvalidUtf8Field(*v1::AssignRoleRequest::descriptor(), Wire(assign)),
              Optional(std::string("principal.user_principal_name")));

  v1::RevokeRoleRequest revoke;
  revoke.set_customer_id(kGuid);
  revoke.mutable_triple()->set_azure_subscription_id(kGuid);
  revoke.mutable_triple()->mutable_principal()->set_object_id("\xED\xA0\x80");
  revoke.mutable_triple()->mutable_role()->set_role_name("Reader");
  EXPECT_THAT(FindInvalidUtf8Field(*v1::RevokeRoleRequest::descriptor(), Wire(revoke)),
              Optional(std::string("triple.principal.object_id")));
}

TEST(ParseFailureTest, NamesTheElementOfARepeatedField) {
  v1::BatchAssignRolesRequest batch;
  *batch.add_items() = GoodAssign();
  *batch.add_items() = GoodAssign();
  *batch.add_items() = GoodAssign();
  batch.mutable_items(2)->mutable_role()->set_role_name("Rea\xC0\xAF" "der");
  EXPECT_THAT(FindInvalidUtf8Field(*v1::BatchAssignRolesRequest::descriptor(), Wire(batch)),
              Optional(std::string("items[2].role.role_name")));
}

TEST(ParseFailureTest, TheFirstBadFieldOnTheWireIsNamed) {
  v1::AssignRoleRequest request = GoodAssign();
  request.set_description("\xFF");
  request.set_azure_subscription_id("\xFF");
  // Fields go on the wire in field-number order: azure_subscription_id before description.
  EXPECT_THAT(FindInvalidUtf8Field(*v1::AssignRoleRequest::descriptor(), Wire(request)),
              Optional(std::string("azure_subscription_id")));
}

TEST(ParseFailureTest, UnknownFieldsAreNotChecked) {
  v1::GetCustomerRequest request;
  request.set_customer_id(kGuid);
  // Field 99, length-delimited (wire type 2), one byte 0xFF: kept as unknown bytes by the parser.
  const std::string wire = Wire(request) + std::string("\x9A\x06\x01\xFF", 4);
  ASSERT_TRUE(v1::GetCustomerRequest().ParseFromString(wire));
  EXPECT_EQ(FindInvalidUtf8Field(*v1::GetCustomerRequest::descriptor(), wire), std::nullopt);
}

TEST(ParseFailureTest, ParseFailureIsInvalidArgumentTaggedWithTheField) {
  v1::AssignRoleRequest request = GoodAssign();
  request.mutable_role()->set_role_name("\xFF");
  absl::Status status = ParseFailure(*v1::AssignRoleRequest::descriptor(), Wire(request));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, "role.role_name: not valid UTF-8"));
  EXPECT_EQ(ops::GetField(status), "role.role_name");
  EXPECT_EQ(ops::GetReason(status), v1::ERROR_REASON_INVALID_FIELD);
}

TEST(ParseFailureTest, MalformedBytesAreInvalidArgumentNamingTheType) {
  v1::GetCustomerRequest request;
  request.set_customer_id(kGuid);
  const std::string wire = Wire(request);
  for (const std::string& broken : {wire.substr(0, wire.size() - 3), std::string("\x0A\x7F"), std::string("\xFF\xFF\xFF")}) {
    ASSERT_FALSE(v1::GetCustomerRequest().ParseFromString(broken)) << absl::CHexEscape(broken);
    EXPECT_EQ(FindInvalidUtf8Field(*v1::GetCustomerRequest::descriptor(), broken), std::nullopt);
    EXPECT_THAT(ParseFailure(*v1::GetCustomerRequest::descriptor(), broken),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("not a valid partner.v1.GetCustomerRequest message")));
  }
}

}  // namespace
}  // namespace partner::api
