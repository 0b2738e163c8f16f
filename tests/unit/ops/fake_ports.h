// Stateful fakes of the upstream ports: they keep customers, subscriptions, users and role
// assignments like the real services do, count calls, and can inject the upstream behaviours the
// operations must handle. Results are ready tasks, except ARM PUTs while `hold_puts` is set,
// which wait until the test releases them (to observe concurrency).
#ifndef PARTNER_TESTS_UNIT_OPS_FAKE_PORTS_H_
#define PARTNER_TESTS_UNIT_OPS_FAKE_PORTS_H_

#include <coroutine>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/ops/error_reason.h"
#include "server/ops/upstream_ports.h"

namespace partner::ops::testing {

inline absl::Status UpstreamError(absl::Status status, const std::string& code) {
  return WithUpstreamDetails(std::move(status), {{"upstreamCode", code}, {"upstreamRequestId", "req-1"}});
}

class FakePartnerCenter final : public pc::PartnerCenterPort {
 public:
  std::vector<pc::Customer> customers;
  std::map<std::string, std::vector<pc::Subscription>> subscriptions;  // by customer
  std::map<std::string, std::vector<pc::AzureEntitlement>> entitlements;  // by PC subscription id
  std::vector<pc::CustomerQuery> customer_queries;
  absl::Status error;  // when set, every call fails with it
  int calls = 0;

  OpTask<absl::StatusOr<pc::CustomerPage>> ListCustomers(const OpContext&, pc::CustomerQuery query) override {
    ++calls;
    customer_queries.push_back(query);
    size_t start = 0;
    if (!query.continuation.empty()) start = std::stoul(query.continuation);
    pc::CustomerPage page;
    for (size_t i = start; i < customers.size() && page.customers.size() < static_cast<size_t>(query.size); ++i) {
      page.customers.push_back(customers[i]);
      if (i + 1 < customers.size()) page.continuation = std::to_string(i + 1);
      else page.continuation.clear();
    }
    return OpTask<absl::StatusOr<pc::CustomerPage>>::Ready(page);
  }
  OpTask<absl::StatusOr<pc::Customer>> GetCustomer(const OpContext&, std::string id) override {
    ++calls;
    if (!error.ok()) return OpTask<absl::StatusOr<pc::Customer>>::Ready(error);
    for (const pc::Customer& c : customers) {
      if (c.id == id) return OpTask<absl::StatusOr<pc::Customer>>::Ready(c);
    }
    return OpTask<absl::StatusOr<pc::Customer>>::Ready(absl::NotFoundError("customer not found"));
  }
  OpTask<absl::StatusOr<std::vector<pc::Subscription>>> ListSubscriptions(const OpContext&, std::string id) override {
    ++calls;
    auto it = subscriptions.find(id);
    if (it == subscriptions.end()) {
      return OpTask<absl::StatusOr<std::vector<pc::Subscription>>>::Ready(absl::NotFoundError("customer not found"));
    }
    return OpTask<absl::StatusOr<std::vector<pc::Subscription>>>::Ready(it->second);
  }
  OpTask<absl::StatusOr<pc::Subscription>> GetSubscription(const OpContext&, std::string customer,
                                                           std::string sub) override {
    ++calls;
    for (const pc::Subscription& s : subscriptions[customer]) {
      if (absl::EqualsIgnoreCase(s.id, sub)) return OpTask<absl::StatusOr<pc::Subscription>>::Ready(s);
    }
    return OpTask<absl::StatusOr<pc::Subscription>>::Ready(absl::NotFoundError("subscription not found"));
  }
  OpTask<absl::StatusOr<std::vector<pc::AzureEntitlement>>> ListAzureEntitlements(const OpContext&, std::string,
                                                                                  std::string sub) override {
    ++calls;
    return OpTask<absl::StatusOr<std::vector<pc::AzureEntitlement>>>::Ready(entitlements[sub]);
  }
};

// Resumes held coroutines when the test says so.
class Gate {
 public:
  struct Awaiter {
    Gate* gate;
    bool await_ready() { return false; }
    void await_suspend(std::coroutine_handle<> h) { gate->held_.push_back(h); }
    void await_resume() {}
  };
  Awaiter Wait() { return Awaiter{this}; }
  size_t held() const { return held_.size(); }
  void ReleaseOne() {
    std::coroutine_handle<> h = held_.front();
    held_.pop_front();
    h.resume();
  }

 private:
  std::deque<std::coroutine_handle<>> held_;
};

class FakeArm final : public arm::ArmPort {
 public:
  std::map<std::string, std::vector<arm::RoleDefinition>> definitions;  // by "/subscriptions/{sub}"
  std::map<std::string, arm::RoleAssignment> assignments;              // by lower-case id
  std::map<std::string, std::vector<arm::Subscription>> visible_subscriptions;  // by tenant
  std::map<std::string, absl::Status> subscription_list_errors;               // by tenant
  std::vector<std::string> subscription_list_tenants;                         // every call, in order
  int principal_not_found_remaining = 0;  // PUTs answered PrincipalNotFound first
  bool conflict_next_put = false;         // the next PUT meets an assignment made elsewhere
  // The next PUT is refused as RoleAssignmentExists naming an assignment that no lookup finds.
  std::optional<std::string> unfindable_conflict_next_put;
  bool hold_puts = false;
  Gate gate;
  bool hold_definitions = false;  // role definition lists wait on definitions_gate
  Gate definitions_gate;
  int definition_lists = 0;
  int puts = 0;
  int calls = 0;
  int in_flight = 0;
  int max_in_flight = 0;
  std::map<std::string, int> in_flight_by_tenant;
  int max_in_flight_per_tenant = 0;

  OpTask<absl::StatusOr<std::vector<arm::Subscription>>> ListSubscriptions(const OpContext&,
                                                                            std::string tenant) override {
    ++calls;
    subscription_list_tenants.push_back(tenant);
    if (auto it = subscription_list_errors.find(tenant); it != subscription_list_errors.end()) co_return it->second;
    co_return visible_subscriptions[tenant];
  }

  OpTask<absl::StatusOr<std::vector<arm::RoleDefinition>>> ListRoleDefinitions(const OpContext&, std::string,
                                                                                std::string scope) override {
    ++calls;
    ++definition_lists;
    if (hold_definitions) co_await definitions_gate.Wait();
    co_return definitions[scope];
  }

  OpTask<absl::StatusOr<arm::RoleAssignment>> PutRoleAssignment(const OpContext&, std::string tenant,
                                                                 std::string scope, std::string name,
                                                                 arm::RoleAssignmentProperties p) override {
    ++calls;
    ++puts;
    ++in_flight;
    ++in_flight_by_tenant[tenant];
    max_in_flight = std::max(max_in_flight, in_flight);
    max_in_flight_per_tenant = std::max(max_in_flight_per_tenant, in_flight_by_tenant[tenant]);
    if (hold_puts) co_await gate.Wait();
    --in_flight;
    --in_flight_by_tenant[tenant];
    if (principal_not_found_remaining > 0) {
      --principal_not_found_remaining;
      co_return UpstreamError(absl::InvalidArgumentError("PrincipalNotFound"), "PrincipalNotFound");
    }
    const std::string id = absl::StrCat(scope, "/providers/Microsoft.Authorization/roleAssignments/", name);
    if (unfindable_conflict_next_put.has_value()) {
      const std::string existing = *std::exchange(unfindable_conflict_next_put, std::nullopt);
      co_return WithUpstreamDetails(absl::AlreadyExistsError("The role assignment already exists."),
                                    {{"upstreamCode", "RoleAssignmentExists"},
                                     {"upstreamRequestId", "req-1"},
                                     {"existingAssignmentId", existing}});
    }
    if (conflict_next_put) {
      conflict_next_put = false;
      Insert(scope, "99999999-9999-4999-8999-999999999999", p);
      co_return UpstreamError(absl::AlreadyExistsError("RoleAssignmentExists"), "RoleAssignmentExists");
    }
    if (auto it = assignments.find(absl::AsciiStrToLower(id)); it != assignments.end()) {
      if (it->second.role_definition_id != p.role_definition_id || it->second.principal_id != p.principal_id) {
        co_return UpstreamError(absl::InvalidArgumentError("RoleAssignmentUpdateNotPermitted"),
                                "RoleAssignmentUpdateNotPermitted");
      }
      co_return it->second;
    }
    co_return Insert(scope, name, p);
  }

  OpTask<absl::StatusOr<arm::RoleAssignment>> GetRoleAssignment(const OpContext&, std::string, std::string id) override {
    ++calls;
    auto it = assignments.find(absl::AsciiStrToLower(id));
    if (it == assignments.end()) {
      return OpTask<absl::StatusOr<arm::RoleAssignment>>::Ready(
          UpstreamError(absl::NotFoundError("RoleAssignmentNotFound"), "RoleAssignmentNotFound"));
    }
    return OpTask<absl::StatusOr<arm::RoleAssignment>>::Ready(it->second);
  }

  OpTask<absl::StatusOr<std::vector<arm::RoleAssignment>>> ListRoleAssignments(
      const OpContext&, std::string, std::string scope, std::optional<std::string> principal) override {
    ++calls;
    std::vector<arm::RoleAssignment> out;
    for (const auto& [id, a] : assignments) {
      // At the scope or inherited from above it.
      const bool visible = absl::StartsWithIgnoreCase(scope, a.scope);
      if (visible && (!principal.has_value() || *principal == a.principal_id)) out.push_back(a);
    }
    return OpTask<absl::StatusOr<std::vector<arm::RoleAssignment>>>::Ready(out);
  }

  OpTask<absl::StatusOr<std::optional<arm::RoleAssignment>>> DeleteRoleAssignment(const OpContext&, std::string,
                                                                                  std::string id) override {
    ++calls;
    auto it = assignments.find(absl::AsciiStrToLower(id));
    if (it == assignments.end()) {
      return OpTask<absl::StatusOr<std::optional<arm::RoleAssignment>>>::Ready(std::optional<arm::RoleAssignment>());
    }
    arm::RoleAssignment removed = it->second;
    assignments.erase(it);
    return OpTask<absl::StatusOr<std::optional<arm::RoleAssignment>>>::Ready(std::optional<arm::RoleAssignment>(removed));
  }

  arm::RoleAssignment Insert(const std::string& scope, const std::string& name, const arm::RoleAssignmentProperties& p) {
    arm::RoleAssignment a;
    a.id = absl::StrCat(scope, "/providers/Microsoft.Authorization/roleAssignments/", name);
    a.name = name;
    a.scope = scope;
    a.role_definition_id = p.role_definition_id;
    a.principal_id = p.principal_id;
    a.principal_type = p.principal_type;
    a.description = p.description;
    a.created_on = absl::FromUnixSeconds(1700000000);
    assignments[absl::AsciiStrToLower(a.id)] = a;
    return a;
  }
};

class FakeGraph final : public graph::GraphPort {
 public:
  std::map<std::string, std::vector<graph::User>> users;  // by tenant
  std::vector<graph::UserQuery> user_queries;             // every ListUsers call, in order
  int create_transient_failures = 0;  // CreateUser calls that create the user but answer UNAVAILABLE
  int calls = 0;
  int creates = 0;

  OpTask<absl::StatusOr<graph::User>> GetUser(const OpContext&, std::string tenant, std::string key) override {
    ++calls;
    for (const graph::User& u : users[tenant]) {
      if (u.id == key || absl::EqualsIgnoreCase(u.user_principal_name, key)) {
        return OpTask<absl::StatusOr<graph::User>>::Ready(u);
      }
    }
    return OpTask<absl::StatusOr<graph::User>>::Ready(
        UpstreamError(absl::NotFoundError("Request_ResourceNotFound"), "Request_ResourceNotFound"));
  }
  // Like Graph, a next link carries the search of the first page.
  OpTask<absl::StatusOr<graph::UserPage>> ListUsers(const OpContext&, std::string tenant, graph::UserQuery q) override {
    ++calls;
    user_queries.push_back(q);
    graph::UserPage page;
    std::string prefix = q.search_prefix.value_or("");
    size_t start = 0;
    if (!q.skip_token.empty()) {
      const size_t bar = q.skip_token.find('|');
      start = std::stoul(q.skip_token.substr(0, bar));
      prefix = bar == std::string::npos ? "" : q.skip_token.substr(bar + 1);
    }
    std::vector<graph::User> all;
    for (const graph::User& u : users[tenant]) {
      if (absl::StartsWithIgnoreCase(u.display_name, prefix) || absl::StartsWithIgnoreCase(u.user_principal_name, prefix)) {
        all.push_back(u);
      }
    }
    for (size_t i = start; i < all.size() && page.users.size() < static_cast<size_t>(q.top); ++i) {
      page.users.push_back(all[i]);
      page.skip_token = i + 1 < all.size() ? absl::StrCat(i + 1, prefix.empty() ? "" : "|", prefix) : "";
    }
    return OpTask<absl::StatusOr<graph::UserPage>>::Ready(page);
  }
  OpTask<absl::StatusOr<graph::User>> CreateUser(const OpContext&, std::string tenant, graph::NewUser n) override {
    ++calls;
    ++creates;
    for (const graph::User& u : users[tenant]) {
      if (absl::EqualsIgnoreCase(u.user_principal_name, n.user_principal_name)) {
        return OpTask<absl::StatusOr<graph::User>>::Ready(
            UpstreamError(absl::AlreadyExistsError("ObjectConflict"), "Request_BadRequest"));
      }
    }
    graph::User u{absl::StrCat("00000000-0000-4000-8000-", std::string(12 - std::to_string(creates).size(), '0'),
                               creates),
                  n.user_principal_name, n.display_name, ""};
    users[tenant].push_back(u);
    if (create_transient_failures > 0) {
      --create_transient_failures;
      return OpTask<absl::StatusOr<graph::User>>::Ready(absl::UnavailableError("connection reset"));
    }
    return OpTask<absl::StatusOr<graph::User>>::Ready(u);
  }
};

class FakeClock final : public OpClock {
 public:
  absl::Time now = absl::FromUnixSeconds(1800000000);
  std::vector<absl::Duration> sleeps;
  absl::Time Now() override { return now; }
  OpTask<bool> Sleep(const OpContext& ctx, absl::Duration d) override {
    sleeps.push_back(d);
    now += d;
    return OpTask<bool>::Ready(!ctx.cancel->cancelled());
  }
};

}  // namespace partner::ops::testing

#endif  // PARTNER_TESTS_UNIT_OPS_FAKE_PORTS_H_
