#include "emulator/world.h"

#include <algorithm>
#include <array>


#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace partner::emulator {
namespace {

// splitmix64: tiny, seedable and the same on every platform, so seeded data is reproducible.
class SeededRandom {
 public:
  explicit SeededRandom(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int Below(int bound) { return static_cast<int>(Next() % static_cast<std::uint64_t>(bound)); }
  std::string Guid() {
    const std::uint64_t hi = Next();
    const std::uint64_t lo = Next();
    return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", hi >> 32, (hi >> 16) & 0xffff, hi & 0xfff,
                           0x8000 | ((lo >> 48) & 0x3fff), lo & 0xffffffffffffULL);
  }

 private:
  std::uint64_t state_;
};

constexpr std::array<absl::string_view, 16> kFirstWords = {
    "Fabrikam", "Northwind", "Contoso", "Adventure", "Tailspin", "Wingtip", "Litware", "Proseware",
    "Woodgrove", "Fourth", "Alpine", "Coho", "Lucerne", "Margie", "Trey", "Wide"};
constexpr std::array<absl::string_view, 8> kSecondWords = {"Toys", "Bikes", "Traders", "Works",
                                                          "Foods", "Labs", "Travel", "Health"};
constexpr std::array<absl::string_view, 4> kSuffixes = {"Ltd", "GmbH", "Inc", "SA"};
constexpr std::array<absl::string_view, 10> kGivenNames = {"Mila", "Owen", "Ada", "Noah", "Lena",
                                                          "Ravi", "Yuki", "Omar", "Sara", "Theo"};
constexpr std::array<absl::string_view, 10> kSurnames = {"Berg", "Tate", "Quill", "Novak", "Silva",
                                                        "Okafor", "Ito", "Haddad", "Lind", "Moreau"};

User MakeUser(SeededRandom& random, const std::string& domain, int index) {
  User user;
  user.id = random.Guid();
  user.given_name = std::string(kGivenNames[static_cast<std::size_t>(random.Below(10))]);
  user.surname = std::string(kSurnames[static_cast<std::size_t>(random.Below(10))]);
  user.display_name = absl::StrCat(user.given_name, " ", user.surname);
  const std::string alias = absl::AsciiStrToLower(absl::StrCat(user.given_name, ".", user.surname, index));
  user.user_principal_name = absl::StrCat(alias, "@", domain);
  user.mail = user.user_principal_name;
  user.usage_location = "GB";
  user.created = absl::FromUnixSeconds(1700000000 + index * 3600);
  return user;
}

}  // namespace

const std::vector<RoleDefinition>& BuiltInRoles() {
  static const auto* roles = new std::vector<RoleDefinition>{
      {"8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", "BuiltInRole",
       "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.", "/"},
      {"b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor", "BuiltInRole",
       "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.", "/"},
      {"acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", "BuiltInRole",
       "View all resources, but does not allow you to make any changes.", "/"},
      {"18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator", "BuiltInRole",
       "Lets you manage user access to Azure resources.", "/"},
      {"f58310d9-a9f6-439a-9e8d-f62e7b41a168", "Role Based Access Control Administrator", "BuiltInRole",
       "Manage access to Azure resources by assigning roles using Azure RBAC.", "/"},
  };
  return *roles;
}

std::vector<Customer> SeedCustomers(const SeedOptions& options) {
  SeededRandom random(options.seed);
  std::vector<Customer> customers;
  customers.reserve(static_cast<std::size_t>(std::max(options.customers, 0)));
  for (int i = 0; i < options.customers; ++i) {
    Customer customer;
    customer.id = random.Guid();
    customer.commerce_id = random.Guid();
    const absl::string_view first = kFirstWords[static_cast<std::size_t>(i) % kFirstWords.size()];
    const absl::string_view second = kSecondWords[static_cast<std::size_t>(i / 16) % kSecondWords.size()];
    const int generation = i / 128;
    customer.company_name = absl::StrCat(first, " ", second, generation ? absl::StrCat(" ", generation + 1) : "",
                                         " ", kSuffixes[static_cast<std::size_t>(i) % kSuffixes.size()]);
    customer.domain = absl::AsciiStrToLower(
        absl::StrCat(first, second, generation ? absl::StrCat(generation + 1) : "", ".onmicrosoft.com"));
    customer.relationship = i % 7 == 6 ? "advisor" : "reseller";
    customer.app_consented = i < options.customers - options.unconsented_customers;

    PcSubscription plan;
    plan.id = absl::AsciiStrToUpper(random.Guid());
    plan.offer_id = "DZH318Z0BPS6:0001:DZH318Z0BML6";
    plan.offer_name = plan.friendly_name = "Azure plan";
    plan.unit_type = "Usage-based";
    plan.billing_type = "usage";
    plan.created = absl::FromUnixSeconds(1707214364 + i * 86400);
    const int azure_count = 1 + i % 3;
    for (int a = 0; a < azure_count; ++a) plan.azure_subscriptions.push_back(random.Guid());
    customer.subscriptions.push_back(std::move(plan));

    PcSubscription licenses;
    licenses.id = absl::AsciiStrToUpper(random.Guid());
    licenses.offer_id = "CFQ7TTC0LH18:0001";
    licenses.offer_name = licenses.friendly_name = "Microsoft 365 Business Basic";
    licenses.quantity = 5 + i % 20;
    licenses.unit_type = "Licenses";
    licenses.billing_type = "license";
    licenses.created = absl::FromUnixSeconds(1690000000 + i * 86400);
    customer.subscriptions.push_back(std::move(licenses));

    if (i % 4 == 3) {
      PcSubscription legacy;
      legacy.id = absl::AsciiStrToUpper(random.Guid());
      // Microsoft's own session record shows id == entitlementId for MS-AZR-0145P.
      legacy.entitlement_id = absl::AsciiStrToLower(legacy.id);
      legacy.offer_id = "MS-AZR-0145P";
      legacy.offer_name = "Microsoft Azure";
      legacy.friendly_name = "Legacy Azure";
      legacy.unit_type = "Usage-based";
      legacy.billing_type = "usage";
      legacy.created = absl::FromUnixSeconds(1558339210 + i * 86400);
      customer.subscriptions.push_back(std::move(legacy));
    }
    const int user_count = 3 + i % 8;
    for (int u = 0; u < user_count; ++u) customer.users.push_back(MakeUser(random, customer.domain, u));
    customers.push_back(std::move(customer));
  }
  std::sort(customers.begin(), customers.end(),
            [](const Customer& a, const Customer& b) { return a.company_name < b.company_name; });
  return customers;
}

namespace {

// "/subscriptions/{id}" or ".../resourceGroups/{rg}" -> lower-case id; "" for any other scope.
std::string SubscriptionOfScope(absl::string_view scope) {
  constexpr absl::string_view kPrefix = "/subscriptions/";
  if (scope.size() <= kPrefix.size() || !absl::EqualsIgnoreCase(scope.substr(0, kPrefix.size()), kPrefix)) return "";
  absl::string_view rest = scope.substr(kPrefix.size());
  return absl::AsciiStrToLower(rest.substr(0, rest.find('/')));
}

}  // namespace

const RoleAssignment* RoleAssignmentStore::Find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &it->second;
}

void RoleAssignmentStore::Put(RoleAssignment assignment) {
  Erase(assignment.name);
  std::string name = assignment.name;
  const std::string subscription = SubscriptionOfScope(assignment.scope);
  const auto stored = by_name_.emplace(std::move(name), std::move(assignment)).first;
  by_subscription_[subscription].emplace(stored->first, &stored->second);
}

void RoleAssignmentStore::Erase(const std::string& name) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return;
  auto in_subscription = by_subscription_.find(SubscriptionOfScope(it->second.scope));
  in_subscription->second.erase(name);
  if (in_subscription->second.empty()) by_subscription_.erase(in_subscription);
  by_name_.erase(it);
}

void RoleAssignmentStore::Clear() {
  by_name_.clear();
  by_subscription_.clear();
}

std::vector<const RoleAssignment*> RoleAssignmentStore::InSubscription(absl::string_view subscription_id) const {
  std::vector<const RoleAssignment*> out;
  auto in_subscription = by_subscription_.find(absl::AsciiStrToLower(subscription_id));
  if (in_subscription == by_subscription_.end()) return out;
  out.reserve(in_subscription->second.size());
  for (const auto& [name, assignment] : in_subscription->second) out.push_back(assignment);
  return out;
}

}  // namespace partner::emulator
