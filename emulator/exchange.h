// One HTTP exchange as the emulator's route handlers see it: decoded path segments and query,
// lower-cased header names. Handlers are plain functions of (request, world) -> response, so they
// are tested without sockets; emulator.cc does the wire.
#ifndef PARTNER_EMULATOR_EXCHANGE_H_
#define PARTNER_EMULATOR_EXCHANGE_H_

#include <map>
#include <optional>
#include <string>

#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace partner::emulator {

struct EmuRequest {
  std::string method;
  std::string raw_path;               // as received, still percent-encoded
  std::vector<std::string> segments;  // each percent-decoded; "%2F" stays inside its segment
  std::map<std::string, std::string> query;  // decoded values; names as sent
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string body;

  std::optional<absl::string_view> Header(absl::string_view lower_case_name) const;
  std::optional<absl::string_view> Query(absl::string_view name) const;
  // Query value by case-insensitive name ("seekOperation", "seekoperation").
  std::optional<absl::string_view> QueryIgnoringCase(absl::string_view name) const;
};

struct EmuResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Close the connection without answering (fault injection: connection reset).
  bool reset_connection = false;

  EmuResponse& With(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// Splits "/a/b%2Fc/" into {"a", "b/c"}; false when an escape is malformed.
bool DecodePath(absl::string_view raw_path, std::vector<std::string>* segments);
// Parses "a=1&b=x%20y" (also '+' as space); false when an escape is malformed.
bool DecodeQuery(absl::string_view raw_query, std::map<std::string, std::string>* query);
std::string PercentEncode(absl::string_view value);

}  // namespace partner::emulator

#endif  // PARTNER_EMULATOR_EXCHANGE_H_
