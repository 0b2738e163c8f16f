#include "emulator/json_text.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace partner::emulator {
namespace {

using nlohmann::json;

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// Length of the well-formed UTF-8 sequence at s[i] (Unicode table 3-7), or 0 with *valid_prefix
// set to how many of its bytes could still begin one: that prefix becomes one U+FFFD and the
// byte after it is read again, as nlohmann's serializer does.
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i, std::size_t* valid_prefix) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // overlong
    if (lead == 0xED) second_max = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // overlong
    if (lead == 0xF4) second_max = 0x8F;  // past U+10FFFF
  } else {
    *valid_prefix = 1;
    return 0;
  }
  for (std::size_t k = 1; k < length; ++k) {
    const std::size_t at = i + k;
    const unsigned char low = k == 1 ? second_min : 0x80;
    const unsigned char high = k == 1 ? second_max : 0xBF;
    if (at >= s.size() || byte(at) < low || byte(at) > high) {
      *valid_prefix = k;
      return 0;
    }
  }
  return length;
}

// Whether any of the eight bytes packed in `word` is below 0x20, a quote, a backslash or 0x80 and
// above: the bytes a string cannot copy as they are.
bool NeedsCare(std::uint64_t word) {
  constexpr std::uint64_t kOnes = 0x0101010101010101u;
  constexpr std::uint64_t kHighBits = 0x8080808080808080u;
  const auto has_zero_byte = [&](std::uint64_t v) { return (v - kOnes) & ~v & kHighBits; };
  const std::uint64_t below_space = (word - kOnes * 0x20) & ~word & kHighBits;
  return (below_space | has_zero_byte(word ^ (kOnes * '"')) | has_zero_byte(word ^ (kOnes * '\\')) |
          (word & kHighBits)) != 0;
}

// The first index from `i` on whose eight-byte word needs care, eight bytes at a time: most of a
// body is plain ASCII.
std::size_t SkipPlainWords(std::string_view s, std::size_t i) {
  for (std::uint64_t word = 0; i + sizeof word <= s.size(); i += sizeof word) {
    std::memcpy(&word, s.data() + i, sizeof word);
    if (NeedsCare(word)) break;
  }
  return i;
}

void AppendString(std::string_view s, std::string* out) {
  out->push_back('"');
  std::size_t unwritten = 0;
  std::size_t i = 0;
  while ((i = SkipPlainWords(s, i)) < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      std::size_t valid_prefix = 0;
      const std::size_t length = Utf8SequenceLength(s, i, &valid_prefix);
      if (length != 0) {
        i += length;
        continue;
      }
      out->append(s.data() + unwritten, i - unwritten);
      out->append(kReplacementCharacter);
      i += valid_prefix;
      unwritten = i;
      continue;
    }
    out->append(s.data() + unwritten, i - unwritten);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out->append(escaped, sizeof escaped);
      }
    }
    unwritten = ++i;
  }
  out->append(s.data() + unwritten, s.size() - unwritten);
  out->push_back('"');
}

void Append(const json& value, std::string* out) {
  switch (value.type()) {
    case json::value_t::object: {
      out->push_back('{');
      bool first = true;
      for (const auto& [key, member] : value.get_ref<const json::object_t&>()) {
        if (!first) out->push_back(',');
        first = false;
        AppendString(key, out);
        out->push_back(':');
        Append(member, out);
      }
      out->push_back('}');
      return;
    }
    case json::value_t::array: {
      out->push_back('[');
      bool first = true;
      for (const json& element : value.get_ref<const json::array_t&>()) {
        if (!first) out->push_back(',');
        first = false;
        Append(element, out);
      }
      out->push_back(']');
      return;
    }
    case json::value_t::string:
      AppendString(value.get_ref<const json::string_t&>(), out);
      return;
    case json::value_t::boolean:
      out->append(value.get<bool>() ? "true" : "false");
      return;
    case json::value_t::null:
      out->append("null");
      return;
    case json::value_t::number_integer:
      absl::StrAppend(out, value.get<std::int64_t>());
      return;
    case json::value_t::number_unsigned:
      absl::StrAppend(out, value.get<std::uint64_t>());
      return;
    case json::value_t::number_float:
    case json::value_t::binary:
    case json::value_t::discarded:
      // Rare in the emulator's bodies, and their text has rules of nlohmann's own (shortest
      // round-trip doubles, "<discarded>"): let it write them.
      out->append(value.dump(-1, ' ', false, json::error_handler_t::replace));
      return;
  }
}

}  // namespace

std::string JsonText(const json& value) {
  std::string out;
  Append(value, &out);
  return out;
}

}  // namespace partner::emulator
