#include "server/api/request_validation.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ops/error_reason.h"
#include "tests/testing/status_matchers.h"

namespace partner::api {
namespace {

using ::partner::testing::IsOk;
using ::partner::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kGuid[] = "3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f";

v1::AssignRoleRequest GoodAssign() {
  v1::AssignRoleRequest r;
  r.set_customer_id(kGuid);
  r.set_azure_subscription_id(kGuid);
  r.mutable_principal()->set_user_principal_name("mila.berg@fabrikamtoys.onmicrosoft.com");
  r.mutable_role()->set_role_name("Reader");
  return r;
}

TEST(RequestValidationTest, GoodAssignRolePasses) { EXPECT_THAT(ValidateAssignRole(GoodAssign()), IsOk()); }

TEST(RequestValidationTest, GuidsAreCheckedAndTheFieldIsNamed) {
  EXPECT_THAT(ValidateGuid("customer_id", "3F2C1D4E-5A6B-4C7D-8E9F-0A1B2C3D4E5F"), IsOk());
  for (const char* bad : {"", "3f2c1d4e5a6b4c7d8e9f0a1b2c3d4e5f", "{3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f}",
                          "3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5g", "../../../../etc/passwd0000000000000"}) {
    absl::Status s = ValidateGuid("customer_id", bad);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("customer_id"))) << bad;
    EXPECT_EQ(ops::GetField(s), "customer_id");
    EXPECT_EQ(ops::GetReason(s), v1::ERROR_REASON_INVALID_FIELD);
  }
}

TEST(RequestValidationTest, ResourceGroupsFollowArmRules) {
  for (const std::string& good : {std::string("rg"), std::string("my-rg_1.(prod)"), std::string(90, 'a')}) {
    EXPECT_THAT(ValidateResourceGroup("resource_group", good), IsOk()) << good;
  }
  for (std::string bad : {std::string(), std::string(91, 'a'), std::string("rg."), std::string("a/b"),
                          std::string("a%2Fb"), std::string("a..b"), std::string("r\xc3\xa9sum\xc3\xa9"),
                          std::string("a\r\nb"), std::string("a\0b", 3), std::string("a?b"), std::string("a#b")}) {
    EXPECT_THAT(ValidateResourceGroup("resource_group", bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("resource_group")))
        << bad;
  }
}

TEST(RequestValidationTest, UserPrincipalNames) {
  EXPECT_THAT(ValidateUserPrincipalName("u", "mila.berg@fabrikamtoys.onmicrosoft.com"), IsOk());
  EXPECT_THAT(ValidateUserPrincipalName("u", "guest_contoso.com#EXT#@fabrikam.onmicrosoft.com"), IsOk());
  for (std::string bad : {std::string("no-at-sign"), std::string("@d.com"), std::string("a@nodot"),
                          std::string("a/b@d.com"), std::string("a%2F@d.com"), std::string("a#b@d.com"),
                          std::string("a..b@d.com"), std::string("a\r\n@d.com"), std::string("a?@d.com"),
                          std::string(114, 'a') + "@d.com", std::string("a@") + std::string(260, 'd') + ".com",
                          std::string("\xc3\xa9@d.com")}) {
    EXPECT_THAT(ValidateUserPrincipalName("principal.user_principal_name", bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("user_principal_name")))
        << bad;
  }
}

TEST(RequestValidationTest, RoleNamesAndAssignmentIds) {
  EXPECT_THAT(ValidateRoleName("role.role_name", "Virtual Machine Contributor"), IsOk());
  EXPECT_THAT(ValidateRoleName("role.role_name", "a/b"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateRoleName("role.role_name", std::string(513, 'r')), StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string sub = std::string("/subscriptions/") + kGuid;
  const std::string tail = std::string("/providers/Microsoft.Authorization/roleAssignments/") + kGuid;
  EXPECT_THAT(ValidateRoleAssignmentId("id", sub + tail), IsOk());
  EXPECT_THAT(ValidateRoleAssignmentId("id", sub + "/resourceGroups/rg-1" + tail), IsOk());
  EXPECT_THAT(ValidateRoleAssignmentId("id", sub + "/resourceGroups/../x" + tail),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateRoleAssignmentId("id", sub + tail + "/x"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateRoleAssignmentId("id", sub + "/providers/Microsoft.Authorization/roleAssignments/*"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(RequestValidationTest, AssignRoleNamesNestedFieldsWithPrefix) {
  v1::AssignRoleRequest r = GoodAssign();
  r.clear_role();
  EXPECT_THAT(ValidateAssignRole(r, "items[3]."),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("items[3].role")));
  r = GoodAssign();
  r.set_description(std::string(1025, 'd'));
  EXPECT_THAT(ValidateAssignRole(r), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("description")));
  r = GoodAssign();
  r.set_principal_type(v1::PRINCIPAL_TYPE_GROUP);
  EXPECT_THAT(ValidateAssignRole(r), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("principal_type")));
}

TEST(RequestValidationTest, ListsAndUsers) {
  v1::ListCustomersRequest list;
  list.set_page_size(501);
  EXPECT_THAT(ValidateRequest(list), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
  list.set_page_size(10);
  list.set_domain_prefix("fab/../x");
  EXPECT_THAT(ValidateRequest(list), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("domain_prefix")));
  list.set_company_name_prefix("Fabrikam Toys");
  EXPECT_THAT(ValidateRequest(list), IsOk());

  v1::CreateCustomerUserRequest user;
  user.set_customer_id(kGuid);
  user.set_user_principal_name("new.user@fabrikamtoys.onmicrosoft.com");
  user.set_display_name("New User");
  user.set_usage_location("US");
  EXPECT_THAT(ValidateRequest(user), IsOk());
  user.set_display_name("bad\nname");
  EXPECT_THAT(ValidateRequest(user), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("display_name")));
  user.set_display_name("Zo\xc3\xab");
  user.set_usage_location("USA");
  EXPECT_THAT(ValidateRequest(user), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("usage_location")));

  v1::RevokeRoleRequest revoke;
  revoke.set_customer_id(kGuid);
  EXPECT_THAT(ValidateRequest(revoke), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("target")));

  v1::BatchAssignRolesRequest batch;
  EXPECT_THAT(ValidateRequest(batch), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("items")));
  for (int i = 0; i < kMaxBatchItems + 1; ++i) batch.add_items();
  EXPECT_THAT(ValidateRequest(batch), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most")));
}

}  // namespace
}  // namespace partner::api
