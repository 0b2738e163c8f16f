// Azure Resource Manager (CONTRACTS.md §5): subscriptions, role definitions and role assignments
// with the real error codes, token-tenant checks, api-version, token-bucket throttling headers.
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "emulator/json_text.h"
#include "emulator/services.h"
#include "nlohmann/json.hpp"

namespace partner::emulator {
namespace {

using nlohmann::json;

constexpr absl::string_view kProvider = "Microsoft.Authorization";

std::string Hyphenless(absl::string_view guid) { return absl::StrReplaceAll(Lower(guid), {{"-", ""}}); }

// "/subscriptions/a" is at or above "/subscriptions/a/resourceGroups/b".
bool IsAtOrAbove(const std::string& outer, const std::string& inner) {
  return absl::EqualsIgnoreCase(outer, inner) || absl::StartsWithIgnoreCase(inner, outer + "/");
}

json AssignmentJson(const RoleAssignment& a, const std::string& subscription) {
  return {{"properties",
           {{"roleDefinitionId", absl::StrCat("/subscriptions/", subscription, "/providers/", kProvider, "/roleDefinitions/", a.role_definition_guid)},
            {"principalId", a.principal_id},
            {"principalType", a.principal_type},
            {"scope", a.scope},
            {"condition", nullptr},
            {"conditionVersion", nullptr},
            {"createdOn", FormatArmTime(a.created)},
            {"updatedOn", FormatArmTime(a.created)},
            {"createdBy", nullptr},
            {"updatedBy", "5c7e1a9d-3b2f-4e60-a8d4-9f0b2c6e1d73"},
            {"delegatedManagedIdentityResourceId", nullptr},
            {"description", a.description.empty() ? json(nullptr) : json(a.description)}}},
          {"id", absl::StrCat(a.scope, "/providers/", kProvider, "/roleAssignments/", a.name)},
          {"type", "Microsoft.Authorization/roleAssignments"},
          {"name", a.name}};
}

json RoleJson(const RoleDefinition& r, const std::string& subscription) {
  return {{"properties",
           {{"roleName", r.role_name},
            {"type", r.type},
            {"description", r.description},
            {"assignableScopes", json::array({r.assignable_scope.empty() ? absl::StrCat("/subscriptions/", subscription) : r.assignable_scope})},
            {"permissions", json::array({{{"actions", json::array({"*/read"})}, {"notActions", json::array()}}})},
            {"createdOn", "2015-02-02T21:55:09.8806423Z"},
            {"updatedOn", "2024-05-01T00:00:00.0000000Z"}}},
          {"id", absl::StrCat("/subscriptions/", subscription, "/providers/", kProvider, "/roleDefinitions/", r.guid)},
          {"type", "Microsoft.Authorization/roleDefinitions"},
          {"name", r.guid}};
}

// One subscription in the shape of both GET /subscriptions and GET /subscriptions/{id} (§5.3).
json SubscriptionJson(const AzureSubscription& azure) {
  return {{"id", absl::StrCat("/subscriptions/", azure.id)},
          {"authorizationSource", "RoleBased"},
          {"managedByTenants", json::array()},
          {"subscriptionId", azure.id},
          {"tenantId", azure.tenant_id},
          {"displayName", azure.display_name},
          {"state", azure.state},
          {"subscriptionPolicies", {{"locationPlacementId", "Public_2014-09-01"}, {"quotaId", "CSP_2015-05-01"}, {"spendingLimit", "Off"}}},
          {"tags", json::object()}};
}

// The value of "name eq 'value'" in an OData filter, unquoting doubled quotes.
std::optional<std::string> EqualsLiteral(absl::string_view filter, absl::string_view name) {
  filter = absl::StripAsciiWhitespace(filter);
  if (!absl::ConsumePrefix(&filter, name)) return std::nullopt;
  filter = absl::StripLeadingAsciiWhitespace(filter);
  if (!absl::ConsumePrefix(&filter, "eq")) return std::nullopt;
  filter = absl::StripAsciiWhitespace(filter);
  if (filter.size() < 2 || filter.front() != '\'' || filter.back() != '\'') return std::nullopt;
  return absl::StrReplaceAll(filter.substr(1, filter.size() - 2), {{"''", "'"}});
}

}  // namespace

EmuResponse Services::HandleArm(const EmuRequest& request) {
  const std::vector<std::string>& s = request.segments;
  std::vector<std::pair<std::string, std::string>> extra_headers;
  auto respond = [&](int status, const json& body) {
    EmuResponse response;
    response.status = status;
    if (!body.is_null()) {
      response.body = JsonText(body);
      response.With("Content-Type", "application/json; charset=utf-8");
    }
    std::optional<absl::string_view> correlation = request.Header("x-ms-correlation-request-id");
    const std::string request_id = NewGuid();
    response.With("x-ms-request-id", request_id)
        .With("x-ms-correlation-request-id", correlation ? std::string(*correlation) : request_id)
        .With("x-ms-routing-request-id", absl::StrCat("UKSOUTH:", absl::FormatTime("%Y%m%dT%H%M%SZ", clock_(), absl::UTCTimeZone()), ":", request_id))
        .With("Cache-Control", "no-cache");
    for (auto& header : extra_headers) response.headers.push_back(header);
    return response;
  };
  auto error = [&](int status, const std::string& code, const std::string& message) {
    return respond(status, {{"error", {{"code", code}, {"message", message}}}});
  };

  if (!request.Query("api-version")) {
    Count("arm.missing_api_version");
    return error(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.");
  }
  TokenProblem problem;
  absl::StatusOr<std::string> token_tenant = Authenticate(request, options_.audiences.arm, &problem);
  if (!token_tenant.ok()) {
    Count("arm.unauthenticated");
    switch (problem) {
      case TokenProblem::kMissing:
        return error(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.");
      case TokenProblem::kExpired:
        return error(401, "ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time.");
      case TokenProblem::kWrongAudience:
        return error(401, "InvalidAuthenticationToken", "The access token has an invalid audience for Azure Resource Manager.");
      case TokenProblem::kUnknown:
        break;
    }
    return error(401, "InvalidAuthenticationToken", "The access token is invalid.");
  }

  if (s.size() == 1) {
    Count("arm.list_subscriptions");
    // Only what the app's service principal in the token's tenant holds a role on (§5.3).
    json value = json::array();
    for (const auto& [id, azure] : azure_) {
      if (azure.tenant_id == *token_tenant && !azure.authorization_denied) value.push_back(SubscriptionJson(azure));
    }
    return respond(200, {{"value", value}, {"nextLink", nullptr}});
  }
  AzureSubscription* azure = FindAzureSubscription(s[1]);
  // A subscription the app holds no role on is as unknown to it as one that does not exist.
  if (azure != nullptr && s.size() == 2 && azure->tenant_id == *token_tenant && azure->authorization_denied) azure = nullptr;
  if (azure == nullptr) {
    Count("arm.subscription_not_found");
    return error(404, "SubscriptionNotFound", absl::StrCat("The subscription '", s[1], "' could not be found."));
  }
  if (azure->tenant_id != *token_tenant) {
    Count("arm.wrong_tenant");
    return error(401, "InvalidAuthenticationTokenTenant",
                 absl::StrCat("The access token is from the wrong issuer 'https://sts.windows.net/", *token_tenant,
                              "/'. It must match the tenant 'https://sts.windows.net/", azure->tenant_id,
                              "/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/",
                              azure->tenant_id, "' to get the token."));
  }
  if (azure->authorization_denied) {
    // ARM names the denied action; the collection is the last type segment before any name.
    std::string type = "Microsoft.Resources/subscriptions";
    for (std::size_t i = 2; i + 2 < s.size(); ++i) {
      if (absl::EqualsIgnoreCase(s[i], "providers")) type = absl::StrCat(s[i + 1], "/", s[i + 2]);
    }
    const char* verb = request.method == "PUT" ? "write" : request.method == "DELETE" ? "delete" : "read";
    return error(403, "AuthorizationFailed",
                 absl::StrCat("The client '", options_.app_id, "' with object id '", options_.app_id,
                              "' does not have authorization to perform action '", type, "/", verb, "' over scope '/",
                              absl::StrJoin(s, "/"),
                              "' or the scope is invalid. If access was recently granted, please refresh your credentials."));
  }
  const std::string kind = request.method == "PUT" ? "writes" : request.method == "DELETE" ? "deletes" : "reads";
  std::optional<int> remaining = TakeArmToken(azure->id, kind);
  if (!remaining) {
    Count("arm.throttled");
    extra_headers.emplace_back("Retry-After", "1");
    return error(429, "SubscriptionRequestsThrottled",
                 absl::StrCat("Number of '", kind == "reads" ? "read" : kind == "writes" ? "write" : "delete",
                              "' requests for subscription '", azure->id, "' actor '", options_.app_id,
                              "' exceeded. Please try again after '1' seconds."));
  }
  extra_headers.emplace_back(absl::StrCat("x-ms-ratelimit-remaining-subscription-", kind), absl::StrCat(*remaining));
  extra_headers.emplace_back(absl::StrCat("x-ms-ratelimit-remaining-subscription-global-", kind), absl::StrCat(*remaining * 15));

  if (s.size() == 2) {
    Count("arm.get_subscription");
    return respond(200, SubscriptionJson(*azure));
  }
  std::size_t index = 2;
  std::string scope = absl::StrCat("/subscriptions/", azure->id);
  if (absl::EqualsIgnoreCase(s[2], "resourceGroups")) {
    if (s.size() < 4) return error(404, "InvalidResourceType", "The resource type could not be found.");
    if (std::find(azure->resource_groups.begin(), azure->resource_groups.end(), Lower(s[3])) == azure->resource_groups.end()) {
      Count("arm.resource_group_not_found");
      return error(404, "ResourceGroupNotFound", absl::StrCat("Resource group '", s[3], "' could not be found."));
    }
    scope = absl::StrCat(scope, "/resourceGroups/", s[3]);
    index = 4;
  }
  if (s.size() < index + 3 || !absl::EqualsIgnoreCase(s[index], "providers") || !absl::EqualsIgnoreCase(s[index + 1], kProvider) ||
      s.size() > index + 4) {
    return error(404, "InvalidResourceType", "The resource type could not be found in the namespace.");
  }
  const std::string collection = Lower(s[index + 2]);
  const std::optional<std::string> name = s.size() == index + 4 ? std::optional<std::string>(s[index + 3]) : std::nullopt;
  const std::string& tenant = azure->tenant_id;
  const std::string& subscription = azure->id;

  if (collection == "roledefinitions") {
    if (request.method != "GET") return error(405, "MethodNotAllowed", "Role definitions are read-only here.");
    if (name) {
      Count("arm.get_role_definition");
      const RoleDefinition* role = FindRole(tenant, *name);
      if (role == nullptr) {
        return error(404, "RoleDefinitionDoesNotExist", absl::StrCat("The specified role definition with ID '", *name, "' does not exist."));
      }
      return respond(200, RoleJson(*role, subscription));
    }
    Count("arm.list_role_definitions");
    std::optional<std::string> role_name;
    std::optional<std::string> type;
    if (std::optional<absl::string_view> filter = request.Query("$filter")) {
      role_name = EqualsLiteral(*filter, "roleName");
      type = EqualsLiteral(*filter, "type");
      if (!role_name && !type) return error(400, "InvalidFilterInQueryString", absl::StrCat("Unsupported filter '", *filter, "'."));
    }
    json value = json::array();
    for (const RoleDefinition& role : RolesOf(tenant)) {
      if (role_name && !absl::EqualsIgnoreCase(role.role_name, *role_name)) continue;
      if (type && role.type != *type) continue;
      value.push_back(RoleJson(role, subscription));
    }
    return respond(200, {{"value", value}, {"nextLink", nullptr}});
  }
  if (collection != "roleassignments") {
    return error(404, "InvalidResourceType", absl::StrCat("The resource type '", s[index + 2], "' could not be found in the namespace 'Microsoft.Authorization'."));
  }

  if (!name) {
    if (request.method != "GET") return error(405, "MethodNotAllowed", "Use PUT or DELETE on a named role assignment.");
    Count("arm.list_role_assignments");
    bool at_scope_only = false;
    std::optional<std::string> principal;
    if (std::optional<absl::string_view> raw = request.Query("$filter")) {
      absl::string_view filter = absl::StripAsciiWhitespace(*raw);
      if (absl::ConsumePrefix(&filter, "atScope()")) {
        at_scope_only = true;
        filter = absl::StripLeadingAsciiWhitespace(filter);
        if (!filter.empty() && !absl::ConsumePrefix(&filter, "and ")) filter = "?";
        filter = absl::StripLeadingAsciiWhitespace(filter);
      }
      if (absl::ConsumePrefix(&filter, "assignedTo('") && absl::ConsumeSuffix(&filter, "')")) {
        principal = std::string(filter);
      } else if (std::optional<std::string> id = EqualsLiteral(filter, "principalId")) {
        principal = *id;
      } else if (!filter.empty()) {
        return error(400, "InvalidFilterInQueryString", absl::StrCat("Unsupported filter '", *raw, "'."));
      }
    }
    std::vector<const RoleAssignment*> matching;
    for (const RoleAssignment* a : assignments_.InSubscription(subscription)) {
      if (principal && !absl::EqualsIgnoreCase(a->principal_id, *principal)) continue;
      const bool above = IsAtOrAbove(a->scope, scope);
      const bool below = IsAtOrAbove(scope, a->scope);
      if (at_scope_only ? !above : !(above || below)) continue;
      matching.push_back(a);
    }
    std::size_t offset = 0;
    if (std::optional<absl::string_view> skip = request.Query("$skipToken")) {
      if (!absl::SimpleAtoi(*skip, &offset) || offset > matching.size()) return error(400, "InvalidSkipToken", "The skip token is invalid.");
    }
    json value = json::array();
    std::size_t i = offset;
    for (; i < matching.size() && value.size() < static_cast<std::size_t>(options_.arm_page_size); ++i) {
      value.push_back(AssignmentJson(*matching[i], subscription));
    }
    json next = nullptr;
    if (i < matching.size()) {
      std::string link = absl::StrCat(base_url_, request.raw_path, "?api-version=", PercentEncode(*request.Query("api-version")));
      if (std::optional<absl::string_view> filter = request.Query("$filter")) absl::StrAppend(&link, "&$filter=", PercentEncode(*filter));
      next = absl::StrCat(link, "&$skipToken=", i);
    }
    return respond(200, {{"value", value}, {"nextLink", next}});
  }

  if (!IsGuid(*name)) {
    return error(400, "InvalidRoleAssignmentId", absl::StrCat("The role assignment ID '", *name, "' is not valid. The role assignment ID must be a GUID."));
  }
  const std::string key = Lower(*name);
  const RoleAssignment* existing = assignments_.Find(key);
  if (request.method == "GET") {
    Count("arm.get_role_assignment");
    if (existing == nullptr || !absl::EqualsIgnoreCase(existing->scope, scope)) {
      return error(404, "RoleAssignmentNotFound", "The role assignment '" + *name + "' is not found.");
    }
    return respond(200, AssignmentJson(*existing, subscription));
  }
  if (request.method == "DELETE") {
    Count("arm.delete_role_assignment");
    if (existing == nullptr || !absl::EqualsIgnoreCase(existing->scope, scope)) return respond(204, nullptr);
    json body = AssignmentJson(*existing, subscription);
    assignments_.Erase(key);
    state_changed_ = true;
    return respond(200, body);
  }
  if (request.method != "PUT") return error(405, "MethodNotAllowed", "The method is not allowed.");
  Count("arm.put_role_assignment");
  const json body = json::parse(request.body, nullptr, false);
  if (!body.is_object() || !body.contains("properties") || !body["properties"].is_object()) {
    return error(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: 'properties' is required.");
  }
  const json& p = body["properties"];
  auto text = [&](const char* field) {
    auto it = p.find(field);
    return it != p.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string role_definition_id = text("roleDefinitionId");
  const std::string principal_id = text("principalId");
  const std::string principal_type = text("principalType");
  const std::string description = text("description");
  if (role_definition_id.empty() || principal_id.empty()) {
    return error(400, "InvalidRequestContent", "The request content was invalid: roleDefinitionId and principalId are required.");
  }
  if (!IsGuid(principal_id)) return error(400, "InvalidPrincipalId", absl::StrCat("The Principal ID '", principal_id, "' is not valid."));
  if (!principal_type.empty() && principal_type != "User" && principal_type != "Group" &&
      principal_type != "ServicePrincipal" && principal_type != "ForeignGroup") {
    return error(400, "InvalidRequestContent", absl::StrCat("The principalType '", principal_type, "' is not valid."));
  }
  const std::size_t slash = role_definition_id.rfind('/');
  const std::string role_guid = slash == std::string::npos ? role_definition_id : role_definition_id.substr(slash + 1);
  const std::string expected_prefix = absl::StrCat("/subscriptions/", subscription, "/providers/", kProvider, "/roleDefinitions/");
  const std::string tenant_prefix = absl::StrCat("/providers/", kProvider, "/roleDefinitions/");
  const RoleDefinition* role = FindRole(tenant, role_guid);
  if (role == nullptr || slash == std::string::npos ||
      !(absl::EqualsIgnoreCase(role_definition_id.substr(0, slash + 1), expected_prefix) ||
        absl::EqualsIgnoreCase(role_definition_id.substr(0, slash + 1), tenant_prefix))) {
    return error(404, "RoleDefinitionDoesNotExist", absl::StrCat("The specified role definition with ID '", role_guid, "' does not exist."));
  }
  const Customer* customer = FindCustomer(tenant);
  const User* user = nullptr;
  for (const User& candidate : customer->users) {
    if (absl::EqualsIgnoreCase(candidate.id, principal_id)) user = &candidate;
  }
  const bool replicated = user != nullptr && user->created + options_.principal_replication_delay <= clock_();
  if (principal_type.empty() && !replicated) {
    return error(400, "PrincipalNotFound",
                 absl::StrCat("Principal ", Hyphenless(principal_id), " does not exist in the directory ", tenant,
                              ". Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype"));
  }
  RoleAssignment wanted{Lower(*name), scope, Lower(role_guid), Lower(principal_id), principal_type.empty() ? "User" : principal_type, description, clock_()};
  if (existing != nullptr) {
    const RoleAssignment& have = *existing;
    if (!absl::EqualsIgnoreCase(have.scope, scope) || have.role_definition_guid != wanted.role_definition_guid ||
        have.principal_id != wanted.principal_id) {
      return error(400, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.");
    }
    return respond(200, AssignmentJson(have, subscription));
  }
  const std::vector<const RoleAssignment*> in_subscription = assignments_.InSubscription(subscription);
  for (const RoleAssignment* a : in_subscription) {
    if (absl::EqualsIgnoreCase(a->scope, scope) && a->role_definition_guid == wanted.role_definition_guid &&
        a->principal_id == wanted.principal_id) {
      return error(409, "RoleAssignmentExists",
                   options_.arm_exists_names_existing_id
                       ? absl::StrCat("The role assignment already exists. The ID of the existing role assignment is ", Hyphenless(a->name), ".")
                       : std::string("The role assignment already exists."));
    }
  }
  if (static_cast<int>(in_subscription.size()) >= options_.role_assignment_limit) {
    return error(400, "RoleAssignmentLimitExceeded", "No more role assignments can be created.");
  }
  const json created = AssignmentJson(wanted, subscription);
  assignments_.Put(std::move(wanted));
  state_changed_ = true;
  return respond(201, created);
}

}  // namespace partner::emulator
