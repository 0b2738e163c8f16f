#include "server/upstream/json.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "absl/strings/str_cat.h"

namespace partner::upstream::json {
namespace {

// The value of "name" in a parsed {"name": ...} body, or "<unparsed>".
std::string NameIn(std::string_view body) {
  Parser parser;
  simdjson::dom::element root;
  simdjson::dom::object object;
  std::string name;
  if (!Parse(parser, body, root) || root.get_object().get(object) != simdjson::SUCCESS ||
      !String(object, "name", Need::kRequired, name)) {
    return "<unparsed>";
  }
  return name;
}

TEST(JsonParserTest, StripsTheBomPartnerCenterSends) {
  EXPECT_EQ(NameIn("\xEF\xBB\xBF{\"name\":\"Contoso\"}"), "Contoso");
}

TEST(JsonParserTest, ParsersHeldAtOnceKeepTheirOwnDocuments) {
  Parser outer;
  simdjson::dom::element outer_root;
  ASSERT_TRUE(Parse(outer, R"({"name":"outer","items":[1,2,3]})", outer_root));
  {
    Parser inner;
    simdjson::dom::element inner_root;
    ASSERT_TRUE(Parse(inner, R"({"name":"inner"})", inner_root));
    EXPECT_EQ(std::string_view(inner_root["name"]), "inner");
  }
  EXPECT_EQ(NameIn(R"({"name":"third"})"), "third");
  EXPECT_EQ(std::string_view(outer_root["name"]), "outer");
  EXPECT_EQ(simdjson::dom::array(outer_root["items"]).size(), 3u);
}

TEST(JsonParserTest, AReusedParserReadsEachBodyAfresh) {
  EXPECT_EQ(NameIn(R"({"name":"a"})"), "a");
  EXPECT_EQ(NameIn(R"({"name":)"), "<unparsed>");
  EXPECT_EQ(NameIn(R"({"name":"b"})"), "b");
  EXPECT_EQ(NameIn(R"({"other":"c"})"), "<unparsed>");
  EXPECT_EQ(NameIn(R"({"name":"d"})"), "d");
}

TEST(JsonParserTest, BodiesLargerThanAKeptParserParseAndLaterSmallOnesStillDo) {
  const std::string large = absl::StrCat(R"({"name":"large","padding":")", std::string(3 << 20, 'x'), R"("})");
  EXPECT_EQ(NameIn(large), "large");
  EXPECT_EQ(NameIn(R"({"name":"small"})"), "small");
  EXPECT_EQ(NameIn(large), "large");
}

TEST(JsonParserTest, EachThreadParsesWithItsOwnParsers) {
  std::string seen_on_thread;
  std::thread other([&] { seen_on_thread = NameIn(R"({"name":"other thread"})"); });
  const std::string seen_here = NameIn(R"({"name":"this thread"})");
  other.join();
  EXPECT_EQ(seen_on_thread, "other thread");
  EXPECT_EQ(seen_here, "this thread");
}

}  // namespace
}  // namespace partner::upstream::json
