#include "client/cli/batch_file.h"

#include <google/protobuf/util/json_util.h>

#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace partner::cli {
namespace {

// One CSV record: fields split on commas, a field in double quotes may hold commas and "".
absl::StatusOr<std::vector<std::string>> SplitCsv(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back().push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back().push_back(c);
    }
  }
  if (quoted) return absl::InvalidArgumentError("unterminated quoted field");
  for (std::string& f : fields) f = std::string(absl::StripAsciiWhitespace(f));
  return fields;
}

absl::Status LineError(size_t line, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", what));
}

absl::StatusOr<v1::AssignRoleRequest> FromCsv(const std::map<std::string, std::string>& row,
                                              size_t line) {
  auto get = [&](const std::string& key) {
    auto it = row.find(key);
    return it == row.end() ? std::string() : it->second;
  };
  v1::AssignRoleRequest request;
  request.set_customer_id(get("customer"));
  request.set_azure_subscription_id(get("subscription"));
  request.set_resource_group(get("resource_group"));
  request.set_description(get("description"));
  const std::string user = get("user"), object_id = get("object_id");
  if (user.empty() == object_id.empty())
    return LineError(line, "give exactly one of user, object_id");
  if (!user.empty()) request.mutable_principal()->set_user_principal_name(user);
  if (!object_id.empty()) request.mutable_principal()->set_object_id(object_id);
  const std::string role = get("role"), role_id = get("role_id");
  if (role.empty() == role_id.empty()) return LineError(line, "give exactly one of role, role_id");
  if (!role.empty()) request.mutable_role()->set_role_name(role);
  if (!role_id.empty()) request.mutable_role()->set_role_definition_id(role_id);
  if (const std::string type = get("principal_type"); !type.empty()) {
    absl::StatusOr<v1::PrincipalType> parsed = ParsePrincipalType(type);
    if (!parsed.ok()) return LineError(line, std::string(parsed.status().message()));
    request.set_principal_type(*parsed);
  }
  return request;
}

}  // namespace

absl::StatusOr<v1::PrincipalType> ParsePrincipalType(const std::string& text) {
  static const std::map<std::string, v1::PrincipalType> kTypes = {
      {"user", v1::PRINCIPAL_TYPE_USER},
      {"group", v1::PRINCIPAL_TYPE_GROUP},
      {"service-principal", v1::PRINCIPAL_TYPE_SERVICE_PRINCIPAL},
      {"foreign-group", v1::PRINCIPAL_TYPE_FOREIGN_GROUP}};
  auto it = kTypes.find(absl::AsciiStrToLower(text));
  if (it == kTypes.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "principal type \"", text, "\": expected user, group, service-principal or foreign-group"));
  }
  return it->second;
}

absl::StatusOr<std::vector<v1::AssignRoleRequest>> ParseBatch(const std::string& content) {
  static const std::map<std::string, std::string> kAliases = {
      {"customer_id", "customer"},
      {"azure_subscription_id", "subscription"},
      {"upn", "user"},
      {"user_principal_name", "user"},
      {"role_name", "role"},
      {"role_definition_id", "role_id"}};
  static const std::set<std::string> kColumns = {"customer", "subscription",   "resource_group",
                                                 "user",     "object_id",      "role",
                                                 "role_id",  "principal_type", "description"};
  std::vector<v1::AssignRoleRequest> items;
  std::vector<std::string> header;
  bool json_lines = false;
  size_t line_number = 0;
  for (absl::string_view raw : absl::StrSplit(content, '\n')) {
    ++line_number;
    const std::string line(absl::StripAsciiWhitespace(raw));
    if (line.empty() || line[0] == '#') continue;
    if (header.empty() && !json_lines) {
      if (line[0] == '{') {
        json_lines = true;
      } else {
        absl::StatusOr<std::vector<std::string>> names = SplitCsv(line);
        if (!names.ok()) return LineError(line_number, std::string(names.status().message()));
        for (std::string name : *names) {
          absl::AsciiStrToLower(&name);
          if (auto alias = kAliases.find(name); alias != kAliases.end()) name = alias->second;
          if (!kColumns.contains(name)) {
            return LineError(line_number, absl::StrCat("unknown column \"", name, "\""));
          }
          header.push_back(name);
        }
        continue;
      }
    }
    if (json_lines) {
      v1::AssignRoleRequest request;
      if (auto s = google::protobuf::util::JsonStringToMessage(line, &request); !s.ok()) {
        return LineError(line_number, absl::StrCat("not an AssignRoleRequest: ", s.ToString()));
      }
      items.push_back(std::move(request));
      continue;
    }
    absl::StatusOr<std::vector<std::string>> fields = SplitCsv(line);
    if (!fields.ok()) return LineError(line_number, std::string(fields.status().message()));
    if (fields->size() != header.size()) {
      return LineError(line_number,
                       absl::StrCat(fields->size(), " fields, the header has ", header.size()));
    }
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size(); ++i) row[header[i]] = (*fields)[i];
    absl::StatusOr<v1::AssignRoleRequest> request = FromCsv(row, line_number);
    if (!request.ok()) return request.status();
    items.push_back(*std::move(request));
  }
  if (items.empty()) return absl::InvalidArgumentError("the batch file holds no items");
  return items;
}

}  // namespace partner::cli
