#include "server/api/library_log.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace partner::api {
namespace {

TEST(ThrottledLibraryLogTest, OneLinePerIntervalAndTheNextSaysHowManyWereDropped) {
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  ThrottledLibraryLog log(absl::Seconds(10), [&now] { return now; });
  std::optional<std::string> first = log.Admit("protobuf", "error", "String field 'x' contains invalid UTF-8 \"\\xff\"");
  ASSERT_TRUE(first.has_value());
  const nlohmann::json line = nlohmann::json::parse(*first);
  EXPECT_EQ(line["level"], "error");
  EXPECT_EQ(line["msg"], "protobuf");
  EXPECT_EQ(line["detail"], "String field 'x' contains invalid UTF-8 \"\\xff\"");
  EXPECT_EQ(line["droppedSinceLast"], 0);
  for (int i = 0; i < 999; ++i) {
    now += absl::Milliseconds(9);
    EXPECT_FALSE(log.Admit("protobuf", "error", "flood").has_value());
  }
  now += absl::Seconds(2);
  std::optional<std::string> next = log.Admit("protobuf", "warning", "later");
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(nlohmann::json::parse(*next)["droppedSinceLast"], 999);
  EXPECT_FALSE(log.Admit("protobuf", "error", "too soon").has_value());
}

TEST(ThrottledLibraryLogTest, BytesThatAreNotUtf8StillMakeValidJson) {
  ThrottledLibraryLog log(absl::Seconds(10));
  std::optional<std::string> line = log.Admit("protobuf", "error", std::string("bad \xff\xfe bytes"));
  ASSERT_TRUE(line.has_value());
  EXPECT_NO_THROW(nlohmann::json::parse(*line));
}

}  // namespace
}  // namespace partner::api
