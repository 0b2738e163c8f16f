// Microsoft Graph users in the customer tenant the token was issued by (CONTRACTS.md §6): get by
// id or UPN, list with $filter/$top and @odata.nextLink, create; Graph error bodies.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "emulator/json_text.h"
#include "emulator/services.h"
#include "nlohmann/json.hpp"

namespace partner::emulator {
namespace {

using nlohmann::json;

json UserJson(const User& u) {
  return {{"businessPhones", json::array()}, {"displayName", u.display_name}, {"givenName", u.given_name},
          {"jobTitle", nullptr},             {"mail", u.mail},                 {"mobilePhone", nullptr},
          {"officeLocation", nullptr},       {"preferredLanguage", "en-GB"},   {"surname", u.surname},
          {"userPrincipalName", u.user_principal_name}, {"id", u.id}};
}

// One comparison of a users $filter: "field eq 'x'", "startswith(field,'x')" or
// "endswith(field,'x')"; endswith is an advanced query (CONTRACTS.md §6.2).
struct UserFilterClause {
  enum class Match { kEqual, kPrefix, kSuffix };
  std::string field;
  std::string value;
  Match match = Match::kEqual;

  bool Matches(const User& u) const {
    const std::string& subject = field == "mail" ? u.mail : field == "displayName" ? u.display_name : u.user_principal_name;
    switch (match) {
      case Match::kPrefix:
        return absl::StartsWithIgnoreCase(subject, value);
      case Match::kSuffix:
        return absl::EndsWithIgnoreCase(subject, value);
      case Match::kEqual:
        break;
    }
    return absl::EqualsIgnoreCase(subject, value);
  }
};

// Clauses joined by "or": a user matches when any clause does. Graph also has "and", "not" and
// parentheses; the gateway sends none of them, so they stay unsupported here.
using UserFilter = std::vector<UserFilterClause>;

// An OData string literal at the front of `in`, where '' stands for one quote; consumes it.
std::optional<std::string> ConsumeLiteral(absl::string_view& in) {
  if (!absl::ConsumePrefix(&in, "'")) return std::nullopt;
  std::string out;
  while (!in.empty()) {
    const char c = in.front();
    in.remove_prefix(1);
    if (c != '\'') {
      out.push_back(c);
    } else if (absl::ConsumePrefix(&in, "'")) {
      out.push_back('\'');
    } else {
      return out;
    }
  }
  return std::nullopt;
}

std::optional<UserFilterClause> ConsumeClause(absl::string_view& in) {
  in = absl::StripLeadingAsciiWhitespace(in);
  UserFilterClause out;
  const bool prefix = absl::ConsumePrefix(&in, "startswith(");
  const bool suffix = !prefix && absl::ConsumePrefix(&in, "endswith(");
  const std::size_t field_end = prefix || suffix ? in.find(',') : in.find(" eq ");
  if (field_end == absl::string_view::npos) return std::nullopt;
  out.field = std::string(absl::StripAsciiWhitespace(in.substr(0, field_end)));
  in = absl::StripLeadingAsciiWhitespace(in.substr(field_end + (prefix || suffix ? 1 : 4)));
  std::optional<std::string> literal = ConsumeLiteral(in);
  if (!literal) return std::nullopt;
  out.value = *std::move(literal);
  if (prefix || suffix) {
    out.match = prefix ? UserFilterClause::Match::kPrefix : UserFilterClause::Match::kSuffix;
    in = absl::StripLeadingAsciiWhitespace(in);
    if (!absl::ConsumePrefix(&in, ")")) return std::nullopt;
  }
  if (out.field != "userPrincipalName" && out.field != "mail" && out.field != "displayName") return std::nullopt;
  return out;
}

std::optional<UserFilter> ParseUserFilter(absl::string_view filter) {
  UserFilter out;
  while (true) {
    std::optional<UserFilterClause> clause = ConsumeClause(filter);
    if (!clause) return std::nullopt;
    out.push_back(*std::move(clause));
    filter = absl::StripLeadingAsciiWhitespace(filter);
    if (filter.empty()) return out;
    if (!absl::ConsumePrefix(&filter, "or ")) return std::nullopt;
  }
}

}  // namespace

EmuResponse Services::HandleGraph(const EmuRequest& request) {
  const std::vector<std::string>& s = request.segments;
  const std::string request_id = NewGuid();
  auto respond = [&](int status, const json& body) {
    EmuResponse response;
    response.status = status;
    response.body = JsonText(body);
    std::optional<absl::string_view> client_request_id = request.Header("client-request-id");
    response.With("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
        .With("request-id", request_id)
        .With("client-request-id", client_request_id ? std::string(*client_request_id) : request_id);
    return response;
  };
  auto error = [&](int status, const std::string& code, const std::string& message) {
    std::optional<absl::string_view> client_request_id = request.Header("client-request-id");
    return respond(status, {{"error",
                             {{"code", code},
                              {"message", message},
                              {"innerError",
                               {{"date", absl::FormatTime("%Y-%m-%dT%H:%M:%S", clock_(), absl::UTCTimeZone())},
                                {"request-id", request_id},
                                {"client-request-id", client_request_id ? std::string(*client_request_id) : request_id}}}}}});
  };

  TokenProblem problem;
  absl::StatusOr<std::string> tenant = Authenticate(request, options_.audiences.graph, &problem);
  if (!tenant.ok()) {
    Count("graph.unauthenticated");
    if (problem == TokenProblem::kExpired) return error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.");
    if (problem == TokenProblem::kMissing) return error(401, "InvalidAuthenticationToken", "Access token is empty.");
    return error(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.");
  }
  if (s.size() < 2 || s.size() > 3 || s[1] != "users") {
    Count("graph.unknown");
    return error(400, "BadRequest", absl::StrCat("Resource not found for the segment '", s.size() > 1 ? s[1] : "", "'."));
  }
  Customer* customer = FindCustomer(*tenant);
  std::vector<User> no_users;
  std::vector<User>& users = customer ? customer->users : no_users;
  const std::string context = "https://graph.microsoft.com/v1.0/$metadata#users";

  if (s.size() == 3) {
    if (request.method != "GET") return error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.");
    Count("graph.get_user");
    for (const User& u : users) {
      if (absl::EqualsIgnoreCase(u.id, s[2]) || absl::EqualsIgnoreCase(u.user_principal_name, s[2])) {
        json body = UserJson(u);
        body["@odata.context"] = context + "/$entity";
        return respond(200, body);
      }
    }
    return error(404, "Request_ResourceNotFound",
                 absl::StrCat("Resource '", s[2], "' does not exist or one of its queried reference-property objects are not present."));
  }
  if (request.method == "GET") {
    Count("graph.list_users");
    std::optional<UserFilter> filter;
    if (std::optional<absl::string_view> raw = request.Query("$filter")) {
      filter = ParseUserFilter(*raw);
      if (!filter) return error(400, "Request_UnsupportedQuery", absl::StrCat("Unsupported or invalid query filter clause specified: '", *raw, "'."));
    }
    // Advanced queries (endswith, $count) need both, as the real directory does (§6.2, §8.15).
    const bool count = request.Query("$count") == std::optional<absl::string_view>("true");
    const bool eventual = request.Header("consistencylevel") == std::optional<absl::string_view>("eventual");
    const bool advanced_filter = filter && std::any_of(filter->begin(), filter->end(), [](const UserFilterClause& c) {
                                   return c.match == UserFilterClause::Match::kSuffix;
                                 });
    if ((count || advanced_filter) && !(count && eventual)) {
      return error(400, "Request_UnsupportedQuery",
                   "Operator 'endsWith' is not supported because the required parameters might be missing. Try adding $count=true "
                   "query parameter and ConsistencyLevel:eventual header.");
    }
    int top = options_.graph_page_size;
    if (std::optional<absl::string_view> raw = request.Query("$top")) {
      if (!absl::SimpleAtoi(*raw, &top) || top < 1 || top > 999) {
        return error(400, "Request_BadRequest", absl::StrCat("Invalid page size specified: '", *raw, "'. Must be between 1 and 999 inclusive."));
      }
    }
    std::size_t offset = 0;
    if (std::optional<absl::string_view> raw = request.Query("$skiptoken")) {
      if (!absl::ConsumePrefix(&*raw, "X'") || !absl::SimpleAtoi(*raw, &offset)) {
        return error(400, "Request_BadRequest", "The $skiptoken is invalid.");
      }
    }
    std::vector<const User*> matching;
    for (const User& u : users) {
      if (filter && std::none_of(filter->begin(), filter->end(), [&u](const UserFilterClause& c) { return c.Matches(u); })) continue;
      matching.push_back(&u);
    }
    json value = json::array();
    std::size_t i = offset;
    for (; i < matching.size() && value.size() < static_cast<std::size_t>(top); ++i) value.push_back(UserJson(*matching[i]));
    json body = {{"@odata.context", context}};
    if (count) body["@odata.count"] = matching.size();
    body["value"] = value;
    if (i < matching.size()) {
      std::string link = absl::StrCat(base_url_, "/v1.0/users?$top=", top);
      if (std::optional<absl::string_view> raw = request.Query("$filter")) absl::StrAppend(&link, "&$filter=", PercentEncode(*raw));
      if (count) absl::StrAppend(&link, "&$count=true");
      body["@odata.nextLink"] = absl::StrCat(link, "&$skiptoken=X%27", i);
    }
    return respond(200, body);
  }
  if (request.method != "POST") return error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.");
  Count("graph.create_user");
  const json body = json::parse(request.body, nullptr, false);
  if (!body.is_object()) return error(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.");
  auto text = [&](const char* field) {
    auto it = body.find(field);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string upn = text("userPrincipalName");
  const std::string nickname = text("mailNickname");
  const std::string display_name = text("displayName");
  const json* password_profile = body.contains("passwordProfile") && body["passwordProfile"].is_object() ? &body["passwordProfile"] : nullptr;
  const bool has_password = password_profile && password_profile->contains("password") && (*password_profile)["password"].is_string();
  if (upn.empty() || nickname.empty() || display_name.empty() || !body.contains("accountEnabled") ||
      !body["accountEnabled"].is_boolean() || !has_password) {
    return error(400, "Request_BadRequest", "Invalid value specified for property: one of accountEnabled, displayName, mailNickname, userPrincipalName, passwordProfile is missing.");
  }
  const std::size_t at = upn.find('@');
  if (customer == nullptr || at == std::string::npos || !absl::EqualsIgnoreCase(upn.substr(at + 1), customer->domain)) {
    return error(400, "Request_BadRequest",
                 "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.");
  }
  const std::string password = (*password_profile)["password"].get<std::string>();
  if (password.size() < 8) {
    return error(400, "Request_BadRequest", "The specified password does not comply with password complexity requirements. Please provide a different password.");
  }
  for (const User& u : users) {
    if (absl::EqualsIgnoreCase(u.user_principal_name, upn)) {
      return error(400, "Request_BadRequest", "Another object with the same value for property userPrincipalName already exists.");
    }
  }
  User user;
  user.id = NewGuid();
  user.user_principal_name = upn;
  user.display_name = display_name;
  user.given_name = text("givenName");
  user.surname = text("surname");
  user.usage_location = text("usageLocation");
  user.account_enabled = body["accountEnabled"].get<bool>();
  user.created = clock_();
  users.push_back(user);
  created_users_.push_back({customer->id, user});
  state_changed_ = true;
  json created = UserJson(user);
  created["mail"] = nullptr;
  created["@odata.context"] = context + "/$entity";
  return respond(201, created);
}

}  // namespace partner::emulator
