#include "emulator/services.h"

#include <algorithm>
#include <iostream>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "emulator/json_text.h"
#include "nlohmann/json.hpp"

namespace partner::emulator {

std::string Lower(absl::string_view s) { return absl::AsciiStrToLower(s); }

bool IsGuid(absl::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

std::string FormatArmTime(absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%E7SZ", t, absl::UTCTimeZone()); }

Services::Services(ServiceOptions options, std::string base_url, absl::AnyInvocable<absl::Time()> clock)
    : options_(std::move(options)),
      base_url_(std::move(base_url)),
      clock_(std::move(clock)),
      customers_(SeedCustomers(options_.seed)),
      guid_state_(options_.seed.seed * 0x2545f4914f6cdd1dULL + static_cast<std::uint64_t>(absl::ToUnixNanos(absl::Now()))) {
  // Most subscriptions are Enabled; a few of each other live state, so clients meet them all.
  static constexpr const char* kStates[] = {"Enabled", "Enabled", "Enabled", "Warned", "Enabled",
                                            "Enabled", "PastDue", "Enabled", "Enabled", "Disabled"};
  std::size_t seeded = 0;
  for (const Customer& customer : customers_) {
    for (const PcSubscription& sub : customer.subscriptions) {
      std::vector<std::string> ids = sub.azure_subscriptions;
      if (!sub.entitlement_id.empty()) ids.push_back(sub.entitlement_id);
      for (std::size_t i = 0; i < ids.size(); ++i) {
        AzureSubscription azure;
        azure.id = ids[i];
        azure.tenant_id = customer.id;
        azure.display_name = absl::StrCat(customer.company_name, i == 0 ? " Production" : " Dev/Test",
                                          i > 1 ? absl::StrCat(" ", i) : "");
        azure.pc_subscription_id = sub.id;
        azure.resource_groups = {"rg-web", "rg-data"};
        azure.state = kStates[seeded++ % std::size(kStates)];
        azure_[azure.id] = std::move(azure);
      }
    }
    // One custom role per tenant, assignable in its own subscriptions.
    custom_roles_[customer.id] = RoleDefinition{
        absl::StrFormat("%s-0000-4000-8000-%s", customer.id.substr(0, 8), customer.id.substr(24)),
        "Partner Support Operator", "CustomRole", "Read resources and open support requests.", ""};
  }
}

std::string Services::NewGuid() {
  auto next = [this] {
    std::uint64_t z = (guid_state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  const std::uint64_t hi = next();
  const std::uint64_t lo = next();
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", hi >> 32, (hi >> 16) & 0xffff, hi & 0xfff,
                         0x8000 | ((lo >> 48) & 0x3fff), lo & 0xffffffffffffULL);
}

absl::StatusOr<std::unique_ptr<Services>> Services::Create(ServiceOptions options, std::string base_url,
                                                            absl::AnyInvocable<absl::Time()> clock) {
  std::unique_ptr<Services> services(new Services(std::move(options), std::move(base_url), std::move(clock)));
  if (!services->options_.state_file.empty()) {
    if (absl::Status loaded = services->LoadState(); !loaded.ok()) return loaded;
  }
  return services;
}

absl::Status Services::LoadState() {
  const std::string& path = options_.state_file;
  absl::StatusOr<std::optional<PersistedState>> read = ReadStateFile(path, options_.seed);
  if (!read.ok()) return read.status();
  std::optional<StateSnapshot> snapshot;
  {
    absl::MutexLock lock(&mu_);
    if (read->has_value()) {
      // Entries must fit the seeded world as the routes would have made them.
      for (std::size_t i = 0; i < (*read)->users.size(); ++i) {
        CreatedUser& created = (*read)->users[i];
        const std::string where = absl::StrCat("users[", i, "]");
        Customer* customer = FindCustomer(created.tenant_id);
        if (customer == nullptr) {
          return UnusableStateFile(path, absl::StrCat(where, ".tenantId: no customer tenant ", created.tenant_id, " in the seeded data"));
        }
        const std::string& upn = created.user.user_principal_name;
        const std::size_t at = upn.find('@');
        if (at == std::string::npos || !absl::EqualsIgnoreCase(upn.substr(at + 1), customer->domain)) {
          return UnusableStateFile(path, absl::StrCat(where, ".userPrincipalName: '", upn, "' is not in the tenant's domain ", customer->domain));
        }
        for (const User& u : customer->users) {
          if (absl::EqualsIgnoreCase(u.id, created.user.id) || absl::EqualsIgnoreCase(u.user_principal_name, upn)) {
            return UnusableStateFile(path, absl::StrCat(where, ": a user with id ", created.user.id, " or name ", upn,
                                                        " already exists in tenant ", customer->id));
          }
        }
        customer->users.push_back(created.user);
        created_users_.push_back(std::move(created));
      }
      for (std::size_t i = 0; i < (*read)->role_assignments.size(); ++i) {
        RoleAssignment& a = (*read)->role_assignments[i];
        const std::string where = absl::StrCat("roleAssignments[", i, "]");
        const std::vector<std::string> parts = absl::StrSplit(a.scope, '/');
        // "/subscriptions/{id}" or "/subscriptions/{id}/resourceGroups/{group}".
        AzureSubscription* azure = parts.size() >= 3 && parts[0].empty() && parts[1] == "subscriptions" ? FindAzureSubscription(parts[2]) : nullptr;
        const bool scope_ok = azure != nullptr && (parts.size() == 3 || (parts.size() == 5 && absl::EqualsIgnoreCase(parts[3], "resourceGroups") &&
                                                                        std::find(azure->resource_groups.begin(), azure->resource_groups.end(),
                                                                                  Lower(parts[4])) != azure->resource_groups.end()));
        if (!scope_ok) {
          return UnusableStateFile(path, absl::StrCat(where, ".scope: '", a.scope, "' is not a seeded subscription or resource group"));
        }
        if (FindRole(azure->tenant_id, a.role_definition_guid) == nullptr) {
          return UnusableStateFile(path, absl::StrCat(where, ".roleDefinitionGuid: no role ", a.role_definition_guid, " in tenant ", azure->tenant_id));
        }
        if (a.principal_type != "User" && a.principal_type != "Group" && a.principal_type != "ServicePrincipal" &&
            a.principal_type != "ForeignGroup") {
          return UnusableStateFile(path, absl::StrCat(where, ".principalType: '", a.principal_type, "' is not User, Group, ServicePrincipal or ForeignGroup"));
        }
        a.name = Lower(a.name);
        a.role_definition_guid = Lower(a.role_definition_guid);
        a.principal_id = Lower(a.principal_id);
        if (assignments_.Find(a.name) != nullptr) return UnusableStateFile(path, absl::StrCat(where, ".name: ", a.name, " appears twice"));
        assignments_.Put(std::move(a));
      }
    }
    state_changed_ = true;
    snapshot = TakeStateSnapshot();
  }
  return SaveState(*snapshot);
}

std::optional<Services::StateSnapshot> Services::TakeStateSnapshot() {
  if (!state_changed_ || options_.state_file.empty()) return std::nullopt;
  state_changed_ = false;
  StateSnapshot snapshot;
  snapshot.generation = ++state_generation_;
  snapshot.state.users = created_users_;
  for (const auto& [name, assignment] : assignments_.by_name()) snapshot.state.role_assignments.push_back(assignment);
  return snapshot;
}

absl::Status Services::SaveState(const StateSnapshot& snapshot) {
  const std::string contents = SerializeState(options_.seed, snapshot.state);
  absl::MutexLock lock(&state_write_mu_);
  if (snapshot.generation <= written_generation_) return absl::OkStatus();
  absl::Status written = WriteFileAtomically(options_.state_file, contents);
  if (written.ok()) written_generation_ = snapshot.generation;
  return written;
}

void Services::Count(const std::string& route) { ++counters_.requests_by_route[route]; }

EmuResponse Services::Handle(const EmuRequest& request) {
  EmuResponse response;
  std::optional<StateSnapshot> snapshot;
  {
    absl::MutexLock lock(&mu_);
    response = HandleLocked(request);
    snapshot = TakeStateSnapshot();
  }
  if (!snapshot) return response;
  if (absl::Status saved = SaveState(*snapshot); !saved.ok()) {
    // The change is made in memory but would not survive a restart: the caller must not believe
    // it durable. ARM and Graph, the services that change state, share this error shape.
    std::cerr << "partner-emulator: state file: " << saved.message() << std::endl;
    EmuResponse failed;
    failed.status = 500;
    failed.body = JsonText(nlohmann::json{{"error", {{"code", "InternalServerError"},
                                                     {"message", absl::StrCat("The emulator could not save its state: ", saved.message())}}}});
    failed.With("Content-Type", "application/json; charset=utf-8");
    return failed;
  }
  return response;
}

EmuResponse Services::HandleLocked(const EmuRequest& request) {
  const std::vector<std::string>& s = request.segments;
  if (!s.empty() && s[0] == "_emulator") return HandleAdmin(request);
  if (s.size() == 4 && Lower(s[1]) == "oauth2" && Lower(s[2]) == "v2.0" && Lower(s[3]) == "token") {
    return HandleToken(request, s[0], /*v1=*/false);
  }
  if (s.size() == 3 && Lower(s[1]) == "oauth2" && Lower(s[2]) == "token") return HandleToken(request, s[0], true);
  ++counters_.upstream_requests;
  if (!s.empty() && Lower(s[0]) == "v1") return HandlePartnerCenter(request);
  if (!s.empty() && Lower(s[0]) == "subscriptions") return HandleArm(request);
  if (!s.empty() && s[0] == "v1.0") return HandleGraph(request);
  Count("unknown");
  EmuResponse response;
  response.status = 404;
  response.body = R"({"statusCode":404,"message":"Resource not found"})";
  response.With("Content-Type", "application/json; charset=utf-8");
  return response;
}

absl::StatusOr<std::string> Services::Authenticate(const EmuRequest& request, const std::string& audience,
                                                   TokenProblem* problem) {
  std::optional<absl::string_view> header = request.Header("authorization");
  if (!header || !absl::StartsWithIgnoreCase(*header, "Bearer ") || header->size() <= 7) {
    *problem = TokenProblem::kMissing;
    ++counters_.rejected_tokens;
    return absl::UnauthenticatedError("missing bearer token");
  }
  auto it = tokens_.find(std::string(header->substr(7)));
  if (it == tokens_.end()) {
    *problem = TokenProblem::kUnknown;
    ++counters_.rejected_tokens;
    return absl::UnauthenticatedError("unknown token");
  }
  if (it->second.expires <= clock_()) {
    *problem = TokenProblem::kExpired;
    ++counters_.rejected_tokens;
    return absl::UnauthenticatedError("expired token");
  }
  if (it->second.audience != audience) {
    *problem = TokenProblem::kWrongAudience;
    ++counters_.rejected_tokens;
    return absl::UnauthenticatedError("wrong audience");
  }
  return it->second.tenant_id;
}

Customer* Services::FindCustomer(absl::string_view id) {
  for (Customer& customer : customers_) {
    if (absl::EqualsIgnoreCase(customer.id, id)) return &customer;
  }
  return nullptr;
}

Customer* Services::FindTenant(absl::string_view id_or_domain) {
  for (Customer& customer : customers_) {
    if (absl::EqualsIgnoreCase(customer.id, id_or_domain) || absl::EqualsIgnoreCase(customer.domain, id_or_domain)) {
      return &customer;
    }
  }
  return nullptr;
}

AzureSubscription* Services::FindAzureSubscription(absl::string_view id) {
  auto it = azure_.find(Lower(id));
  return it == azure_.end() ? nullptr : &it->second;
}

std::vector<RoleDefinition> Services::RolesOf(const std::string& tenant) {
  std::vector<RoleDefinition> roles = BuiltInRoles();
  if (auto it = custom_roles_.find(tenant); it != custom_roles_.end()) roles.push_back(it->second);
  return roles;
}

const RoleDefinition* Services::FindRole(const std::string& tenant, absl::string_view guid) {
  for (const RoleDefinition& role : BuiltInRoles()) {
    if (absl::EqualsIgnoreCase(role.guid, guid)) return &role;
  }
  if (auto it = custom_roles_.find(tenant); it != custom_roles_.end() && absl::EqualsIgnoreCase(it->second.guid, guid)) {
    return &it->second;
  }
  return nullptr;
}

std::optional<int> Services::TakeArmToken(const std::string& subscription, const std::string& kind) {
  const bool reads = kind == "reads";
  const double capacity = reads ? 250 : 200;
  const double refill_per_second = reads ? 25 : 10;
  Bucket& bucket = arm_buckets_[absl::StrCat(subscription, "/", kind)];
  const absl::Time now = clock_();
  if (bucket.refilled == absl::Time()) {
    bucket.tokens = capacity;
  } else {
    bucket.tokens = std::min(capacity, bucket.tokens + absl::ToDoubleSeconds(now - bucket.refilled) * refill_per_second);
  }
  bucket.refilled = now;
  if (!options_.arm_throttling) return static_cast<int>(capacity) - 1;
  if (bucket.tokens < 1) return std::nullopt;
  bucket.tokens -= 1;
  return static_cast<int>(bucket.tokens);
}

Counters Services::counters() const {
  absl::MutexLock lock(&mu_);
  return counters_;
}

std::vector<RoleAssignment> Services::role_assignments() const {
  absl::MutexLock lock(&mu_);
  std::vector<RoleAssignment> out;
  for (const auto& [name, assignment] : assignments_.by_name()) out.push_back(assignment);
  return out;
}

std::vector<Customer> Services::customers() const {
  absl::MutexLock lock(&mu_);
  return customers_;
}

std::vector<AzureSubscription> Services::azure_subscriptions() const {
  absl::MutexLock lock(&mu_);
  std::vector<AzureSubscription> out;
  for (const auto& [id, azure] : azure_) out.push_back(azure);
  return out;
}

bool Services::SetRelationshipRevoked(absl::string_view customer_id, bool revoked) {
  absl::MutexLock lock(&mu_);
  Customer* customer = FindCustomer(customer_id);
  if (customer == nullptr) return false;
  customer->relationship_revoked = revoked;
  return true;
}

bool Services::SetAuthorizationDenied(absl::string_view azure_subscription_id, bool denied) {
  absl::MutexLock lock(&mu_);
  AzureSubscription* azure = FindAzureSubscription(azure_subscription_id);
  if (azure == nullptr) return false;
  azure->authorization_denied = denied;
  return true;
}

void Services::AddRoleAssignment(RoleAssignment assignment) {
  std::optional<StateSnapshot> snapshot;
  {
    absl::MutexLock lock(&mu_);
    assignment.name = Lower(assignment.name);
    assignment.role_definition_guid = Lower(assignment.role_definition_guid);
    assignment.principal_id = Lower(assignment.principal_id);
    assignments_.Put(std::move(assignment));
    state_changed_ = true;
    snapshot = TakeStateSnapshot();
  }
  if (!snapshot) return;
  if (absl::Status saved = SaveState(*snapshot); !saved.ok()) {
    std::cerr << "partner-emulator: state file: " << saved.message() << std::endl;
  }
}

EmuResponse Services::HandleAdmin(const EmuRequest& request) {
  EmuResponse response;
  response.With("Content-Type", "application/json");
  if (request.segments.size() == 2 && request.segments[1] == "counters" && request.method == "GET") {
    nlohmann::json json = {{"requestsByRoute", counters_.requests_by_route},
                           {"tokensIssued", counters_.tokens_issued},
                           {"tokensByTenant", counters_.tokens_by_tenant},
                           {"rejectedTokens", counters_.rejected_tokens},
                           {"upstreamRequests", counters_.upstream_requests}};
    response.body = JsonText(json);
    return response;
  }
  if (request.segments.size() == 2 && request.segments[1] == "role-assignments" && request.method == "GET") {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [name, a] : assignments_.by_name()) {
      list.push_back({{"name", a.name}, {"scope", a.scope}, {"roleDefinitionId", a.role_definition_guid},
                      {"principalId", a.principal_id}, {"principalType", a.principal_type}});
    }
    response.body = JsonText(list);
    return response;
  }
  if (request.segments.size() == 2 && request.segments[1] == "reset" && request.method == "POST") {
    // Back to the seeded world, as a fresh start would be; issued tokens stay valid so clients
    // holding them carry on.
    customers_ = SeedCustomers(options_.seed);
    for (auto& [id, subscription] : azure_) subscription.authorization_denied = false;
    assignments_.Clear();
    created_users_.clear();
    arm_buckets_.clear();
    counters_ = Counters{};
    state_changed_ = true;
    response.body = R"({"reset":true})";
    return response;
  }
  response.status = 404;
  response.body = R"({"error":"unknown emulator admin route"})";
  return response;
}

}  // namespace partner::emulator
