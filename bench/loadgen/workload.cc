#include "bench/loadgen/workload.h"

#include <array>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace partner::bench {

const char* MethodName(Method method) {
  switch (method) {
    case Method::kGetCustomer:
      return "GetCustomer";
    case Method::kListCustomers:
      return "ListCustomers";
    case Method::kListAzureSubscriptions:
      return "ListAzureSubscriptions";
    case Method::kAssignRole:
      return "AssignRole";
  }
  return "?";
}

absl::StatusOr<Mix> Mix::Parse(const std::string& spec) {
  Mix mix;
  for (absl::string_view item : absl::StrSplit(spec, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
    int weight = 1;
    if (!kv.second.empty() && (!absl::SimpleAtoi(kv.second, &weight) || weight < 0)) {
      return absl::InvalidArgumentError(absl::StrCat("--mix: bad weight in '", item, "'"));
    }
    Method method;
    if (kv.first == "get") method = Method::kGetCustomer;
    else if (kv.first == "list") method = Method::kListCustomers;
    else if (kv.first == "subs") method = Method::kListAzureSubscriptions;
    else if (kv.first == "assign") method = Method::kAssignRole;
    else return absl::InvalidArgumentError(absl::StrCat("--mix: unknown call '", kv.first, "' (get list subs assign)"));
    for (int i = 0; i < weight; ++i) mix.slots_.push_back(method);
  }
  if (mix.slots_.empty()) return absl::InvalidArgumentError("--mix: no call has a positive weight");
  return mix;
}

bool Mix::Uses(Method method) const {
  for (Method m : slots_) {
    if (m == method) return true;
  }
  return false;
}

v1::AssignRoleRequest AssignItem(const std::vector<CustomerTarget>& customers, std::uint64_t i) {
  static constexpr std::array<const char*, 5> kRoles = {"Reader", "Contributor", "Owner", "User Access Administrator",
                                                        "Role Based Access Control Administrator"};
  const CustomerTarget& customer = customers[i % customers.size()];
  const std::uint64_t k = i / customers.size();
  const std::uint64_t users = customer.user_principal_names.size();
  v1::AssignRoleRequest request;
  request.set_customer_id(customer.id);
  request.set_azure_subscription_id(customer.azure_subscriptions.front());
  request.mutable_principal()->set_user_principal_name(customer.user_principal_names[k % users]);
  request.set_principal_type(v1::PRINCIPAL_TYPE_USER);
  request.mutable_role()->set_role_name(kRoles[(k / users) % kRoles.size()]);
  return request;
}

}  // namespace partner::bench
