// Fake operations and audit log for the api layer's tests.
#ifndef PARTNER_TESTS_UNIT_API_FAKE_OPERATIONS_H_
#define PARTNER_TESTS_UNIT_API_FAKE_OPERATIONS_H_

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "server/api/audit_log.h"
#include "server/api/request_log.h"
#include "server/ops/operations.h"

namespace partner::api {

// Canned results per method; records what it was asked. Completes synchronously.
class FakeOperations final : public ops::Operations {
 public:
  absl::StatusOr<v1::ListCustomersResponse> list_customers = v1::ListCustomersResponse();
  absl::StatusOr<v1::GetCustomerResponse> get_customer = v1::GetCustomerResponse();
  absl::StatusOr<v1::ListCustomerUsersResponse> list_customer_users = v1::ListCustomerUsersResponse();
  std::vector<v1::ListCustomerUsersRequest> user_list_requests;
  absl::StatusOr<v1::AssignRoleResponse> assign_role = v1::AssignRoleResponse();
  std::vector<std::string> calls;
  std::vector<std::string> page_tokens_seen;
  absl::Time last_deadline;
  // Notified once BatchAssignRoles' thread has delivered every item and the summary.
  absl::Notification batch_delivered;

  template <class T>
  void Answer(const char* name, const ops::OpContext& ctx, absl::StatusOr<T> value, ops::Done<T>& done) {
    calls.push_back(name);
    last_deadline = ctx.deadline;
    done(std::move(value));
  }

  void ListCustomers(ops::OpContext ctx, v1::ListCustomersRequest r, ops::Done<v1::ListCustomersResponse> done) override {
    page_tokens_seen.push_back(r.page_token());
    Answer("ListCustomers", ctx, list_customers, done);
  }
  void GetCustomer(ops::OpContext ctx, v1::GetCustomerRequest, ops::Done<v1::GetCustomerResponse> done) override {
    Answer("GetCustomer", ctx, get_customer, done);
  }
  void ListCustomerUsers(ops::OpContext ctx, v1::ListCustomerUsersRequest r, ops::Done<v1::ListCustomerUsersResponse> done) override {
    user_list_requests.push_back(std::move(r));
    Answer("ListCustomerUsers", ctx, list_customer_users, done);
  }
  void CreateCustomerUser(ops::OpContext ctx, v1::CreateCustomerUserRequest, ops::Done<v1::CreateCustomerUserResponse> done) override {
    Answer("CreateCustomerUser", ctx, absl::StatusOr<v1::CreateCustomerUserResponse>(), done);
  }
  void ListSubscriptions(ops::OpContext ctx, v1::ListSubscriptionsRequest, ops::Done<v1::ListSubscriptionsResponse> done) override {
    Answer("ListSubscriptions", ctx, absl::StatusOr<v1::ListSubscriptionsResponse>(), done);
  }
  void GetSubscription(ops::OpContext ctx, v1::GetSubscriptionRequest, ops::Done<v1::GetSubscriptionResponse> done) override {
    Answer("GetSubscription", ctx, absl::StatusOr<v1::GetSubscriptionResponse>(), done);
  }
  void ListAzureSubscriptions(ops::OpContext ctx, v1::ListAzureSubscriptionsRequest, ops::Done<v1::ListAzureSubscriptionsResponse> done) override {
    Answer("ListAzureSubscriptions", ctx, absl::StatusOr<v1::ListAzureSubscriptionsResponse>(), done);
  }
  void ListRoleDefinitions(ops::OpContext ctx, v1::ListRoleDefinitionsRequest, ops::Done<v1::ListRoleDefinitionsResponse> done) override {
    Answer("ListRoleDefinitions", ctx, absl::StatusOr<v1::ListRoleDefinitionsResponse>(), done);
  }
  void AssignRole(ops::OpContext ctx, v1::AssignRoleRequest, ops::Done<v1::AssignRoleResponse> done) override {
    Answer("AssignRole", ctx, assign_role, done);
  }
  void ListRoleAssignments(ops::OpContext ctx, v1::ListRoleAssignmentsRequest, ops::Done<v1::ListRoleAssignmentsResponse> done) override {
    Answer("ListRoleAssignments", ctx, absl::StatusOr<v1::ListRoleAssignmentsResponse>(), done);
  }
  void RevokeRole(ops::OpContext ctx, v1::RevokeRoleRequest, ops::Done<v1::RevokeRoleResponse> done) override {
    Answer("RevokeRole", ctx, absl::StatusOr<v1::RevokeRoleResponse>(), done);
  }
  void BatchAssignRoles(ops::OpContext, std::vector<ops::BatchItem> items, BatchResultCallback on_result,
                        absl::AnyInvocable<void(v1::BatchAssignRolesSummary)> done) override {
    calls.push_back("BatchAssignRoles");
    // From another thread, as the real operations complete on the event loop.
    std::thread([items = std::move(items), on_result = std::move(on_result), done = std::move(done),
                 delivered = &batch_delivered]() mutable {
      for (const ops::BatchItem& item : items) {
        if (item.request.description() == "fail") {
          on_result(item.index, absl::NotFoundError("principal missing"));
        } else {
          v1::AssignRoleResponse r;
          r.set_already_existed(item.request.description() == "existing");
          r.mutable_role_assignment()->set_name(absl::StrCat("n", item.index));
          on_result(item.index, r);
        }
      }
      done(v1::BatchAssignRolesSummary());
      delivered->Notify();
    }).detach();
  }
};

class MemoryAuditLog final : public AuditLog {
 public:
  void Append(AuditRecord record, AuditDone durable) override {
    absl::Status outcome;
    {
      absl::MutexLock lock(&mu);
      if (hold) {
        held.push_back({std::move(record), std::move(durable)});
        return;
      }
      outcome = fail;
      if (outcome.ok()) records.push_back(std::move(record));
    }
    std::move(durable)(outcome);
  }
  // Makes every held record durable, as a slow disk finally would.
  void Release() {
    std::vector<std::pair<AuditRecord, AuditDone>> released;
    {
      absl::MutexLock lock(&mu);
      hold = false;
      released.swap(held);
      for (auto& [record, durable] : released) records.push_back(record);
    }
    for (auto& [record, durable] : released) std::move(durable)(absl::OkStatus());
  }
  absl::Mutex mu;
  std::vector<AuditRecord> records;
  absl::Status fail;
  // While set, records wait in `held` until Release().
  bool hold = false;
  std::vector<std::pair<AuditRecord, AuditDone>> held;
};

class MemoryRequestLog final : public RequestLog {
 public:
  void Write(const RequestLogEntry& entry) override {
    absl::MutexLock lock(&mu);
    entries.push_back(entry);
  }
  absl::Mutex mu;
  std::vector<RequestLogEntry> entries;
};

}  // namespace partner::api

#endif  // PARTNER_TESTS_UNIT_API_FAKE_OPERATIONS_H_
