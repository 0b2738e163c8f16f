// How partnerctl prints: aligned tables for people, the proto3 JSON mapping for scripts, and
// errors on stderr with their gRPC code, message and rich details.
#ifndef PARTNER_CLIENT_CLI_OUTPUT_H_
#define PARTNER_CLIENT_CLI_OUTPUT_H_

#include <google/protobuf/message.h>

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace partner::cli {

// A table printed with columns padded to their widest cell, two spaces apart; an empty table
// prints a "No <noun> found." line instead, so a script reading --output table is not surprised.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void Print(std::ostream& out, const std::string& noun) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// The proto3 JSON mapping of `message`, every field printed (scripts get a stable shape).
// `pretty` indents; otherwise one line (JSON lines).
std::string ToJson(const google::protobuf::Message& message, bool pretty);

// An enum value's name without its type prefix, lower case: SUBSCRIPTION_STATUS_ACTIVE with
// prefix "SUBSCRIPTION_STATUS_" is "active"; the unspecified value prints as "-".
std::string EnumLabel(const std::string& name, const std::string& prefix);

// Exit codes, documented in --help and client/cli/README.md.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotFound = 3;
inline constexpr int kExitPermissionDenied = 4;
inline constexpr int kExitUnavailable = 5;
inline constexpr int kExitPartialFailure = 6;

int ExitCodeFor(const absl::Status& status);

// "partnerctl: NOT_FOUND: <message>" and the details, one "  key: value" line each.
void PrintError(std::ostream& err, const absl::Status& status);

}  // namespace partner::cli

#endif  // PARTNER_CLIENT_CLI_OUTPUT_H_
