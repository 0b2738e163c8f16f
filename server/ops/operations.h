// The use cases behind the v1 RPCs, over the upstream client interfaces. Requests are validated
// and authorized by the api layer before they get here.
//
// Completion style: each operation takes a `done` callback, called exactly once, possibly on
// another thread and possibly before the call returns. This keeps the api layer independent of
// how operations are implemented (coroutines over the upstream clients, or fakes in tests).
//
// Paging: the api layer owns the opaque page tokens. It passes the decoded paging state in a
// list request's page_token and encodes the state returned in next_page_token.
#ifndef PARTNER_SERVER_OPS_OPERATIONS_H_
#define PARTNER_SERVER_OPS_OPERATIONS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "partner/v1/access_service.pb.h"
#include "partner/v1/customer_service.pb.h"
#include "partner/v1/subscription_service.pb.h"

namespace partner::ops {

// Thread-safe cancellation flag with callbacks; a cancelled RPC cancels its operation.
class CancelSignal {
 public:
  void Cancel();
  bool cancelled() const;
  // Runs `callback` on Cancel(), or now if already cancelled.
  void OnCancel(absl::AnyInvocable<void()> callback);

 private:
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<absl::AnyInvocable<void()>> callbacks_ ABSL_GUARDED_BY(mu_);
};

// What an operation knows about the RPC it serves.
struct OpContext {
  absl::Time deadline = absl::InfiniteFuture();
  std::string correlation_id;
  std::shared_ptr<CancelSignal> cancel = std::make_shared<CancelSignal>();
};

template <class T>
using Done = absl::AnyInvocable<void(absl::StatusOr<T>)>;

// A batch item that passed validation and authorization, with its index in the request.
struct BatchItem {
  int index = 0;
  v1::AssignRoleRequest request;
};

class Operations {
 public:
  virtual ~Operations() = default;

  virtual void ListCustomers(OpContext ctx, v1::ListCustomersRequest request,
                             Done<v1::ListCustomersResponse> done) = 0;
  virtual void GetCustomer(OpContext ctx, v1::GetCustomerRequest request,
                           Done<v1::GetCustomerResponse> done) = 0;
  virtual void ListCustomerUsers(OpContext ctx, v1::ListCustomerUsersRequest request,
                                 Done<v1::ListCustomerUsersResponse> done) = 0;
  virtual void CreateCustomerUser(OpContext ctx, v1::CreateCustomerUserRequest request,
                                  Done<v1::CreateCustomerUserResponse> done) = 0;

  virtual void ListSubscriptions(OpContext ctx, v1::ListSubscriptionsRequest request,
                                 Done<v1::ListSubscriptionsResponse> done) = 0;
  virtual void GetSubscription(OpContext ctx, v1::GetSubscriptionRequest request,
                               Done<v1::GetSubscriptionResponse> done) = 0;
  virtual void ListAzureSubscriptions(OpContext ctx, v1::ListAzureSubscriptionsRequest request,
                                      Done<v1::ListAzureSubscriptionsResponse> done) = 0;

  virtual void ListRoleDefinitions(OpContext ctx, v1::ListRoleDefinitionsRequest request,
                                   Done<v1::ListRoleDefinitionsResponse> done) = 0;
  virtual void AssignRole(OpContext ctx, v1::AssignRoleRequest request,
                          Done<v1::AssignRoleResponse> done) = 0;
  virtual void ListRoleAssignments(OpContext ctx, v1::ListRoleAssignmentsRequest request,
                                   Done<v1::ListRoleAssignmentsResponse> done) = 0;
  virtual void RevokeRole(OpContext ctx, v1::RevokeRoleRequest request,
                          Done<v1::RevokeRoleResponse> done) = 0;

  // Runs the items concurrently under the batch limits. `on_result` is called once per started
  // item as it completes (with the item's index), never concurrently with itself; items not
  // started when ctx is cancelled are counted in the summary's not_started. `done` is called
  // after the last started item; the summary counts these items only.
  using BatchResultCallback =
      std::function<void(int index, absl::StatusOr<v1::AssignRoleResponse> result)>;
  virtual void BatchAssignRoles(OpContext ctx, std::vector<BatchItem> items,
                                BatchResultCallback on_result,
                                absl::AnyInvocable<void(v1::BatchAssignRolesSummary)> done) = 0;
};

}  // namespace partner::ops

#endif  // PARTNER_SERVER_OPS_OPERATIONS_H_
