#include "emulator/json_text.h"

#include <cstdint>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace partner::emulator {
namespace {

using nlohmann::json;

// What every body written by JsonText must equal, byte for byte.
std::string Dumped(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

TEST(JsonTextTest, WritesAPartnerCenterShapedBodyAsDumpDoes) {
  const json body = {
      {"totalCount", 2},
      {"items",
       {{{"id", "7c0c5c3e-1b2a-4c8d-9e0f-1a2b3c4d5e6f"},
         {"companyProfile", {{"companyName", "Fabrikam \"UK\" Ltd\\Leeds"}, {"domain", "fabrikam.onmicrosoft.com"}}},
         {"allowDelegatedAccess", true},
         {"customDomains", json::array()},
         {"attributes", json::object()}},
        {{"id", nullptr}, {"quantity", -3}, {"big", std::uint64_t{18446744073709551615u}}, {"rate", 0.25}}}},
      {"links", {{"self", {{"uri", "/v1/customers?size=2"}, {"method", "GET"}, {"headers", json::array()}}}}}};
  EXPECT_EQ(JsonText(body), Dumped(body));
  EXPECT_EQ(JsonText(json::object()), "{}");
  EXPECT_EQ(JsonText(json::array({json::array(), json::object(), 1.5, false})), "[[],{},1.5,false]");
}

TEST(JsonTextTest, EscapesEveryAsciiCharacterAsDumpDoes) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  const json value = {{all, all}};
  EXPECT_EQ(JsonText(value), Dumped(value));
  EXPECT_EQ(JsonText("\b\f\n\r\t\x01\x1f\x7f/"), R"("\b\f\n\r\t\u0001\u001f)" "\x7f" R"(/")");
}

TEST(JsonTextTest, KeepsWellFormedUtf8AsItIs) {
  const std::string text = "Zürich, 日本, \xF0\x9F\x94\x91, U+10FFFF \xF4\x8F\xBF\xBF";
  EXPECT_EQ(JsonText(text), "\"" + text + "\"");
}

TEST(JsonTextTest, WritesEachIllFormedSequenceAsOneReplacementCharacter) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(JsonText("a\xFF" "b"), "\"a" + fffd + "b\"");
  EXPECT_EQ(JsonText("a\xE2\x82"), "\"a" + fffd + "\"") << "truncated at the end";
  EXPECT_EQ(JsonText("\xE2\x82" "b"), "\"" + fffd + "b\"") << "the byte that breaks a sequence is read again";
  EXPECT_EQ(JsonText("\xC0\xAF"), "\"" + fffd + fffd + "\"") << "overlong";
  EXPECT_EQ(JsonText("\xED\xA0\x80"), "\"" + fffd + fffd + fffd + "\"") << "surrogate";
  EXPECT_EQ(JsonText("\xF4\x90\x80\x80"), "\"" + fffd + fffd + fffd + fffd + "\"") << "past U+10FFFF";
}

TEST(JsonTextTest, MatchesDumpOnRandomBytes) {
  // Plain runs (which JsonText skips eight bytes at a time) between bytes with rules: escapes,
  // lead and continuation bytes, the bounds of table 3-7.
  const unsigned char interesting[] = {'"', '\\', '\n', 0x00, 0x1F, 0x20, 0x7E, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0,
                                       0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
  std::mt19937 random(20261201);
  std::uniform_int_distribution<int> length(0, 40);
  std::uniform_int_distribution<int> plain_or_not(0, 3);
  std::uniform_int_distribution<std::size_t> pick(0, sizeof interesting - 1);
  std::uniform_int_distribution<int> letter('!', '~');
  for (int round = 0; round < 50000; ++round) {
    std::string text;
    for (int n = length(random); n > 0; --n) {
      text.push_back(plain_or_not(random) == 0 ? static_cast<char>(interesting[pick(random)])
                                               : static_cast<char>(letter(random)));
    }
    ASSERT_EQ(JsonText(text), Dumped(text)) << "round " << round;
  }
}

}  // namespace
}  // namespace partner::emulator
