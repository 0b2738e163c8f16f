#include "server/upstream/graph_client.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "server/upstream/json.h"

namespace partner::upstream {
namespace {

using ops::graph::User;
using simdjson::dom::object;

constexpr absl::string_view kService = "Microsoft Graph";

absl::Status ParseUser(object o, User& out) {
  if (!json::String(o, "id", json::Need::kRequired, out.id)) return Malformed(kService, "user", "id");
  if (!json::String(o, "userPrincipalName", json::Need::kRequired, out.user_principal_name)) {
    return Malformed(kService, "user", "userPrincipalName");
  }
  if (!json::String(o, "displayName", json::Need::kOptional, out.display_name)) {
    return Malformed(kService, "user", "displayName");
  }
  if (!json::String(o, "mail", json::Need::kOptional, out.mail)) return Malformed(kService, "user", "mail");
  return absl::OkStatus();
}

absl::StatusOr<User> ParseOneUser(absl::string_view body) {
  json::Parser parser;
  simdjson::dom::element root;
  object o;
  if (!json::Parse(parser, std::string_view(body.data(), body.size()), root)) return Malformed(kService, "user", "not JSON");
  if (root.get_object().get(o) != simdjson::SUCCESS) return Malformed(kService, "user", "not an object");
  User user;
  if (absl::Status s = ParseUser(o, user); !s.ok()) return s;
  return user;
}

absl::StatusOr<ops::graph::UserPage> ParseUserPage(absl::string_view body, absl::string_view base) {
  json::Parser parser;
  simdjson::dom::element root;
  object o;
  std::optional<simdjson::dom::array> value;
  if (!json::Parse(parser, std::string_view(body.data(), body.size()), root)) {
    return Malformed(kService, "user list", "not JSON");
  }
  if (root.get_object().get(o) != simdjson::SUCCESS) return Malformed(kService, "user list", "not an object");
  if (!json::Array(o, "value", json::Need::kRequired, value)) return Malformed(kService, "user list", "value");
  ops::graph::UserPage page;
  for (simdjson::dom::element element : *value) {
    object item;
    if (element.get_object().get(item) != simdjson::SUCCESS) return Malformed(kService, "user list", "value[]");
    User user;
    if (absl::Status s = ParseUser(item, user); !s.ok()) return s;
    page.users.push_back(std::move(user));
  }
  if (!json::String(o, "@odata.nextLink", json::Need::kOptional, page.skip_token)) {
    return Malformed(kService, "user list", "@odata.nextLink");
  }
  // Our bearer token goes with the next request: only to the configured Graph host.
  if (!page.skip_token.empty() && (!IsWireSafe(page.skip_token) || !SameOrigin(page.skip_token, base))) {
    return absl::InternalError(absl::StrCat(kService, " sent a next link to another host"));
  }
  return page;
}

// "/v1.0/users/{id | UPN}"; a UPN starting with '$' must be addressed as users('$...') or Graph
// reads it as a system query option (CONTRACTS.md §6.1).
std::string UserPath(absl::string_view id_or_upn) {
  if (absl::StartsWith(id_or_upn, "$")) {
    return absl::StrCat("/v1.0/users('", PathSegment(absl::StrReplaceAll(id_or_upn, {{"'", "''"}})), "')");
  }
  return absl::StrCat("/v1.0/users/", PathSegment(id_or_upn));
}

// Graph's users search allows more, but a longer prefix only makes a longer URL for the same answer.
constexpr std::size_t kMaxSearchPrefixBytes = 1024;

absl::Status ValidateSearchPrefix(absl::string_view prefix) {
  if (prefix.empty()) return absl::InvalidArgumentError("the users search prefix is empty");
  if (prefix.size() > kMaxSearchPrefixBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the users search prefix is longer than ", kMaxSearchPrefixBytes, " bytes"));
  }
  for (char c : prefix) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      return absl::InvalidArgumentError("the users search prefix holds a control character");
    }
  }
  return absl::OkStatus();
}

// Not inlined into ListUsers: g++ 12 rejects a char array in an initializer list in a coroutine.
std::string FirstUsersPage(int top, const std::optional<std::string>& search_prefix) {
  std::vector<std::pair<std::string, std::string>> params = {{"$top", absl::StrCat(top)}};
  if (search_prefix.has_value()) {
    const std::string literal = ODataString(*search_prefix);
    params.emplace_back("$filter", absl::StrCat("startswith(displayName,", literal, ") or startswith(userPrincipalName,",
                                                literal, ")"));
  }
  return absl::StrCat("/v1.0/users", Query(params));
}

std::string NewUserBody(const ops::graph::NewUser& user) {
  std::string body = absl::StrCat(
      R"({"accountEnabled":)", user.account_enabled ? "true" : "false", R"(,"displayName":)",
      json::Quote(user.display_name), R"(,"mailNickname":)", json::Quote(user.mail_nickname),
      R"(,"userPrincipalName":)", json::Quote(user.user_principal_name));
  if (!user.usage_location.empty()) absl::StrAppend(&body, R"(,"usageLocation":)", json::Quote(user.usage_location));
  absl::StrAppend(&body, R"(,"passwordProfile":{"forceChangePasswordNextSignIn":)",
                  user.force_change_password_next_sign_in ? "true" : "false", R"(,"password":)",
                  json::Quote(user.password), "}}");
  return body;
}

// Graph does not echo passwords, but an error message is caller-visible: make sure.
// The status without the new user's password anywhere: redacted from the message, and any detail
// payload that holds it (an upstream error code or message echoing the request) dropped whole,
// since a payload is structured and cannot be edited in place.
absl::Status WithoutSecret(absl::Status status, absl::string_view secret) {
  if (secret.empty()) return status;
  absl::Status redacted(status.code(), absl::StrReplaceAll(status.message(), {{secret, "[redacted]"}}));
  status.ForEachPayload([&redacted, secret](absl::string_view type_url, const absl::Cord& payload) {
    if (!absl::StrContains(std::string(payload), secret)) redacted.SetPayload(type_url, payload);
  });
  return redacted;
}

}  // namespace

GraphClient::GraphClient(std::shared_ptr<http::HttpClient> http, UpstreamOptions options)
    : http_(std::move(http)), options_(std::move(options)) {}

http::HttpRequest GraphClient::NewRequest(std::string method, std::string operation, std::string tenant,
                                          std::string url) const {
  std::string rate_limit_key = absl::StrCat("graph/", tenant);
  return JsonRequest({.method = std::move(method), .url = std::move(url), .operation = std::move(operation),
                      .token_tenant = std::move(tenant), .token_scope = options_.graph_scope,
                      .rate_limit_keys = {std::move(rate_limit_key)},
                      .id_headers = kGraphIdHeaders});
}

ops::OpTask<absl::StatusOr<User>> GraphClient::GetUser(const ops::OpContext& ctx, std::string tenant,
                                                      std::string id_or_upn) {
  if (id_or_upn.empty()) co_return absl::InvalidArgumentError("empty user id");
  http::HttpRequest request =
      NewRequest("GET", "graph.get_user", std::move(tenant), JoinUrl(options_.graph_url, UserPath(id_or_upn)));
  absl::StatusOr<http::HttpResponse> response = co_await Call(*http_, ctx, std::move(request));
  if (!response.ok()) co_return response.status();
  if (!IsSuccess(*response)) co_return GraphError(*response, absl::StrCat("user ", id_or_upn));
  co_return ParseOneUser(response->body);
}

ops::OpTask<absl::StatusOr<ops::graph::UserPage>> GraphClient::ListUsers(const ops::OpContext& ctx, std::string tenant,
                                                                        ops::graph::UserQuery query) {
  std::string url;
  if (query.skip_token.empty()) {
    if (query.top <= 0) co_return absl::InvalidArgumentError("the user page size must be positive");
    if (query.search_prefix.has_value()) {
      if (absl::Status s = ValidateSearchPrefix(*query.search_prefix); !s.ok()) co_return s;
    }
    url = JoinUrl(options_.graph_url, FirstUsersPage(query.top, query.search_prefix));
  } else {
    if (!IsWireSafe(query.skip_token) || !SameOrigin(query.skip_token, options_.graph_url)) {
      co_return absl::InvalidArgumentError("the users skip token is malformed");
    }
    url = query.skip_token;
  }
  const std::string requested = url;
  http::HttpRequest request = NewRequest("GET", "graph.list_users", std::move(tenant), std::move(url));
  absl::StatusOr<http::HttpResponse> response = co_await Call(*http_, ctx, std::move(request));
  if (!response.ok()) co_return response.status();
  if (!IsSuccess(*response)) co_return GraphError(*response, "users");
  absl::StatusOr<ops::graph::UserPage> page = ParseUserPage(response->body, options_.graph_url);
  if (!page.ok()) co_return page.status();
  // The same link again would page forever.
  if (page->skip_token == requested) co_return absl::InternalError(absl::StrCat(kService, " repeated the users next link"));
  co_return page;
}

ops::OpTask<absl::StatusOr<User>> GraphClient::CreateUser(const ops::OpContext& ctx, std::string tenant,
                                                         ops::graph::NewUser user) {
  if (user.user_principal_name.empty()) co_return absl::InvalidArgumentError("empty user principal name");
  http::HttpRequest request =
      NewRequest("POST", "graph.create_user", std::move(tenant), JoinUrl(options_.graph_url, "/v1.0/users"));
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = NewUserBody(user);
  // No idempotency key exists: a second POST after a lost answer meets the duplicate UPN.
  request.idempotent = false;
  absl::StatusOr<http::HttpResponse> response = co_await Call(*http_, ctx, std::move(request));
  if (!response.ok()) co_return WithoutSecret(response.status(), user.password);
  if (!IsSuccess(*response)) {
    co_return WithoutSecret(GraphError(*response, absl::StrCat("user ", user.user_principal_name)), user.password);
  }
  co_return ParseOneUser(response->body);
}

}  // namespace partner::upstream
