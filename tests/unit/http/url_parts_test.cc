#include "server/http/url_parts.h"

#include "gtest/gtest.h"

namespace partner::http {
namespace {

TEST(SplitUrlTest, KeepsSchemeHostAndPathAndDropsQueryAndFragment) {
  const UrlParts parts = SplitUrl("https://api.partnercenter.microsoft.com:443/v1/customers/c1?size=100#top");
  EXPECT_EQ(parts.scheme, "https");
  EXPECT_EQ(parts.host, "api.partnercenter.microsoft.com:443");
  EXPECT_EQ(parts.path, "/v1/customers/c1");
}

TEST(SplitUrlTest, DropsUserInfoSoItCannotReachALog) {
  const UrlParts parts = SplitUrl("https://user:secret@management.azure.com/subscriptions");
  EXPECT_EQ(parts.host, "management.azure.com");
  EXPECT_EQ(parts.path, "/subscriptions");
}

TEST(SplitUrlTest, AnAbsentPathIsTheRoot) {
  EXPECT_EQ(SplitUrl("https://graph.microsoft.com").path, "/");
  EXPECT_EQ(SplitUrl("https://graph.microsoft.com?x=1").path, "/");
  EXPECT_EQ(SplitUrl("https://graph.microsoft.com?x=1").host, "graph.microsoft.com");
  EXPECT_EQ(SplitUrl("https://graph.microsoft.com#f").host, "graph.microsoft.com");
  EXPECT_EQ(SplitUrl("https://graph.microsoft.com/v1.0/users/u?$select=id#f").path, "/v1.0/users/u");
}

TEST(SplitUrlTest, ARelativeOrMalformedUrlYieldsEmptyParts) {
  for (const char* url : {"", "/v1/customers", "graph.microsoft.com/v1.0", "https:/x"}) {
    const UrlParts parts = SplitUrl(url);
    EXPECT_TRUE(parts.scheme.empty()) << url;
    EXPECT_TRUE(parts.host.empty()) << url;
  }
}

}  // namespace
}  // namespace partner::http
