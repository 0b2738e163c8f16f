#include "server/ops/naming.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace partner::ops {
namespace {

TEST(NamingTest, NameBasedUuidMatchesRfc4122Version5) {
  // uuid.uuid5(uuid.NAMESPACE_DNS, "python.org") in Python's standard library.
  EXPECT_EQ(NameBasedUuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org"),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d");
}

TEST(NamingTest, AssignmentNameIsDeterministicAndCaseInsensitive) {
  const std::string a = RoleAssignmentName("/subscriptions/AB/resourceGroups/RG", "P-1", "ROLE");
  EXPECT_EQ(a, RoleAssignmentName("/subscriptions/ab/resourcegroups/rg", "p-1", "role"));
  EXPECT_NE(a, RoleAssignmentName("/subscriptions/ab", "p-1", "role"));
  EXPECT_NE(a, RoleAssignmentName("/subscriptions/ab/resourceGroups/RG", "p-2", "role"));
  EXPECT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '5');
}

TEST(NamingTest, ScopesKindsAndEnums) {
  EXPECT_EQ(ScopeFor("AB-CD", ""), "/subscriptions/ab-cd");
  EXPECT_EQ(ScopeFor("ab", "My-RG"), "/subscriptions/ab/resourceGroups/My-RG");
  EXPECT_EQ(KindForOffer("DZH318Z0BPS6:0001:DZH318Z0BML6"), v1::SUBSCRIPTION_KIND_AZURE_PLAN);
  EXPECT_EQ(KindForOffer("MS-AZR-0145P"), v1::SUBSCRIPTION_KIND_LEGACY_AZURE);
  EXPECT_EQ(KindForOffer("CFQ7TTC0LH18:0001"), v1::SUBSCRIPTION_KIND_LICENSE);
  EXPECT_EQ(StatusFromPartnerCenter("Active"), v1::SUBSCRIPTION_STATUS_ACTIVE);
  EXPECT_EQ(RelationshipFromPartnerCenter("reseller"), v1::CUSTOMER_RELATIONSHIP_RESELLER);
  EXPECT_EQ(PrincipalTypeFromArm("ServicePrincipal"), v1::PRINCIPAL_TYPE_SERVICE_PRINCIPAL);
  EXPECT_EQ(PrincipalTypeToArm(v1::PRINCIPAL_TYPE_UNSPECIFIED), "User");
}

}  // namespace
}  // namespace partner::ops
