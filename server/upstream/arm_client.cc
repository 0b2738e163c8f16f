#include "server/upstream/arm_client.h"

#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/upstream/json.h"

namespace partner::upstream {
namespace {

using ops::arm::RoleAssignment;
using ops::arm::RoleDefinition;
using ops::arm::Subscription;
using simdjson::dom::object;

constexpr absl::string_view kService = "Azure Resource Manager";
constexpr char kApiVersion[] = "2022-04-01";
// Microsoft.Resources, not Microsoft.Authorization: its own api-versions (CONTRACTS.md §5.3).
constexpr char kSubscriptionsApiVersion[] = "2022-12-01";
constexpr absl::string_view kProvider = "/providers/Microsoft.Authorization";
constexpr int kMaxPages = 1000;

absl::Status ParseItem(object o, Subscription& out) {
  static constexpr absl::string_view kWhat = "subscription";
  if (!json::String(o, "id", json::Need::kRequired, out.id)) return Malformed(kService, kWhat, "id");
  if (!json::String(o, "subscriptionId", json::Need::kRequired, out.subscription_id)) {
    return Malformed(kService, kWhat, "subscriptionId");
  }
  // The gateway matches subscriptions by subscriptionId: one that disagrees with its own
  // resource id cannot be trusted to name the right subscription.
  if (out.subscription_id.empty() || !absl::EqualsIgnoreCase(out.id, absl::StrCat("/subscriptions/", out.subscription_id))) {
    return Malformed(kService, kWhat, "subscriptionId (does not match id)");
  }
  if (!json::String(o, "tenantId", json::Need::kOptional, out.tenant_id)) return Malformed(kService, kWhat, "tenantId");
  if (!json::String(o, "displayName", json::Need::kOptional, out.display_name)) {
    return Malformed(kService, kWhat, "displayName");
  }
  if (!json::String(o, "state", json::Need::kRequired, out.state)) return Malformed(kService, kWhat, "state");
  return absl::OkStatus();
}

absl::Status ParseItem(object o, RoleDefinition& out) {
  std::optional<object> properties;
  if (!json::String(o, "id", json::Need::kRequired, out.id)) return Malformed(kService, "role definition", "id");
  if (!json::Object(o, "properties", json::Need::kRequired, properties)) {
    return Malformed(kService, "role definition", "properties");
  }
  if (!json::String(*properties, "roleName", json::Need::kRequired, out.role_name)) {
    return Malformed(kService, "role definition", "properties.roleName");
  }
  if (!json::String(*properties, "type", json::Need::kOptional, out.type)) {
    return Malformed(kService, "role definition", "properties.type");
  }
  if (!json::String(*properties, "description", json::Need::kOptional, out.description)) {
    return Malformed(kService, "role definition", "properties.description");
  }
  return absl::OkStatus();
}

absl::Status ParseItem(object o, RoleAssignment& out) {
  static constexpr absl::string_view kWhat = "role assignment";
  std::optional<object> p;
  if (!json::String(o, "id", json::Need::kRequired, out.id)) return Malformed(kService, kWhat, "id");
  if (!json::String(o, "name", json::Need::kRequired, out.name)) return Malformed(kService, kWhat, "name");
  if (!json::Object(o, "properties", json::Need::kRequired, p)) return Malformed(kService, kWhat, "properties");
  if (!json::String(*p, "roleDefinitionId", json::Need::kRequired, out.role_definition_id)) {
    return Malformed(kService, kWhat, "properties.roleDefinitionId");
  }
  if (!json::String(*p, "principalId", json::Need::kRequired, out.principal_id)) {
    return Malformed(kService, kWhat, "properties.principalId");
  }
  if (!json::String(*p, "principalType", json::Need::kOptional, out.principal_type)) {
    return Malformed(kService, kWhat, "properties.principalType");
  }
  if (!json::String(*p, "scope", json::Need::kOptional, out.scope)) return Malformed(kService, kWhat, "properties.scope");
  if (!json::String(*p, "description", json::Need::kOptional, out.description)) {
    return Malformed(kService, kWhat, "properties.description");
  }
  if (!json::Time(*p, "createdOn", json::Need::kOptional, out.created_on)) {
    return Malformed(kService, kWhat, "properties.createdOn");
  }
  return absl::OkStatus();
}

absl::StatusOr<RoleAssignment> ParseAssignment(absl::string_view body) {
  json::Parser parser;
  simdjson::dom::element root;
  object o;
  if (!json::Parse(parser, std::string_view(body.data(), body.size()), root)) {
    return Malformed(kService, "role assignment", "not JSON");
  }
  if (root.get_object().get(o) != simdjson::SUCCESS) return Malformed(kService, "role assignment", "not an object");
  RoleAssignment out;
  if (absl::Status s = ParseItem(o, out); !s.ok()) return s;
  return out;
}

template <class T>
struct Page {
  std::vector<T> items;
  std::string next_link;  // empty: last page
};

// {"value": [...], "nextLink": "https://..." | null | ""}; the next link is followed verbatim,
// but only to the configured ARM host, since our bearer token goes with it.
template <class T>
absl::StatusOr<Page<T>> ParsePage(absl::string_view body, absl::string_view resource, absl::string_view base) {
  json::Parser parser;
  simdjson::dom::element root;
  object o;
  std::optional<simdjson::dom::array> value;
  if (!json::Parse(parser, std::string_view(body.data(), body.size()), root)) {
    return Malformed(kService, resource, "not JSON");
  }
  if (root.get_object().get(o) != simdjson::SUCCESS) return Malformed(kService, resource, "not an object");
  if (!json::Array(o, "value", json::Need::kRequired, value)) return Malformed(kService, resource, "value");
  Page<T> page;
  for (simdjson::dom::element element : *value) {
    object item;
    if (element.get_object().get(item) != simdjson::SUCCESS) return Malformed(kService, resource, "value[]");
    T parsed;
    if (absl::Status s = ParseItem(item, parsed); !s.ok()) return s;
    page.items.push_back(std::move(parsed));
  }
  if (!json::String(o, "nextLink", json::Need::kOptional, page.next_link)) {
    return Malformed(kService, resource, "nextLink");
  }
  if (!page.next_link.empty() && (!IsWireSafe(page.next_link) || !SameOrigin(page.next_link, base))) {
    return absl::InternalError(absl::StrCat(kService, " sent a next link to another host for ", resource));
  }
  return page;
}

// Whether an assignment made at `assigned` applies at `scope`: the same scope or one of its
// ancestors, compared case-insensitively on segment boundaries.
bool AppliesAt(absl::string_view assigned, absl::string_view scope) {
  while (absl::EndsWith(assigned, "/")) assigned.remove_suffix(1);
  if (assigned.empty()) return true;  // the root scope "/"
  return absl::StartsWithIgnoreCase(scope, assigned) && (scope.size() == assigned.size() || scope[assigned.size()] == '/');
}

// Not inlined into the coroutines: g++ 12 rejects a char array in an initializer list there.
std::string ApiVersionQuery(const std::optional<std::string>& filter = std::nullopt) {
  std::vector<std::pair<std::string, std::string>> params = {{"api-version", kApiVersion}};
  if (filter.has_value()) params.emplace_back("$filter", *filter);
  return Query(params);
}

std::string SubscriptionsQuery() { return Query({{"api-version", kSubscriptionsApiVersion}}); }

std::string AssignmentBody(const ops::arm::RoleAssignmentProperties& p) {
  std::string body = absl::StrCat(R"({"properties":{"roleDefinitionId":)", json::Quote(p.role_definition_id),
                                  R"(,"principalId":)", json::Quote(p.principal_id));
  if (!p.principal_type.empty()) absl::StrAppend(&body, R"(,"principalType":)", json::Quote(p.principal_type));
  if (!p.description.empty()) absl::StrAppend(&body, R"(,"description":)", json::Quote(p.description));
  absl::StrAppend(&body, "}}");
  return body;
}

}  // namespace

ArmClient::ArmClient(std::shared_ptr<http::HttpClient> http, UpstreamOptions options)
    : http_(std::move(http)), options_(std::move(options)) {}

http::HttpRequest ArmClient::NewRequest(std::string method, std::string operation, std::string tenant,
                                        std::string url) const {
  // ARM throttles per subscription, reads apart from writes and deletes (CONTRACTS.md §5.2).
  const std::string family = method == "GET" ? "arm-read/" : "arm-write/";
  const std::optional<std::string> subscription = SegmentAfter(url, "/subscriptions/");
  std::string rate_limit_key =
      subscription.has_value() ? absl::StrCat(family, *subscription) : absl::StrCat(family, "tenant:", tenant);
  return JsonRequest({.method = std::move(method), .url = std::move(url), .operation = std::move(operation),
                      .token_tenant = std::move(tenant), .token_scope = options_.arm_scope,
                      .rate_limit_keys = {std::move(rate_limit_key)},
                      .id_headers = kArmIdHeaders});
}

template <class T>
ops::OpTask<absl::StatusOr<std::vector<T>>> ArmClient::ListAll(const ops::OpContext& ctx, http::HttpRequest request,
                                                               std::string resource) {
  std::vector<T> all;
  std::set<std::string> seen;
  for (int pages = 0; pages < kMaxPages; ++pages) {
    absl::StatusOr<http::HttpResponse> response = co_await Call(*http_, ctx, request);
    if (!response.ok()) co_return response.status();
    if (!IsSuccess(*response)) co_return ArmError(*response, resource);
    absl::StatusOr<Page<T>> page = ParsePage<T>(response->body, resource, options_.arm_url);
    if (!page.ok()) co_return page.status();
    for (T& item : page->items) all.push_back(std::move(item));
    if (page->next_link.empty()) co_return all;
    if (!seen.insert(page->next_link).second) {
      co_return absl::InternalError(absl::StrCat(kService, " repeated a next link while listing ", resource));
    }
    request.url = std::move(page->next_link);
  }
  co_return absl::InternalError(absl::StrCat(kService, " returned more than ", kMaxPages, " pages of ", resource));
}

ops::OpTask<absl::StatusOr<std::vector<Subscription>>> ArmClient::ListSubscriptions(const ops::OpContext& ctx,
                                                                                   std::string tenant) {
  const std::string resource = absl::StrCat("subscriptions of tenant ", tenant);
  http::HttpRequest request = NewRequest("GET", "arm.list_subscriptions", std::move(tenant),
                                         JoinUrl(options_.arm_url, absl::StrCat("/subscriptions", SubscriptionsQuery())));
  co_return co_await ListAll<Subscription>(ctx, std::move(request), resource);
}

ops::OpTask<absl::StatusOr<std::vector<RoleDefinition>>> ArmClient::ListRoleDefinitions(const ops::OpContext& ctx,
                                                                                       std::string tenant,
                                                                                       std::string scope) {
  absl::StatusOr<std::string> path = ResourcePath(scope);
  if (!path.ok()) co_return path.status();
  http::HttpRequest request = NewRequest(
      "GET", "arm.list_role_definitions", std::move(tenant),
      JoinUrl(options_.arm_url,
              absl::StrCat(*path, kProvider, "/roleDefinitions", ApiVersionQuery())));
  co_return co_await ListAll<RoleDefinition>(ctx, std::move(request), absl::StrCat("role definitions at ", scope));
}

ops::OpTask<absl::StatusOr<RoleAssignment>> ArmClient::PutRoleAssignment(const ops::OpContext& ctx, std::string tenant,
                                                                        std::string scope, std::string name,
                                                                        ops::arm::RoleAssignmentProperties properties) {
  absl::StatusOr<std::string> path = ResourcePath(scope);
  if (!path.ok()) co_return path.status();
  if (name.empty()) co_return absl::InvalidArgumentError("empty role assignment name");
  http::HttpRequest request =
      NewRequest("PUT", "arm.put_role_assignment", std::move(tenant),
                 JoinUrl(options_.arm_url, absl::StrCat(*path, kProvider, "/roleAssignments/", PathSegment(name),
                                                        ApiVersionQuery())));
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = AssignmentBody(properties);
  // A PUT of a named resource: repeating it cannot create a second assignment.
  request.idempotent = true;
  absl::StatusOr<http::HttpResponse> response = co_await Call(*http_, ctx, std::move(request));
  if (!response.ok()) co_return response.status();
  if (!IsSuccess(*response)) co_return ArmError(*response, absl::StrCat("role assignment ", name, " at ", scope));
  co_return ParseAssignment(response->body);
}

ops::OpTask<absl::StatusOr<RoleAssignment>> ArmClient::GetRoleAssignment(const ops::OpContext& ctx, std::string tenant,
                                                                        std::string assignment_id) {
  absl::StatusOr<std::string> path = ResourcePath(assignment_id);
  if (!path.ok()) co_return path.status();
  http::HttpRequest request =
      NewRequest("GET", "arm.get_role_assignment", std::move(tenant),
                 JoinUrl(options_.arm_url, absl::StrCat(*path, ApiVersionQuery())));
  absl::StatusOr<http::HttpResponse> response = co_await Call(*http_, ctx, std::move(request));
  if (!response.ok()) co_return response.status();
  if (!IsSuccess(*response)) co_return ArmError(*response, absl::StrCat("role assignment ", assignment_id));
  co_return ParseAssignment(response->body);
}

ops::OpTask<absl::StatusOr<std::vector<RoleAssignment>>> ArmClient::ListRoleAssignments(
    const ops::OpContext& ctx, std::string tenant, std::string scope, std::optional<std::string> principal_id) {
  absl::StatusOr<std::string> path = ResourcePath(scope);
  if (!path.ok()) co_return path.status();
  const std::string filter =
      principal_id.has_value() ? absl::StrCat("principalId eq ", ODataString(*principal_id)) : std::string("atScope()");
  http::HttpRequest request = NewRequest(
      "GET", "arm.list_role_assignments", std::move(tenant),
      JoinUrl(options_.arm_url, absl::StrCat(*path, kProvider, "/roleAssignments",
                                             ApiVersionQuery(filter))));
  absl::StatusOr<std::vector<RoleAssignment>> all =
      co_await ListAll<RoleAssignment>(ctx, std::move(request), absl::StrCat("role assignments at ", scope));
  if (!all.ok() || !principal_id.has_value()) co_return all;
  // `principalId eq` also returns assignments below the scope; the port promises at and above.
  std::erase_if(*all, [&scope](const RoleAssignment& a) { return !a.scope.empty() && !AppliesAt(a.scope, scope); });
  co_return all;
}

ops::OpTask<absl::StatusOr<std::optional<RoleAssignment>>> ArmClient::DeleteRoleAssignment(const ops::OpContext& ctx,
                                                                                          std::string tenant,
                                                                                          std::string assignment_id) {
  absl::StatusOr<std::string> path = ResourcePath(assignment_id);
  if (!path.ok()) co_return path.status();
  http::HttpRequest request =
      NewRequest("DELETE", "arm.delete_role_assignment", std::move(tenant),
                 JoinUrl(options_.arm_url, absl::StrCat(*path, ApiVersionQuery())));
  absl::StatusOr<http::HttpResponse> response = co_await Call(*http_, ctx, std::move(request));
  if (!response.ok()) co_return response.status();
  if (!IsSuccess(*response)) co_return ArmError(*response, absl::StrCat("role assignment ", assignment_id));
  // 204: nothing was there to delete (CONTRACTS.md §5.6).
  if (response->status == 204) co_return std::nullopt;
  absl::StatusOr<RoleAssignment> deleted = ParseAssignment(response->body);
  if (!deleted.ok()) co_return deleted.status();
  co_return std::optional<RoleAssignment>(*std::move(deleted));
}

}  // namespace partner::upstream
