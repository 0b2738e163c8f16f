#include "server/api/json_line.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace partner::api {
namespace {

using ::testing::StartsWith;

TEST(JsonLineTest, FieldsKeepTheirOrderAndTypes) {
  JsonLine line;
  line.String("msg", "rpc").Bool("validateOnly", true).Integer("dropped", -42).Milliseconds("latencyMs",
                                                                                             absl::Microseconds(1500));
  const std::string text = std::move(line).Finish();
  EXPECT_EQ(text, R"({"msg":"rpc","validateOnly":true,"dropped":-42,"latencyMs":1.500})");
  EXPECT_TRUE(nlohmann::json::accept(text));
}

TEST(JsonLineTest, AnEmptyLineIsAnEmptyObject) { EXPECT_EQ(JsonLine().Finish(), "{}"); }

TEST(JsonLineTest, AnInfiniteDurationIsNull) {
  JsonLine line;
  line.Milliseconds("latencyMs", absl::InfiniteDuration());
  EXPECT_EQ(std::move(line).Finish(), R"({"latencyMs":null})");
}

TEST(JsonLineTest, MillisecondsAreRoundedToTheMicrosecond) {
  const std::pair<absl::Duration, std::string> cases[] = {
      {absl::ZeroDuration(), "0.000"},
      {absl::Nanoseconds(499), "0.000"},
      {absl::Nanoseconds(500), "0.001"},
      {absl::Microseconds(1), "0.001"},
      {absl::Microseconds(1999) + absl::Nanoseconds(700), "2.000"},
      {absl::Milliseconds(12) + absl::Microseconds(45), "12.045"},
      {absl::Seconds(90061), "90061000.000"},
      {-absl::Microseconds(2500), "-2.500"},
      {-absl::Nanoseconds(400), "0.000"},
  };
  for (const auto& [duration, text] : cases) {
    JsonLine line;
    line.Milliseconds("ms", duration);
    EXPECT_EQ(std::move(line).Finish(), absl::StrCat(R"({"ms":)", text, "}")) << duration;
  }
}

TEST(JsonLineTest, TimesReadAsAbslWritesRfc3339InUtc) {
  // The same second twice and seconds apart, with every length of fraction: each thread keeps the
  // calendar part of the last second it wrote.
  const absl::Time base = absl::FromUnixSeconds(1700000000);
  const absl::Time cases[] = {base,
                              base + absl::Nanoseconds(1),
                              base + absl::Nanoseconds(120),
                              base + absl::Milliseconds(5),
                              base + absl::Nanoseconds(999999999),
                              base + absl::Seconds(1),
                              base - absl::Nanoseconds(1),
                              base + absl::Hours(24 * 366) + absl::Microseconds(123456),
                              absl::FromUnixSeconds(-1) + absl::Milliseconds(250),
                              absl::UnixEpoch(),
                              absl::InfiniteFuture(),
                              absl::InfinitePast()};
  for (const absl::Time time : cases) {
    JsonLine line;
    line.Time("time", time);
    EXPECT_EQ(nlohmann::json::parse(std::move(line).Finish())["time"],
              absl::FormatTime(absl::RFC3339_full, time, absl::UTCTimeZone()));
  }
}

TEST(JsonLineTest, EscapedTextReadsBackUnchanged) {
  const std::string text = std::string("quote \" backslash \\ newline \n cr \r tab \t nul ") +
                           std::string(1, '\0') + " bell \x07 esc \x1b del \x7f end";
  JsonLine line;
  line.String("detail", text);
  const std::string out = std::move(line).Finish();
  EXPECT_EQ(out.find('\n'), std::string::npos) << "a record must stay on one line";
  EXPECT_EQ(nlohmann::json::parse(out)["detail"], text);
}

TEST(JsonLineTest, WellFormedUtf8IsKeptAsItIs) {
  const std::string text = "Zürich, 日本, \xF0\x9F\x94\x91, U+10FFFF \xF4\x8F\xBF\xBF";
  JsonLine line;
  line.String("caller", text);
  const std::string out = std::move(line).Finish();
  EXPECT_EQ(out, "{\"caller\":\"" + text + "\"}");
  EXPECT_EQ(nlohmann::json::parse(out)["caller"], text);
}

TEST(JsonLineTest, EachByteThatStartsNoWellFormedSequenceBecomesAReplacementCharacter) {
  const std::string replacement = "\xEF\xBF\xBD";
  const struct {
    std::string in;
    std::string out;
  } cases[] = {
      {"a\xFF" "b", "a" + replacement + "b"},                                  // never valid
      {"a\xE2\x82", "a" + replacement + replacement},                         // cut short at the end
      {"\xE2\x82" "x", replacement + replacement + "x"},                      // cut short in the middle
      {"\xC0\xAF", replacement + replacement},                                // overlong '/'
      {"\xE0\x80\xAF", replacement + replacement + replacement},              // overlong, 3 bytes
      {"\xED\xA0\x80", replacement + replacement + replacement},              // UTF-16 surrogate
      {"\xF4\x90\x80\x80", replacement + replacement + replacement + replacement},  // above U+10FFFF
      {"\x80" "ok", replacement + "ok"},                                       // lone continuation
  };
  for (const auto& c : cases) {
    JsonLine line;
    line.String("detail", c.in);
    const std::string out = std::move(line).Finish();
    ASSERT_TRUE(nlohmann::json::accept(out)) << out;
    EXPECT_EQ(nlohmann::json::parse(out)["detail"], c.out) << out;
  }
}

TEST(JsonLineTest, NamesAreEscapedToo) {
  JsonLine line;
  line.String("we\"ird", "v");
  EXPECT_THAT(std::move(line).Finish(), StartsWith(R"({"we\"ird":)"));
}

}  // namespace
}  // namespace partner::api
