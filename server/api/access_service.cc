#include "server/api/access_service.h"

#include <deque>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/api/request_validation.h"
#include "server/ops/naming.h"

namespace partner::api {
namespace {

std::string PrincipalText(const v1::Principal& p) {
  return p.has_user_principal_name() ? p.user_principal_name() : p.object_id();
}

std::string RoleText(const v1::RoleRef& r) {
  return r.has_role_name() ? r.role_name() : r.role_definition_id();
}

AuditRecord AssignAudit(const v1::AssignRoleRequest& request) {
  AuditRecord audit;
  audit.customer_id = request.customer_id();
  audit.scope = ops::ScopeFor(request.azure_subscription_id(), request.resource_group());
  audit.principal = PrincipalText(request.principal());
  audit.role = RoleText(request.role());
  audit.validate_only = request.validate_only();
  return audit;
}

std::string DescribeAssign(const v1::AssignRoleResponse& r) {
  return absl::StrCat(r.already_existed() ? "already_existed " : "created ",
                      r.role_assignment().role_assignment_id());
}

// One BatchAssignRoles call: results are queued as items finish and written one at a time.
class BatchCall final : public grpc::ServerWriteReactor<v1::BatchAssignRolesResponse>, public CallBase {
 public:
  BatchCall(const ServiceDeps& deps, grpc::CallbackServerContext* context,
            const v1::BatchAssignRolesRequest& request)
      : CallBase(deps, context, "BatchAssignRoles") {
    deps_.metrics->RpcStarted(method_);
    context_->AddInitialMetadata("x-correlation-id", ctx_.correlation_id);
    if (absl::Status s = Admit(ValidateRequest(request), auth::Permission::kAccessWrite, ""); !s.ok()) {
      FinishNow(s);
      return;
    }
    std::vector<ops::BatchItem> items;
    for (int i = 0; i < request.items_size(); ++i) {
      const v1::AssignRoleRequest& item = request.items(i);
      absl::Status admitted = ValidateAssignRole(item, absl::StrCat("items[", i, "]."));
      if (admitted.ok()) {
        admitted = auth::CallerPolicy::Authorize(caller_, auth::Permission::kAccessWrite, item.customer_id());
        if (!admitted.ok()) AuditRefusal(item, admitted);
      }
      if (!admitted.ok()) {
        Enqueue(i, admitted);
        continue;
      }
      items_by_index_[i] = item;
      items.push_back({i, item});
    }
    {
      absl::MutexLock lock(&mu_);
      batch_running_ = true;
    }
    deps_.operations->BatchAssignRoles(
        ctx_, std::move(items),
        [this](int index, absl::StatusOr<v1::AssignRoleResponse> result) { OnItem(index, std::move(result)); },
        [this](v1::BatchAssignRolesSummary summary) { OnSummary(summary); });
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) {
        broken_ = true;
        queue_.clear();
      }
    }
    Pump();
  }
  void OnCancel() override { ctx_.cancel->Cancel(); }
  // gRPC may be done with the call (the summary written by another thread) while OnSummary is
  // still on its way out: whichever of the two comes last deletes the call.
  void OnDone() override {
    bool last = false;
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      last = !batch_running_;
    }
    if (last) delete this;
  }

 private:
  // A refused item's record, waited for as Admit waits for a denied call's; the refusal is
  // what the item reports, and an audit failure cannot make it more refused.
  void AuditRefusal(const v1::AssignRoleRequest& item, const absl::Status& refusal) {
    (void)WriteAuditAndWait(AssignAudit(item), absl::StatusCodeToString(refusal.code()), refusal.message(), refusal);
  }

  // Runs on the thread that completed the item, often a transport loop: the item's record is
  // queued, never waited for there, and its result is sent once the record is durable.
  void OnItem(int index, absl::StatusOr<v1::AssignRoleResponse> result) {
    {
      absl::MutexLock lock(&mu_);
      ++audits_pending_;
    }
    const absl::Status status = result.status();
    const std::string detail = result.ok() ? DescribeAssign(*result) : std::string(status.message());
    WriteAuditOf(AssignAudit(items_by_index_[index]), status.ok() ? "OK" : absl::StatusCodeToString(status.code()),
                 detail, status, [this, index, result = std::move(result)](absl::Status written) mutable {
                   // An item that succeeded but could not be recorded fails closed.
                   if (result.ok() && !written.ok()) result = std::move(written);
                   if (result.ok()) {
                     QueueResult(index, *std::move(result));
                   } else {
                     Enqueue(index, result.status());
                   }
                   FinishWhenSettled(/*audit_settled=*/true);
                 });
  }

  void QueueResult(int index, v1::AssignRoleResponse response) {
    v1::BatchAssignRolesResponse message;
    v1::BatchAssignRoleResult* item = message.mutable_item();
    item->set_index(index);
    *item->mutable_response() = std::move(response);
    {
      absl::MutexLock lock(&mu_);
      if (item->response().already_existed()) {
        totals_.set_already_existed(totals_.already_existed() + 1);
      } else {
        totals_.set_created(totals_.created() + 1);
      }
      queue_.push_back(std::move(message));
    }
    Pump();
  }

  void Enqueue(int index, const absl::Status& status) {
    v1::BatchAssignRolesResponse message;
    v1::BatchAssignRoleResult* item = message.mutable_item();
    item->set_index(index);
    item->set_error_code(static_cast<int>(status.code()));
    item->set_error_message(std::string(status.message()));
    item->set_error_reason(v1::ErrorReason_Name(ReasonFor(status)));
    {
      absl::MutexLock lock(&mu_);
      totals_.set_failed(totals_.failed() + 1);
      queue_.push_back(std::move(message));
    }
    Pump();
  }

  void OnSummary(const v1::BatchAssignRolesSummary& summary) {
    {
      absl::MutexLock lock(&mu_);
      not_started_ = summary.not_started();
      summary_received_ = true;
    }
    FinishWhenSettled(/*audit_settled=*/false);
  }

  // Queues the summary once the operation has sent it and every item's record has settled. The
  // decrement and the check share one critical section: whichever thread sees the batch settle
  // is the only one that touches the call afterwards, since it may delete it.
  void FinishWhenSettled(bool audit_settled) {
    {
      absl::MutexLock lock(&mu_);
      if (audit_settled) --audits_pending_;
      if (!summary_received_ || audits_pending_ > 0 || summary_queued_) return;
      // Counted from the results actually sent, so failures found here (validation,
      // permissions, audit) are included; only not_started comes from the operation.
      v1::BatchAssignRolesResponse message;
      *message.mutable_summary() = totals_;
      message.mutable_summary()->set_not_started(not_started_);
      if (!broken_) queue_.push_back(std::move(message));
      summary_queued_ = true;
    }
    Pump();
    bool last = false;
    {
      absl::MutexLock lock(&mu_);
      batch_running_ = false;
      last = done_;
    }
    if (last) delete this;
  }

  // Starts the next write, or finishes once the summary is out. Runs outside the lock because
  // gRPC may call back into the reactor.
  void Pump() {
    v1::BatchAssignRolesResponse* next = nullptr;
    bool finish = false;
    bool ok = true;
    {
      absl::MutexLock lock(&mu_);
      if (finished_ || writing_) return;
      if (!queue_.empty()) {
        current_ = std::move(queue_.front());
        queue_.pop_front();
        writing_ = true;
        next = &current_;
      } else if (summary_queued_) {
        finished_ = true;
        finish = true;
        ok = !broken_;
      }
    }
    if (next != nullptr) {
      StartWrite(next);
    } else if (finish) {
      FinishNow(ok ? absl::OkStatus() : absl::CancelledError("the call was cancelled"));
    }
  }

  void FinishNow(const absl::Status& status) {
    Record(status);
    Finish(ToGrpcStatus(status, ctx_.correlation_id));
  }

  std::map<int, v1::AssignRoleRequest> items_by_index_;
  absl::Mutex mu_;
  std::deque<v1::BatchAssignRolesResponse> queue_ ABSL_GUARDED_BY(mu_);
  v1::BatchAssignRolesResponse current_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool summary_queued_ ABSL_GUARDED_BY(mu_) = false;
  // The operation's summary has come; items whose records are not yet durable.
  bool summary_received_ ABSL_GUARDED_BY(mu_) = false;
  int not_started_ ABSL_GUARDED_BY(mu_) = 0;
  int audits_pending_ ABSL_GUARDED_BY(mu_) = 0;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // The operation may still call OnSummary, or item records are pending / gRPC has called OnDone.
  bool batch_running_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  v1::BatchAssignRolesSummary totals_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

AccessServiceImpl::AccessServiceImpl(ServiceDeps deps) : ParsingCallbackService(std::move(deps)) {
  ParseRequestsOf("ListRoleDefinitions", &AccessServiceImpl::ListRoleDefinitions);
  ParseRequestsOf("AssignRole", &AccessServiceImpl::AssignRole, AuditDenials::kYes);
  ParseRequestsOf("ListRoleAssignments", &AccessServiceImpl::ListRoleAssignments);
  ParseRequestsOf("RevokeRole", &AccessServiceImpl::RevokeRole, AuditDenials::kYes);
  ParseRequestsOf("BatchAssignRoles", &AccessServiceImpl::BatchAssignRoles);
}

grpc::ServerUnaryReactor* AccessServiceImpl::ListRoleDefinitions(
    grpc::CallbackServerContext* context, const v1::ListRoleDefinitionsRequest* request,
    v1::ListRoleDefinitionsResponse* response) {
  auto* call = new UnaryCall<v1::ListRoleDefinitionsResponse>(deps_, context, "ListRoleDefinitions", response);
  if (absl::Status s = call->Admit(ValidateRequest(*request), auth::Permission::kAccessRead,
                                   request->customer_id());
      !s.ok()) {
    call->Fail(s);
    return call;
  }
  deps_.operations->ListRoleDefinitions(call->ctx(), *request, call->Completion());
  return call;
}

grpc::ServerUnaryReactor* AccessServiceImpl::AssignRole(grpc::CallbackServerContext* context,
                                                        const v1::AssignRoleRequest* request,
                                                        v1::AssignRoleResponse* response) {
  auto* call = new UnaryCall<v1::AssignRoleResponse>(deps_, context, "AssignRole", response);
  call->SetAudit(AssignAudit(*request));
  if (absl::Status s = call->Admit(ValidateAssignRole(*request), auth::Permission::kAccessWrite,
                                   request->customer_id());
      !s.ok()) {
    call->Fail(s);
    return call;
  }
  call->BeginMutation([this, call, request] {
    deps_.operations->AssignRole(call->ctx(), *request, call->Completion(DescribeAssign));
  });
  return call;
}

grpc::ServerUnaryReactor* AccessServiceImpl::ListRoleAssignments(
    grpc::CallbackServerContext* context, const v1::ListRoleAssignmentsRequest* request,
    v1::ListRoleAssignmentsResponse* response) {
  auto* call = new UnaryCall<v1::ListRoleAssignmentsResponse>(deps_, context, "ListRoleAssignments", response);
  if (absl::Status s = call->Admit(ValidateRequest(*request), auth::Permission::kAccessRead,
                                   request->customer_id());
      !s.ok()) {
    call->Fail(s);
    return call;
  }
  const std::string binding = absl::StrCat(
      "ListRoleAssignments\n", absl::AsciiStrToLower(request->customer_id()), "\n",
      ops::ScopeFor(request->azure_subscription_id(), absl::AsciiStrToLower(request->resource_group())),
      "\n", request->principal().id_case(), "\n",
      absl::AsciiStrToLower(PrincipalText(request->principal())));
  v1::ListRoleAssignmentsRequest op_request = *request;
  if (absl::Status s = DecodePageToken(*deps_.page_tokens, binding, op_request); !s.ok()) {
    call->Fail(s);
    return call;
  }
  deps_.operations->ListRoleAssignments(call->ctx(), std::move(op_request),
                                 WithPageToken(call->Completion(), deps_.page_tokens, binding));
  return call;
}

grpc::ServerUnaryReactor* AccessServiceImpl::RevokeRole(grpc::CallbackServerContext* context,
                                                        const v1::RevokeRoleRequest* request,
                                                        v1::RevokeRoleResponse* response) {
  auto* call = new UnaryCall<v1::RevokeRoleResponse>(deps_, context, "RevokeRole", response);
  AuditRecord audit;
  audit.customer_id = request->customer_id();
  audit.validate_only = request->validate_only();
  if (request->has_triple()) {
    audit.scope = ops::ScopeFor(request->triple().azure_subscription_id(), request->triple().resource_group());
    audit.principal = PrincipalText(request->triple().principal());
    audit.role = RoleText(request->triple().role());
  } else {
    audit.scope = request->role_assignment_id();
  }
  call->SetAudit(std::move(audit));
  if (absl::Status s = call->Admit(ValidateRequest(*request), auth::Permission::kAccessWrite,
                                   request->customer_id());
      !s.ok()) {
    call->Fail(s);
    return call;
  }
  call->BeginMutation([this, call, request] {
    deps_.operations->RevokeRole(call->ctx(), *request, call->Completion([](const v1::RevokeRoleResponse& r) {
      return r.already_absent() ? std::string("already_absent")
                                : absl::StrCat("removed ", r.role_assignment().role_assignment_id());
    }));
  });
  return call;
}

grpc::ServerWriteReactor<v1::BatchAssignRolesResponse>* AccessServiceImpl::BatchAssignRoles(
    grpc::CallbackServerContext* context, const v1::BatchAssignRolesRequest* request) {
  return new BatchCall(deps_, context, *request);
}

}  // namespace partner::api
