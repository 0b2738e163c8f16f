#include "client/cli/output.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "partner/client/error_details.h"

namespace partner::cli {
namespace {

// Display width in code points, so company names with accents stay aligned.
size_t Width(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

}  // namespace

void Table::Print(std::ostream& out, const std::string& noun) const {
  if (rows_.empty()) {
    out << "No " << noun << " found.\n";
    return;
  }
  std::vector<size_t> widths(headers_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], Width(row[i]));
    }
  };
  measure(headers_);
  for (const auto& row : rows_) measure(row);
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - Width(row[i]) + 2, ' ');
    }
    out << line << '\n';
  };
  print(headers_);
  for (const auto& row : rows_) print(row);
}

std::string ToJson(const google::protobuf::Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.always_print_primitive_fields = true;
  std::string json;
  // Serialising a well-formed message cannot fail; an empty object beats no output if it did.
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) json = "{}";
  if (pretty && !json.empty() && json.back() == '\n') json.pop_back();
  return json;
}

std::string EnumLabel(const std::string& name, const std::string& prefix) {
  std::string label = absl::StartsWith(name, prefix) ? name.substr(prefix.size()) : name;
  if (label.empty() || label == "UNSPECIFIED") return "-";
  absl::AsciiStrToLower(&label);
  std::replace(label.begin(), label.end(), '_', '-');
  return label;
}

int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kInvalidArgument:
      return kExitUsage;
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return kExitPermissionDenied;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
      return kExitUnavailable;
    default:
      return kExitFailure;
  }
}

void PrintError(std::ostream& err, const absl::Status& status) {
  err << "partnerctl: " << absl::StatusCodeToString(status.code()) << ": " << status.message()
      << '\n';
  const client::ErrorDetails details = client::DecodeErrorDetails(status);
  if (!details.reason.empty()) err << "  reason: " << details.reason << '\n';
  const std::pair<const char*, const char*> keys[] = {{"correlationId", "correlation id"},
                                                      {"field", "field"},
                                                      {"upstreamCode", "upstream code"},
                                                      {"upstreamRequestId", "upstream request id"},
                                                      {"existingAssignmentId", "existing assignment"}};
  for (const auto& [key, label] : keys) {
    const std::string value = details.Metadata(key);
    if (!value.empty()) err << "  " << label << ": " << value << '\n';
  }
  if (details.retry_delay.has_value()) {
    err << "  retry after: " << details.retry_delay->count() << "ms\n";
  }
}

}  // namespace partner::cli
