#include "server/upstream/json.h"

#include <cstdint>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace partner::upstream::json {
namespace {

using simdjson::dom::element;

// The field's element; nullopt when missing or null (upstreams write both for "no value").
std::optional<element> Find(simdjson::dom::object object, std::string_view key) {
  element value;
  if (object.at_key(key).get(value) != simdjson::SUCCESS || value.is_null()) return std::nullopt;
  return value;
}

// Parsers are kept up to this document capacity, above the pages the clients ask for; a parser
// grown for a larger body would otherwise hold several times its size for the thread's life.
constexpr std::size_t kKeptParserCapacity = 1 << 20;
// More than one parser per thread only when parses nest (an error body read while a page is held).
constexpr std::size_t kKeptParsersPerThread = 4;

std::vector<std::unique_ptr<simdjson::dom::parser>>& ThreadParsers() {
  thread_local std::vector<std::unique_ptr<simdjson::dom::parser>> parsers;
  return parsers;
}

}  // namespace

Parser::Parser() {
  std::vector<std::unique_ptr<simdjson::dom::parser>>& kept = ThreadParsers();
  if (kept.empty()) {
    parser_ = std::make_unique<simdjson::dom::parser>();
  } else {
    parser_ = std::move(kept.back());
    kept.pop_back();
  }
}

Parser::~Parser() {
  std::vector<std::unique_ptr<simdjson::dom::parser>>& kept = ThreadParsers();
  if (parser_->capacity() <= kKeptParserCapacity && kept.size() < kKeptParsersPerThread) {
    kept.push_back(std::move(parser_));
  }
}

bool Parse(Parser& parser, std::string_view body, element& out) {
  std::string_view text = body;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  return parser.parser_->parse(text.data(), text.size(), true).get(out) == simdjson::SUCCESS;
}

bool String(simdjson::dom::object object, std::string_view key, Need need, std::string& out) {
  const std::optional<element> value = Find(object, key);
  if (!value.has_value()) return need == Need::kOptional;
  std::string_view text;
  if (value->get_string().get(text) != simdjson::SUCCESS) return false;
  out.assign(text);
  return true;
}

bool Bool(simdjson::dom::object object, std::string_view key, Need need, std::optional<bool>& out) {
  const std::optional<element> value = Find(object, key);
  if (!value.has_value()) return need == Need::kOptional;
  bool b = false;
  if (value->get_bool().get(b) != simdjson::SUCCESS) return false;
  out = b;
  return true;
}

bool Int(simdjson::dom::object object, std::string_view key, Need need, int& out) {
  const std::optional<element> value = Find(object, key);
  if (!value.has_value()) return need == Need::kOptional;
  int64_t n = 0;
  std::string_view text;
  if (value->get_int64().get(n) == simdjson::SUCCESS) {
    if (n < INT32_MIN || n > INT32_MAX) return false;
    out = static_cast<int>(n);
    return true;
  }
  if (value->get_string().get(text) == simdjson::SUCCESS) return absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &out);
  return false;
}

bool Time(simdjson::dom::object object, std::string_view key, Need need, std::optional<absl::Time>& out) {
  const std::optional<element> value = Find(object, key);
  if (!value.has_value()) return need == Need::kOptional;
  std::string_view text;
  if (value->get_string().get(text) != simdjson::SUCCESS) return false;
  const absl::string_view input(text.data(), text.size());
  absl::Time t;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, input, &t, &error) ||
      absl::ParseTime("%Y-%m-%d%ET%H:%M:%E*S", input, absl::UTCTimeZone(), &t, &error)) {
    out = t;
    return true;
  }
  return false;
}

bool Object(simdjson::dom::object object, std::string_view key, Need need,
            std::optional<simdjson::dom::object>& out) {
  const std::optional<element> value = Find(object, key);
  if (!value.has_value()) return need == Need::kOptional;
  simdjson::dom::object o;
  if (value->get_object().get(o) != simdjson::SUCCESS) return false;
  out = o;
  return true;
}

bool Array(simdjson::dom::object object, std::string_view key, Need need,
           std::optional<simdjson::dom::array>& out) {
  const std::optional<element> value = Find(object, key);
  if (!value.has_value()) return need == Need::kOptional;
  simdjson::dom::array a;
  if (value->get_array().get(a) != simdjson::SUCCESS) return false;
  out = a;
  return true;
}

std::optional<std::string> Scalar(element value) {
  std::string_view text;
  int64_t i = 0;
  uint64_t u = 0;
  if (value.get_string().get(text) == simdjson::SUCCESS) return std::string(text);
  if (value.get_int64().get(i) == simdjson::SUCCESS) return absl::StrCat(i);
  if (value.get_uint64().get(u) == simdjson::SUCCESS) return absl::StrCat(u);
  return std::nullopt;
}

std::string Quote(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (byte < 0x20) {
      absl::StrAppend(&out, absl::StrFormat("\\u%04x", byte));
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace partner::upstream::json
