// What the load generator asks for: the customers it found, the RPC mix, and the AssignRole items
// it derives from them.
#ifndef PARTNER_BENCH_LOADGEN_WORKLOAD_H_
#define PARTNER_BENCH_LOADGEN_WORKLOAD_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "partner/v1/access_service.pb.h"

namespace partner::bench {

struct CustomerTarget {
  std::string id;
  std::vector<std::string> azure_subscriptions;
  std::vector<std::string> user_principal_names;
};

enum class Method { kGetCustomer, kListCustomers, kListAzureSubscriptions, kAssignRole };

const char* MethodName(Method method);

// Weighted round robin, so that every run of the same length asks for the same calls.
class Mix {
 public:
  // "get=2,list=1,subs=1,assign=1"; weights are non-negative integers, at least one positive.
  static absl::StatusOr<Mix> Parse(const std::string& spec);
  Method Pick(std::uint64_t sequence) const { return slots_[sequence % slots_.size()]; }
  bool Uses(Method method) const;

 private:
  std::vector<Method> slots_;
};

// The i-th AssignRole item: customers in turn, then (user, built-in role) pairs, so the first
// customers x users x roles items are all distinct assignments. Customers need a subscription and
// a user.
v1::AssignRoleRequest AssignItem(const std::vector<CustomerTarget>& customers, std::uint64_t i);

}  // namespace partner::bench

#endif  // PARTNER_BENCH_LOADGEN_WORKLOAD_H_
