#include "server/api/page_token.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ops/error_reason.h"
#include "tests/testing/status_matchers.h"

namespace partner::api {
namespace {

using ::partner::testing::StatusIs;

TEST(PageTokenTest, RoundTripsUnderTheSameKeyAndBinding) {
  PageTokenCodec codec(std::string(32, 'k'));
  const std::string token = codec.Encode("ListCustomers|prefix=fab", "continuation-abc");
  absl::StatusOr<std::string> state = codec.Decode("ListCustomers|prefix=fab", token);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, "continuation-abc");
  EXPECT_EQ(token.find("continuation"), std::string::npos) << "state must not be readable as is";
}

TEST(PageTokenTest, TamperedForeignAndRebound) {
  PageTokenCodec codec(std::string(32, 'k'));
  PageTokenCodec other(std::string(32, 'o'));
  const std::string token = codec.Encode("b", "state");
  std::string tampered = token;
  tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'A' ? 'B' : 'A';
  for (const auto& [binding, t] : std::vector<std::pair<std::string, std::string>>{
           {"b", tampered}, {"other-filter", token}, {"b", "not base64!"}, {"b", ""}}) {
    absl::StatusOr<std::string> state = codec.Decode(binding, t);
    EXPECT_THAT(state, StatusIs(absl::StatusCode::kInvalidArgument)) << t;
    EXPECT_EQ(ops::GetReason(state.status()), v1::ERROR_REASON_INVALID_PAGE_TOKEN);
  }
  EXPECT_THAT(other.Decode("b", token), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PageTokenTest, RandomKeysDiffer) {
  absl::StatusOr<std::string> a = RandomPageTokenKey();
  absl::StatusOr<std::string> b = RandomPageTokenKey();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace partner::api
