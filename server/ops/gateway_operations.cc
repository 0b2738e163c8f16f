#include "server/ops/gateway_operations.h"

#include <openssl/rand.h>

#include <algorithm>
#include <coroutine>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/time_util.h"
#include "server/ops/error_reason.h"
#include "server/ops/naming.h"
#include "server/ops/single_flight.h"

namespace partner::ops {
namespace {

constexpr int kDefaultPageSize = 100;

std::string Lower(absl::string_view s) { return absl::AsciiStrToLower(s); }

std::string LastSegment(absl::string_view id) {
  const size_t slash = id.rfind('/');
  return std::string(slash == absl::string_view::npos ? id : id.substr(slash + 1));
}

std::string UpstreamCode(const absl::Status& status) {
  const std::map<std::string, std::string> details = GetUpstreamDetails(status);
  auto it = details.find("upstreamCode");
  return it == details.end() ? std::string() : it->second;
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t nanos = absl::ToUnixNanos(t);
  ts.set_seconds(nanos / 1000000000);
  ts.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  return ts;
}

// The wire types are taken by value and their strings moved: a page of 100 customers otherwise
// copies 300 strings, most too long for the small-string buffer.
v1::Customer ToProto(pc::Customer c) {
  v1::Customer out;
  out.set_customer_id(std::move(c.id));
  out.set_company_name(std::move(c.company_name));
  out.set_domain(std::move(c.domain));
  out.set_relationship(RelationshipFromPartnerCenter(c.relationship_to_partner));
  if (c.allow_delegated_access.has_value()) out.set_allow_delegated_access(*c.allow_delegated_access);
  return out;
}

v1::Subscription ToProto(pc::Subscription s) {
  v1::Subscription out;
  out.set_kind(KindForOffer(s.offer_id));
  out.set_subscription_id(std::move(s.id));
  out.set_offer_id(std::move(s.offer_id));
  out.set_offer_name(std::move(s.offer_name));
  out.set_friendly_name(std::move(s.friendly_name));
  out.set_quantity(s.quantity);
  out.set_status(StatusFromPartnerCenter(s.status));
  if (s.creation_date.has_value()) *out.mutable_create_time() = ToTimestamp(*s.creation_date);
  return out;
}

v1::CustomerUser ToProto(graph::User u) {
  v1::CustomerUser out;
  out.set_object_id(std::move(u.id));
  out.set_user_principal_name(std::move(u.user_principal_name));
  out.set_display_name(std::move(u.display_name));
  out.set_mail(std::move(u.mail));
  return out;
}

v1::RoleDefinition ToProto(const arm::RoleDefinition& d) {
  v1::RoleDefinition out;
  out.set_role_definition_id(LastSegment(d.id));
  out.set_role_name(d.role_name);
  out.set_role_type(absl::EqualsIgnoreCase(d.type, "BuiltInRole") ? v1::ROLE_TYPE_BUILT_IN
                                                                   : v1::ROLE_TYPE_CUSTOM);
  out.set_description(d.description);
  return out;
}

v1::RoleAssignment ToProto(const arm::RoleAssignment& a, absl::string_view role_name) {
  v1::RoleAssignment out;
  out.set_role_assignment_id(a.id);
  out.set_name(a.name);
  out.set_scope(a.scope);
  out.set_role_definition_id(Lower(LastSegment(a.role_definition_id)));
  out.set_role_name(std::string(role_name));
  out.set_principal_id(a.principal_id);
  out.set_principal_type(PrincipalTypeFromArm(a.principal_type));
  out.set_description(a.description);
  if (a.created_on.has_value()) *out.mutable_create_time() = ToTimestamp(*a.created_on);
  return out;
}

struct ResolvedPrincipal {
  std::string object_id;
  v1::PrincipalType type = v1::PRINCIPAL_TYPE_USER;
};

std::string GeneratePassword() {
  // Graph's complexity rule: three of upper, lower, digit, symbol. All four are used.
  static constexpr char kUpper[] = "ABCDEFGHJKLMNPQRSTUVWXYZ";
  static constexpr char kLower[] = "abcdefghijkmnopqrstuvwxyz";
  static constexpr char kDigit[] = "23456789";
  static constexpr char kSymbol[] = "!@#$%^*-_=+?";
  unsigned char random[20];
  if (RAND_bytes(random, sizeof(random)) != 1) return std::string();
  std::string out;
  const char* sets[] = {kUpper, kLower, kDigit, kSymbol};
  const size_t sizes[] = {sizeof(kUpper) - 1, sizeof(kLower) - 1, sizeof(kDigit) - 1, sizeof(kSymbol) - 1};
  for (size_t i = 0; i < sizeof(random); ++i) {
    const size_t set = i < 4 ? i : random[i] % 4;
    out.push_back(sets[set][random[(i + 7) % sizeof(random)] % sizes[set]]);
  }
  return out;
}

class GatewayOperations final : public Operations {
 public:
  void ListCustomers(OpContext ctx, v1::ListCustomersRequest request, Done<v1::ListCustomersResponse> done) override {
    StartOpTask(DoListCustomers(std::move(ctx), std::move(request)), std::move(done));
  }

  void GetCustomer(OpContext ctx, v1::GetCustomerRequest request, Done<v1::GetCustomerResponse> done) override {
    StartOpTask(DoGetCustomer(std::move(ctx), std::move(request)), std::move(done));
  }

  void ListCustomerUsers(OpContext ctx, v1::ListCustomerUsersRequest request, Done<v1::ListCustomerUsersResponse> done) override {
    StartOpTask(DoListCustomerUsers(std::move(ctx), std::move(request)), std::move(done));
  }

  void CreateCustomerUser(OpContext ctx, v1::CreateCustomerUserRequest request, Done<v1::CreateCustomerUserResponse> done) override {
    StartOpTask(DoCreateCustomerUser(std::move(ctx), std::move(request)), std::move(done));
  }

  void ListSubscriptions(OpContext ctx, v1::ListSubscriptionsRequest request, Done<v1::ListSubscriptionsResponse> done) override {
    StartOpTask(DoListSubscriptions(std::move(ctx), std::move(request)), std::move(done));
  }

  void GetSubscription(OpContext ctx, v1::GetSubscriptionRequest request, Done<v1::GetSubscriptionResponse> done) override {
    StartOpTask(DoGetSubscription(std::move(ctx), std::move(request)), std::move(done));
  }

  void ListAzureSubscriptions(OpContext ctx, v1::ListAzureSubscriptionsRequest request, Done<v1::ListAzureSubscriptionsResponse> done) override {
    StartOpTask(DoListAzureSubscriptions(std::move(ctx), std::move(request)), std::move(done));
  }

  void ListRoleDefinitions(OpContext ctx, v1::ListRoleDefinitionsRequest request, Done<v1::ListRoleDefinitionsResponse> done) override {
    StartOpTask(DoListRoleDefinitions(std::move(ctx), std::move(request)), std::move(done));
  }

  void AssignRole(OpContext ctx, v1::AssignRoleRequest request, Done<v1::AssignRoleResponse> done) override {
    StartOpTask(DoAssignRole(std::move(ctx), std::move(request)), std::move(done));
  }

  void ListRoleAssignments(OpContext ctx, v1::ListRoleAssignmentsRequest request, Done<v1::ListRoleAssignmentsResponse> done) override {
    StartOpTask(DoListRoleAssignments(std::move(ctx), std::move(request)), std::move(done));
  }

  void RevokeRole(OpContext ctx, v1::RevokeRoleRequest request, Done<v1::RevokeRoleResponse> done) override {
    StartOpTask(DoRevokeRole(std::move(ctx), std::move(request)), std::move(done));
  }

  GatewayOperations(pc::PartnerCenterPort& partner_center, arm::ArmPort& arm, graph::GraphPort& graph,
                    OpClock& clock, OperationsOptions options)
      : pc_(partner_center), arm_(arm), graph_(graph), clock_(clock), options_(options) {}

  OpTask<absl::StatusOr<v1::ListCustomersResponse>> DoListCustomers(OpContext ctx, v1::ListCustomersRequest request) {
    pc::CustomerQuery query;
    query.size = request.page_size() == 0 ? kDefaultPageSize : request.page_size();
    if (request.has_company_name_prefix()) query.name_prefix = request.company_name_prefix();
    if (request.has_domain_prefix()) query.domain_prefix = request.domain_prefix();
    query.continuation = request.page_token();
    absl::StatusOr<pc::CustomerPage> page = co_await pc_.ListCustomers(ctx, query);
    if (!page.ok()) co_return page.status();
    v1::ListCustomersResponse response;
    for (pc::Customer& c : page->customers) *response.add_customers() = ToProto(std::move(c));
    response.set_next_page_token(std::move(page->continuation));
    co_return response;
  }

  OpTask<absl::StatusOr<v1::GetCustomerResponse>> DoGetCustomer(OpContext ctx, v1::GetCustomerRequest request) {
    absl::StatusOr<pc::Customer> customer = co_await pc_.GetCustomer(ctx, Lower(request.customer_id()));
    if (!customer.ok()) co_return customer.status();
    v1::GetCustomerResponse response;
    *response.mutable_customer() = ToProto(*std::move(customer));
    co_return response;
  }

  OpTask<absl::StatusOr<v1::ListCustomerUsersResponse>> DoListCustomerUsers(OpContext ctx, v1::ListCustomerUsersRequest request) {
    graph::UserQuery query;
    query.top = request.page_size() == 0 ? kDefaultPageSize : request.page_size();
    query.skip_token = request.page_token();
    if (!request.search_prefix().empty()) query.search_prefix = request.search_prefix();
    absl::StatusOr<graph::UserPage> page = co_await graph_.ListUsers(ctx, Lower(request.customer_id()), query);
    if (!page.ok()) co_return page.status();
    v1::ListCustomerUsersResponse response;
    for (graph::User& u : page->users) *response.add_users() = ToProto(std::move(u));
    response.set_next_page_token(std::move(page->skip_token));
    co_return response;
  }

  OpTask<absl::StatusOr<v1::CreateCustomerUserResponse>> DoCreateCustomerUser(OpContext ctx, v1::CreateCustomerUserRequest request) {
    const std::string tenant = Lower(request.customer_id());
    // An unknown customer is NOT_FOUND from Partner Center, not a Graph token failure.
    absl::StatusOr<pc::Customer> customer = co_await pc_.GetCustomer(ctx, tenant);
    if (!customer.ok()) co_return customer.status();
    if (request.validate_only()) {
      absl::StatusOr<graph::User> existing = co_await graph_.GetUser(ctx, tenant, request.user_principal_name());
      if (existing.ok()) {
        co_return WithReason(absl::AlreadyExistsError(absl::StrCat("user ", request.user_principal_name(),
                                                                   " already exists in customer ", tenant)),
                             v1::ERROR_REASON_CONFLICT);
      }
      if (existing.status().code() != absl::StatusCode::kNotFound) co_return existing.status();
      v1::CreateCustomerUserResponse response;
      response.mutable_user()->set_user_principal_name(request.user_principal_name());
      response.mutable_user()->set_display_name(request.display_name());
      co_return response;
    }
    graph::NewUser user;
    user.user_principal_name = request.user_principal_name();
    user.display_name = request.display_name();
    user.mail_nickname = request.user_principal_name().substr(0, request.user_principal_name().find('@'));
    user.usage_location = absl::AsciiStrToUpper(request.usage_location());
    user.password = GeneratePassword();
    if (user.password.empty()) co_return absl::InternalError("no randomness for the one-time password");
    user.force_change_password_next_sign_in = true;
    user.account_enabled = true;
    absl::StatusOr<graph::User> created = co_await graph_.CreateUser(ctx, tenant, user);
    if (!created.ok() && IsTransient(created.status())) {
      // The first POST may have reached Graph even though its answer was lost: retry once, and
      // if the retry meets the duplicate UPN, the user it finds is the one just created.
      absl::StatusOr<graph::User> retried = co_await graph_.CreateUser(ctx, tenant, user);
      if (retried.status().code() == absl::StatusCode::kAlreadyExists) {
        absl::StatusOr<graph::User> found = co_await graph_.GetUser(ctx, tenant, user.user_principal_name);
        if (found.ok() && found->display_name == user.display_name) retried = std::move(found);
      }
      created = std::move(retried);
    }
    if (!created.ok()) co_return created.status();
    v1::CreateCustomerUserResponse response;
    *response.mutable_user() = ToProto(*std::move(created));
    response.set_one_time_password(user.password);
    co_return response;
  }

  OpTask<absl::StatusOr<v1::ListSubscriptionsResponse>> DoListSubscriptions(OpContext ctx, v1::ListSubscriptionsRequest request) {
    absl::StatusOr<std::vector<pc::Subscription>> subs =
        co_await pc_.ListSubscriptions(ctx, Lower(request.customer_id()));
    if (!subs.ok()) co_return subs.status();
    v1::ListSubscriptionsResponse response;
    for (pc::Subscription& s : *subs) *response.add_subscriptions() = ToProto(std::move(s));
    co_return response;
  }

  OpTask<absl::StatusOr<v1::GetSubscriptionResponse>> DoGetSubscription(OpContext ctx, v1::GetSubscriptionRequest request) {
    absl::StatusOr<pc::Subscription> sub =
        co_await pc_.GetSubscription(ctx, Lower(request.customer_id()), request.subscription_id());
    if (!sub.ok()) co_return sub.status();
    v1::GetSubscriptionResponse response;
    *response.mutable_subscription() = ToProto(*std::move(sub));
    co_return response;
  }

  OpTask<absl::StatusOr<v1::ListAzureSubscriptionsResponse>> DoListAzureSubscriptions(OpContext ctx, v1::ListAzureSubscriptionsRequest request) {
    absl::StatusOr<std::vector<v1::AzureSubscription>> azure =
        co_await AzureSubscriptions(ctx, Lower(request.customer_id()), /*use_cache=*/false);
    if (!azure.ok()) co_return azure.status();
    if (request.include_arm_state()) {
      absl::StatusOr<std::vector<arm::Subscription>> visible =
          co_await arm_.ListSubscriptions(ctx, Lower(request.customer_id()));
      if (!visible.ok()) co_return visible.status();
      std::map<std::string, std::string> state_by_id;
      for (const arm::Subscription& v : *visible) state_by_id[Lower(v.subscription_id)] = v.state;
      for (v1::AzureSubscription& a : *azure) {
        // Partner Center ids are lower-cased above; ARM's letter case is its own.
        auto it = state_by_id.find(a.azure_subscription_id());
        if (it != state_by_id.end()) a.set_arm_state(it->second);
      }
    }
    v1::ListAzureSubscriptionsResponse response;
    for (v1::AzureSubscription& a : *azure) *response.add_azure_subscriptions() = std::move(a);
    co_return response;
  }

  OpTask<absl::StatusOr<v1::ListRoleDefinitionsResponse>> DoListRoleDefinitions(OpContext ctx, v1::ListRoleDefinitionsRequest request) {
    const std::string tenant = Lower(request.customer_id());
    const std::string sub = Lower(request.azure_subscription_id());
    absl::Status owned = co_await EnsureOwned(ctx, tenant, sub);
    if (!owned.ok()) co_return owned;
    absl::StatusOr<std::vector<arm::RoleDefinition>> defs = co_await RoleDefinitions(ctx, tenant, sub);
    if (!defs.ok()) co_return defs.status();
    std::vector<v1::RoleDefinition> out;
    for (const arm::RoleDefinition& d : *defs) {
      v1::RoleDefinition p = ToProto(d);
      if (request.role_type() == v1::ROLE_TYPE_UNSPECIFIED || request.role_type() == p.role_type()) {
        out.push_back(std::move(p));
      }
    }
    std::sort(out.begin(), out.end(), [](const v1::RoleDefinition& a, const v1::RoleDefinition& b) {
      if (a.role_type() != b.role_type()) return a.role_type() < b.role_type();
      return a.role_name() < b.role_name();
    });
    v1::ListRoleDefinitionsResponse response;
    for (v1::RoleDefinition& d : out) *response.add_role_definitions() = std::move(d);
    co_return response;
  }

  OpTask<absl::StatusOr<v1::AssignRoleResponse>> DoAssignRole(OpContext ctx, v1::AssignRoleRequest request) {
    const std::string tenant = Lower(request.customer_id());
    const std::string sub = Lower(request.azure_subscription_id());
    absl::Status owned = co_await EnsureOwned(ctx, tenant, sub);
    if (!owned.ok()) co_return owned;
    const v1::PrincipalType requested_type = request.principal_type() == v1::PRINCIPAL_TYPE_UNSPECIFIED
                                                 ? v1::PRINCIPAL_TYPE_USER
                                                 : request.principal_type();
    absl::StatusOr<ResolvedPrincipal> principal =
        co_await ResolvePrincipal(ctx, tenant, request.principal(), requested_type);
    if (!principal.ok()) co_return principal.status();
    absl::StatusOr<std::vector<arm::RoleDefinition>> defs = co_await RoleDefinitions(ctx, tenant, sub);
    if (!defs.ok()) co_return defs.status();
    absl::StatusOr<arm::RoleDefinition> role = FindRole(*defs, request.role(), sub);
    if (!role.ok()) co_return role.status();

    const std::string scope = ScopeFor(sub, request.resource_group());
    const std::string name = RoleAssignmentName(scope, principal->object_id, LastSegment(role->id));
    const std::string id = absl::StrCat(scope, "/providers/Microsoft.Authorization/roleAssignments/", name);

    // An identical assignment, under our name or another one, is success.
    absl::StatusOr<std::optional<arm::RoleAssignment>> existing =
        co_await FindExisting(ctx, tenant, scope, id, principal->object_id, role->id);
    if (!existing.ok()) co_return existing.status();
    if (existing->has_value()) {
      v1::AssignRoleResponse response;
      *response.mutable_role_assignment() = ToProto(**existing, role->role_name);
      response.set_already_existed(true);
      co_return response;
    }
    if (request.validate_only()) {
      v1::AssignRoleResponse response;
      v1::RoleAssignment* a = response.mutable_role_assignment();
      a->set_role_assignment_id(id);
      a->set_name(name);
      a->set_scope(scope);
      a->set_role_definition_id(Lower(LastSegment(role->id)));
      a->set_role_name(role->role_name);
      a->set_principal_id(principal->object_id);
      a->set_principal_type(principal->type);
      a->set_description(request.description());
      co_return response;
    }

    arm::RoleAssignmentProperties properties;
    properties.role_definition_id = role->id;
    properties.principal_id = principal->object_id;
    properties.principal_type = std::string(PrincipalTypeToArm(principal->type));
    properties.description = request.description();
    absl::Duration backoff = options_.principal_not_found_backoff;
    while (true) {
      absl::StatusOr<arm::RoleAssignment> put = co_await arm_.PutRoleAssignment(ctx, tenant, scope, name, properties);
      if (put.ok()) {
        v1::AssignRoleResponse response;
        *response.mutable_role_assignment() = ToProto(*put, role->role_name);
        co_return response;
      }
      const std::string code = UpstreamCode(put.status());
      if (code == "RoleAssignmentExists") {
        // Made by someone else between our check and our PUT (another replica, the portal).
        absl::StatusOr<std::optional<arm::RoleAssignment>> found =
            co_await FindExisting(ctx, tenant, scope, id, principal->object_id, role->id);
        if (found.ok() && found->has_value()) {
          v1::AssignRoleResponse response;
          *response.mutable_role_assignment() = ToProto(**found, role->role_name);
          response.set_already_existed(true);
          co_return response;
        }
        // ARM's answer travels on: its code, request id and the existing assignment's id.
        absl::Status conflict = absl::AlreadyExistsError(put.status().message());
        put.status().ForEachPayload([&conflict](absl::string_view type_url, const absl::Cord& payload) {
          conflict.SetPayload(type_url, payload);
        });
        co_return WithReason(std::move(conflict), v1::ERROR_REASON_CONFLICT);
      }
      if (code == "RoleAssignmentUpdateNotPermitted") {
        co_return WithReason(
            absl::AlreadyExistsError(absl::StrCat("role assignment ", id,
                                                  " exists with different content (", code, ")")),
            v1::ERROR_REASON_CONFLICT);
      }
      if (code == "PrincipalNotFound") {
        // Directory replication: a principal created moments ago is not yet visible to ARM.
        if (clock_.Now() + backoff >= ctx.deadline || ctx.cancel->cancelled()) {
          co_return WithReason(absl::NotFoundError(absl::StrCat("principal ", principal->object_id,
                                                                " not found in customer ", tenant,
                                                                " (PrincipalNotFound after retries)")),
                               v1::ERROR_REASON_PRINCIPAL_NOT_FOUND);
        }
        if (!co_await clock_.Sleep(ctx, backoff)) co_return absl::CancelledError("the call was cancelled");
        backoff = std::min(backoff * 2, options_.principal_not_found_backoff * 8);
        continue;
      }
      co_return put.status();
    }
  }

  OpTask<absl::StatusOr<v1::ListRoleAssignmentsResponse>> DoListRoleAssignments(OpContext ctx, v1::ListRoleAssignmentsRequest request) {
    const std::string tenant = Lower(request.customer_id());
    const std::string sub = Lower(request.azure_subscription_id());
    size_t offset = 0;
    if (!request.page_token().empty() && !absl::SimpleAtoi(request.page_token(), &offset)) {
      co_return WithReason(InvalidField("page_token", "is malformed"), v1::ERROR_REASON_INVALID_PAGE_TOKEN);
    }
    absl::Status owned = co_await EnsureOwned(ctx, tenant, sub);
    if (!owned.ok()) co_return owned;
    std::optional<std::string> principal_id;
    if (request.principal().id_case() != v1::Principal::ID_NOT_SET) {
      absl::StatusOr<ResolvedPrincipal> p =
          co_await ResolvePrincipal(ctx, tenant, request.principal(), v1::PRINCIPAL_TYPE_USER);
      if (!p.ok()) co_return p.status();
      principal_id = p->object_id;
    }
    const std::string scope = ScopeFor(sub, request.resource_group());
    absl::StatusOr<std::vector<arm::RoleAssignment>> list =
        co_await arm_.ListRoleAssignments(ctx, tenant, scope, principal_id);
    if (!list.ok()) co_return list.status();
    absl::StatusOr<std::vector<arm::RoleDefinition>> defs = co_await RoleDefinitions(ctx, tenant, sub);
    std::map<std::string, std::string> names;
    if (defs.ok()) {
      for (const arm::RoleDefinition& d : *defs) names[Lower(LastSegment(d.id))] = d.role_name;
    }
    const size_t page_size = request.page_size() == 0 ? kDefaultPageSize : request.page_size();
    v1::ListRoleAssignmentsResponse response;
    for (size_t i = offset; i < list->size() && i < offset + page_size; ++i) {
      const arm::RoleAssignment& a = (*list)[i];
      *response.add_role_assignments() = ToProto(a, names[Lower(LastSegment(a.role_definition_id))]);
    }
    if (offset + page_size < list->size()) response.set_next_page_token(absl::StrCat(offset + page_size));
    co_return response;
  }

  OpTask<absl::StatusOr<v1::RevokeRoleResponse>> DoRevokeRole(OpContext ctx, v1::RevokeRoleRequest request) {
    const std::string tenant = Lower(request.customer_id());
    std::string id;
    std::string role_name;
    if (request.has_triple()) {
      const v1::RoleAssignmentTriple& t = request.triple();
      const std::string sub = Lower(t.azure_subscription_id());
      absl::Status owned = co_await EnsureOwned(ctx, tenant, sub);
    if (!owned.ok()) co_return owned;
      absl::StatusOr<ResolvedPrincipal> principal =
          co_await ResolvePrincipal(ctx, tenant, t.principal(), v1::PRINCIPAL_TYPE_USER);
      if (!principal.ok()) co_return principal.status();
      absl::StatusOr<std::vector<arm::RoleDefinition>> defs = co_await RoleDefinitions(ctx, tenant, sub);
      if (!defs.ok()) co_return defs.status();
      absl::StatusOr<arm::RoleDefinition> role = FindRole(*defs, t.role(), sub);
      if (!role.ok()) co_return role.status();
      role_name = role->role_name;
      const std::string scope = ScopeFor(sub, t.resource_group());
      const std::string ours = absl::StrCat(scope, "/providers/Microsoft.Authorization/roleAssignments/",
                                            RoleAssignmentName(scope, principal->object_id, LastSegment(role->id)));
      absl::StatusOr<std::optional<arm::RoleAssignment>> found =
          co_await FindExisting(ctx, tenant, scope, ours, principal->object_id, role->id);
      if (!found.ok()) co_return found.status();
      if (!found->has_value()) {
        v1::RevokeRoleResponse response;
        response.set_already_absent(true);
        co_return response;
      }
      id = (*found)->id;
    } else {
      id = request.role_assignment_id();
      // "/subscriptions/{sub}/..." was validated, so the second segment is the subscription.
      const std::string sub = Lower(id.substr(15, 36));
      absl::Status owned = co_await EnsureOwned(ctx, tenant, sub);
    if (!owned.ok()) co_return owned;
    }

    v1::RevokeRoleResponse response;
    if (request.validate_only()) {
      absl::StatusOr<arm::RoleAssignment> current = co_await arm_.GetRoleAssignment(ctx, tenant, id);
      if (current.status().code() == absl::StatusCode::kNotFound) {
        response.set_already_absent(true);
        co_return response;
      }
      if (!current.ok()) co_return current.status();
      *response.mutable_role_assignment() = ToProto(*current, role_name);
      co_return response;
    }
    absl::StatusOr<std::optional<arm::RoleAssignment>> deleted = co_await arm_.DeleteRoleAssignment(ctx, tenant, id);
    if (deleted.status().code() == absl::StatusCode::kNotFound || (deleted.ok() && !deleted->has_value())) {
      response.set_already_absent(true);
      co_return response;
    }
    if (!deleted.ok()) co_return deleted.status();
    *response.mutable_role_assignment() = ToProto(**deleted, role_name);
    co_return response;
  }

  void BatchAssignRoles(OpContext ctx, std::vector<BatchItem> items, BatchResultCallback on_result,
                        absl::AnyInvocable<void(v1::BatchAssignRolesSummary)> done) override {
    auto batch = std::make_shared<Batch>(this, std::move(ctx), std::move(on_result), std::move(done), options_);
    {
      absl::MutexLock lock(&batch->mu);
      for (BatchItem& item : items) batch->pending.push_back(std::move(item));
      batch->remaining = static_cast<int>(batch->pending.size());
    }
    batch->Pump();
  }

 private:
  struct EntitlementsEntry {
    absl::Time expires;
    std::vector<v1::AzureSubscription> subscriptions;
  };
  struct DefinitionsEntry {
    absl::Time expires;
    std::vector<arm::RoleDefinition> definitions;
  };

  // Items start while both limits allow; each completion starts the next ones.
  struct Batch : std::enable_shared_from_this<Batch> {
    Batch(GatewayOperations* ops, OpContext ctx, BatchResultCallback on_result,
          absl::AnyInvocable<void(v1::BatchAssignRolesSummary)> done, const OperationsOptions& options)
        : ops(ops), ctx(std::move(ctx)), on_result(std::move(on_result)), done(std::move(done)), options(options) {}

    void Pump() {
      {
        absl::MutexLock lock(&mu);
        // Completions that finish synchronously re-enter here; the outer loop picks up their
        // work instead of recursing once per item.
        if (pumping) {
          again = true;
          return;
        }
        pumping = true;
      }
      while (true) {
        std::vector<BatchItem> start;
        bool finished = false;
        {
          absl::MutexLock lock(&mu);
          again = false;
          if (ctx.cancel->cancelled()) {
            not_started += static_cast<int>(pending.size());
            remaining -= static_cast<int>(pending.size());
            pending.clear();
          }
          for (auto it = pending.begin(); it != pending.end() && running < options.batch_concurrency;) {
            const std::string customer = Lower(it->request.customer_id());
            if (per_customer[customer] >= options.batch_per_customer_concurrency) {
              ++it;
              continue;
            }
            ++per_customer[customer];
            ++running;
            start.push_back(std::move(*it));
            it = pending.erase(it);
          }
          finished = remaining == 0 && !signalled;
          if (finished) signalled = true;
          if (start.empty() && !again) {
            pumping = false;
            if (!finished) return;
          }
        }
        if (finished) {
          v1::BatchAssignRolesSummary summary;
          {
            absl::MutexLock lock(&mu);
            summary.set_created(created);
            summary.set_already_existed(already_existed);
            summary.set_failed(failed);
            summary.set_not_started(not_started);
          }
          done(summary);
          return;
        }
        for (BatchItem& item : start) Start(std::move(item));
      }
    }

    void Start(BatchItem item) {
      const int index = item.index;
      std::string customer = Lower(item.request.customer_id());
      std::shared_ptr<Batch> self = shared_from_this();
      ops->AssignRole(ctx, std::move(item.request),
                      [self, index, customer](absl::StatusOr<v1::AssignRoleResponse> result) {
                        self->Completed(index, customer, std::move(result));
                      });
    }

    void Completed(int index, const std::string& customer, absl::StatusOr<v1::AssignRoleResponse> result) {
      {
        absl::MutexLock lock(&mu);
        if (!result.ok()) {
          ++failed;
        } else if (result->already_existed()) {
          ++already_existed;
        } else {
          ++created;
        }
      }
      {
        absl::MutexLock lock(&callback_mu);
        on_result(index, std::move(result));
      }
      {
        absl::MutexLock lock(&mu);
        --running;
        --per_customer[customer];
        --remaining;
      }
      Pump();
    }

    GatewayOperations* ops;
    OpContext ctx;
    BatchResultCallback on_result;
    absl::AnyInvocable<void(v1::BatchAssignRolesSummary)> done;
    OperationsOptions options;
    absl::Mutex callback_mu;
    absl::Mutex mu;
    std::deque<BatchItem> pending ABSL_GUARDED_BY(mu);
    std::map<std::string, int> per_customer ABSL_GUARDED_BY(mu);
    int running ABSL_GUARDED_BY(mu) = 0;
    int remaining ABSL_GUARDED_BY(mu) = 0;
    int created ABSL_GUARDED_BY(mu) = 0;
    int already_existed ABSL_GUARDED_BY(mu) = 0;
    int failed ABSL_GUARDED_BY(mu) = 0;
    int not_started ABSL_GUARDED_BY(mu) = 0;
    bool pumping ABSL_GUARDED_BY(mu) = false;
    bool again ABSL_GUARDED_BY(mu) = false;
    bool signalled ABSL_GUARDED_BY(mu) = false;
  };

  static bool IsTransient(const absl::Status& status) {
    return status.code() == absl::StatusCode::kUnavailable ||
           status.code() == absl::StatusCode::kDeadlineExceeded;
  }

  // Every Azure subscription of the customer: the entitlements of each Azure plan and each
  // legacy Azure subscription (whose Partner Center id is its ARM id).
  OpTask<absl::StatusOr<std::vector<v1::AzureSubscription>>> AzureSubscriptions(const OpContext& ctx,
                                                                              std::string tenant,
                                                                              bool use_cache) {
    while (true) {
      if (use_cache) {
        absl::MutexLock lock(&cache_mu_);
        auto it = entitlements_.find(tenant);
        if (it != entitlements_.end() && it->second.expires > clock_.Now()) co_return it->second.subscriptions;
      }
      if (entitlements_flight_.TryLead(tenant)) break;
      std::optional<absl::StatusOr<std::vector<v1::AzureSubscription>>> shared = co_await entitlements_flight_.Join(tenant);
      if (shared && !IsLeadersOwnEnd(shared->status())) co_return *std::move(shared);
    }
    absl::StatusOr<std::vector<v1::AzureSubscription>> fetched = co_await FetchAzureSubscriptions(ctx, tenant);
    if (fetched.ok()) {
      absl::MutexLock lock(&cache_mu_);
      entitlements_[tenant] = {clock_.Now() + options_.entitlements_ttl, *fetched};
    }
    entitlements_flight_.Land(tenant, fetched);
    co_return fetched;
  }

  OpTask<absl::StatusOr<std::vector<v1::AzureSubscription>>> FetchAzureSubscriptions(const OpContext& ctx,
                                                                                   std::string tenant) {
    absl::StatusOr<std::vector<pc::Subscription>> subs = co_await pc_.ListSubscriptions(ctx, tenant);
    if (!subs.ok()) co_return subs.status();
    std::vector<v1::AzureSubscription> out;
    for (const pc::Subscription& s : *subs) {
      const v1::SubscriptionKind kind = KindForOffer(s.offer_id);
      if (kind == v1::SUBSCRIPTION_KIND_LEGACY_AZURE) {
        v1::AzureSubscription a;
        a.set_azure_subscription_id(Lower(s.entitlement_id.empty() ? s.id : s.entitlement_id));
        a.set_display_name(s.friendly_name);
        a.set_subscription_id(s.id);
        a.set_source(v1::AZURE_SUBSCRIPTION_SOURCE_LEGACY_AZURE);
        a.set_status(Lower(s.status));
        out.push_back(std::move(a));
      } else if (kind == v1::SUBSCRIPTION_KIND_AZURE_PLAN) {
        absl::StatusOr<std::vector<pc::AzureEntitlement>> entitlements =
            co_await pc_.ListAzureEntitlements(ctx, tenant, s.id);
        if (!entitlements.ok()) co_return entitlements.status();
        for (const pc::AzureEntitlement& e : *entitlements) {
          v1::AzureSubscription a;
          a.set_azure_subscription_id(Lower(e.id));
          a.set_display_name(e.friendly_name);
          a.set_subscription_id(s.id);
          a.set_source(v1::AZURE_SUBSCRIPTION_SOURCE_AZURE_PLAN);
          a.set_status(e.status);
          out.push_back(std::move(a));
        }
      }
    }
    co_return out;
  }

  OpTask<absl::Status> EnsureOwned(const OpContext& ctx, std::string tenant, std::string sub) {
    for (bool use_cache : {true, false}) {
      absl::StatusOr<std::vector<v1::AzureSubscription>> azure = co_await AzureSubscriptions(ctx, tenant, use_cache);
      if (!azure.ok()) co_return azure.status();
      for (const v1::AzureSubscription& a : *azure) {
        if (a.azure_subscription_id() == sub) co_return absl::OkStatus();
      }
    }
    co_return WithReason(absl::FailedPreconditionError(absl::StrCat(
                             "Azure subscription ", sub, " does not belong to customer ", tenant)),
                         v1::ERROR_REASON_SUBSCRIPTION_NOT_OWNED_BY_CUSTOMER);
  }

  OpTask<absl::StatusOr<std::vector<arm::RoleDefinition>>> RoleDefinitions(const OpContext& ctx,
                                                                         std::string tenant, std::string sub) {
    const std::string key = absl::StrCat(tenant, "/", sub);
    while (true) {
      {
        absl::MutexLock lock(&cache_mu_);
        auto it = definitions_.find(key);
        if (it != definitions_.end() && it->second.expires > clock_.Now()) co_return it->second.definitions;
      }
      if (definitions_flight_.TryLead(key)) break;
      std::optional<absl::StatusOr<std::vector<arm::RoleDefinition>>> shared = co_await definitions_flight_.Join(key);
      if (shared && !IsLeadersOwnEnd(shared->status())) co_return *std::move(shared);
    }
    absl::StatusOr<std::vector<arm::RoleDefinition>> defs =
        co_await arm_.ListRoleDefinitions(ctx, tenant, absl::StrCat("/subscriptions/", sub));
    if (defs.ok()) {
      absl::MutexLock lock(&cache_mu_);
      definitions_[key] = {clock_.Now() + options_.role_definitions_ttl, *defs};
    }
    definitions_flight_.Land(key, defs);
    co_return defs;
  }

  // A leader's result that a waiter should not take as its own: the leader's cancellation or
  // deadline, and a transient upstream failure (sharing one would turn one unlucky fetch into
  // many failed calls).
  static bool IsLeadersOwnEnd(const absl::Status& status) {
    return status.code() == absl::StatusCode::kCancelled || status.code() == absl::StatusCode::kDeadlineExceeded ||
           status.code() == absl::StatusCode::kUnavailable;
  }

  static absl::StatusOr<arm::RoleDefinition> FindRole(const std::vector<arm::RoleDefinition>& defs,
                                                      const v1::RoleRef& ref, absl::string_view sub) {
    for (const arm::RoleDefinition& d : defs) {
      const bool built_in = absl::EqualsIgnoreCase(d.type, "BuiltInRole");
      if (ref.has_role_definition_id()) {
        if (absl::EqualsIgnoreCase(LastSegment(d.id), ref.role_definition_id())) return d;
      } else if (built_in ? absl::EqualsIgnoreCase(d.role_name, ref.role_name()) : d.role_name == ref.role_name()) {
        return d;
      }
    }
    return WithReason(absl::NotFoundError(absl::StrCat(
                          "role ", ref.has_role_name() ? ref.role_name() : ref.role_definition_id(),
                          " not found at subscription ", sub)),
                      v1::ERROR_REASON_ROLE_NOT_FOUND);
  }

  OpTask<absl::StatusOr<ResolvedPrincipal>> ResolvePrincipal(const OpContext& ctx, std::string tenant,
                                                           v1::Principal principal, v1::PrincipalType type) {
    if (principal.has_object_id()) co_return ResolvedPrincipal{Lower(principal.object_id()), type};
    absl::StatusOr<graph::User> user = co_await graph_.GetUser(ctx, tenant, principal.user_principal_name());
    if (user.status().code() == absl::StatusCode::kNotFound) {
      co_return WithReason(absl::NotFoundError(absl::StrCat("user ", principal.user_principal_name(),
                                                            " not found in customer ", tenant)),
                           v1::ERROR_REASON_PRINCIPAL_NOT_FOUND);
    }
    if (!user.ok()) co_return user.status();
    co_return ResolvedPrincipal{Lower(user->id), v1::PRINCIPAL_TYPE_USER};
  }

  // The assignment of (principal, role) made exactly at `scope`: ours by name, or another one.
  OpTask<absl::StatusOr<std::optional<arm::RoleAssignment>>> FindExisting(const OpContext& ctx, std::string tenant,
                                                                        std::string scope, std::string id,
                                                                        std::string principal_id,
                                                                        std::string role_definition_id) {
    auto matches = [&](const arm::RoleAssignment& a) {
      return absl::EqualsIgnoreCase(a.scope, scope) &&
             absl::EqualsIgnoreCase(LastSegment(a.role_definition_id), LastSegment(role_definition_id)) &&
             absl::EqualsIgnoreCase(a.principal_id, principal_id);
    };
    // Whatever sits under our name counts only if it is this very assignment: anyone can create
    // an assignment under any name, and an Owner one must never pass for a Reader one.
    absl::StatusOr<arm::RoleAssignment> ours = co_await arm_.GetRoleAssignment(ctx, tenant, id);
    if (ours.ok() && matches(*ours)) co_return std::optional<arm::RoleAssignment>(*std::move(ours));
    if (!ours.ok() && ours.status().code() != absl::StatusCode::kNotFound) co_return ours.status();
    absl::StatusOr<std::vector<arm::RoleAssignment>> list =
        co_await arm_.ListRoleAssignments(ctx, tenant, scope, principal_id);
    if (!list.ok()) co_return list.status();
    for (arm::RoleAssignment& a : *list) {
      if (matches(a)) co_return std::optional<arm::RoleAssignment>(std::move(a));
    }
    co_return std::optional<arm::RoleAssignment>();
  }

  pc::PartnerCenterPort& pc_;
  arm::ArmPort& arm_;
  graph::GraphPort& graph_;
  OpClock& clock_;
  const OperationsOptions options_;
  absl::Mutex cache_mu_;
  std::map<std::string, EntitlementsEntry> entitlements_ ABSL_GUARDED_BY(cache_mu_);
  std::map<std::string, DefinitionsEntry> definitions_ ABSL_GUARDED_BY(cache_mu_);
  SingleFlight<absl::StatusOr<std::vector<arm::RoleDefinition>>> definitions_flight_;
  SingleFlight<absl::StatusOr<std::vector<v1::AzureSubscription>>> entitlements_flight_;
};

}  // namespace

std::unique_ptr<Operations> MakeGatewayOperations(pc::PartnerCenterPort& partner_center, arm::ArmPort& arm,
                                                  graph::GraphPort& graph, OpClock& clock,
                                                  OperationsOptions options) {
  return std::make_unique<GatewayOperations>(partner_center, arm, graph, clock, options);
}

}  // namespace partner::ops
