#include "server/common/json_string.h"

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace partner {
namespace {

std::string Literal(absl::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

TEST(JsonStringTest, PlainTextIsQuotedAsItIs) {
  EXPECT_EQ(Literal(""), R"("")");
  EXPECT_EQ(Literal("pc.get_customer"), R"("pc.get_customer")");
  EXPECT_EQ(Literal("/v1/customers/8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418"),
            R"("/v1/customers/8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418")");
  EXPECT_EQ(Literal("del \x7f stays"), "\"del \x7f stays\"");
}

TEST(JsonStringTest, EachCharacterThatNeedsAnEscapeIsFoundAtEveryOffset) {
  // Text is checked eight bytes at a time: put each special character at every position of
  // strings long enough for several words, and read the literal back.
  const std::string specials[] = {"\"", "\\", "\n", "\r", "\t", std::string(1, '\0'), "\x01", "\x1f", "\xC3\xA9",
                                  "\xF0\x9F\x94\x91"};
  for (const std::string& special : specials) {
    for (std::size_t at = 0; at <= 24; ++at) {
      for (std::size_t length : {at, at + 1, at + 7, at + 8, at + 17}) {
        std::string text(length, 'a');
        text.insert(at, special);
        const std::string literal = Literal(text);
        ASSERT_TRUE(nlohmann::json::accept(literal)) << literal;
        ASSERT_EQ(nlohmann::json::parse(literal), text) << "at " << at << " of " << text.size();
        ASSERT_EQ(literal.find('\n'), std::string::npos) << "a log line must stay one line";
      }
    }
  }
}

TEST(JsonStringTest, ControlCharactersWithoutAShortFormAreWrittenAsUnicodeEscapes) {
  EXPECT_EQ(Literal(std::string("a\0b\x1b", 4)), R"("a\u0000b\u001b")");
  EXPECT_EQ(Literal("q\"b\\n\nr\rt\t"), R"("q\"b\\n\nr\rt\t")");
}

TEST(JsonStringTest, BytesThatStartNoWellFormedSequenceBecomeReplacementCharacters) {
  const std::string replacement = "\xEF\xBF\xBD";
  for (std::size_t at = 0; at <= 16; ++at) {
    std::string text(20, 'a');
    text[at] = '\xFF';
    std::string expected = text;
    expected.replace(at, 1, replacement);
    const std::string literal = Literal(text);
    ASSERT_TRUE(nlohmann::json::accept(literal)) << literal;
    EXPECT_EQ(nlohmann::json::parse(literal), expected) << "at " << at;
  }
  EXPECT_EQ(nlohmann::json::parse(Literal("\xC0\xAF")), replacement + replacement) << "overlong '/'";
  EXPECT_EQ(nlohmann::json::parse(Literal("\xED\xA0\x80")), replacement + replacement + replacement)
      << "UTF-16 surrogate";
}

TEST(JsonStringTest, MillisecondsAreRoundedHalfAwayFromZeroToTheDecimalsAsked) {
  const struct {
    absl::Duration value;
    int decimals;
    std::string text;
  } cases[] = {
      {absl::ZeroDuration(), 3, "0.000"},
      {absl::Nanoseconds(499), 3, "0.000"},
      {absl::Nanoseconds(500), 3, "0.001"},
      {absl::Milliseconds(12) + absl::Microseconds(45), 3, "12.045"},
      {-absl::Microseconds(2500), 3, "-2.500"},
      {-absl::Nanoseconds(400), 3, "0.000"},
      {absl::Seconds(90061), 3, "90061000.000"},
      {absl::Microseconds(49), 1, "0.0"},
      {absl::Microseconds(50), 1, "0.1"},
      {absl::Milliseconds(30) + absl::Microseconds(960), 1, "31.0"},
      {absl::Microseconds(1500), 0, "2"},
      {absl::Nanoseconds(1234567), 6, "1.234567"},
  };
  for (const auto& c : cases) {
    std::string out = "x";
    AppendMilliseconds(out, c.value, c.decimals);
    EXPECT_EQ(out, "x" + c.text) << c.value << " at " << c.decimals;
  }
}

}  // namespace
}  // namespace partner
