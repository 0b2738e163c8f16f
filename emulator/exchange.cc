#include "emulator/exchange.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace partner::emulator {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool PercentDecode(absl::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (plus_is_space && in[i] == '+') {
      out->push_back(' ');
    } else {
      out->push_back(in[i]);
    }
  }
  return true;
}

}  // namespace

std::optional<absl::string_view> EmuRequest::Header(absl::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) return value;
  }
  return std::nullopt;
}

std::optional<absl::string_view> EmuRequest::Query(absl::string_view name) const {
  auto it = query.find(std::string(name));
  if (it == query.end()) return std::nullopt;
  return it->second;
}

std::optional<absl::string_view> EmuRequest::QueryIgnoringCase(absl::string_view name) const {
  for (const auto& [key, value] : query) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

bool DecodePath(absl::string_view raw_path, std::vector<std::string>* segments) {
  segments->clear();
  for (absl::string_view part : absl::StrSplit(raw_path, '/', absl::SkipEmpty())) {
    std::string decoded;
    if (!PercentDecode(part, false, &decoded)) return false;
    segments->push_back(std::move(decoded));
  }
  return true;
}

bool DecodeQuery(absl::string_view raw_query, std::map<std::string, std::string>* query) {
  query->clear();
  for (absl::string_view pair : absl::StrSplit(raw_query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    std::string name;
    std::string value;
    if (!PercentDecode(kv.first, true, &name) || !PercentDecode(kv.second, true, &value)) return false;
    (*query)[name] = std::move(value);
  }
  return true;
}

std::string PercentEncode(absl::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace partner::emulator
