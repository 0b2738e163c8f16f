// What every handler does around its operation: authenticate, validate, authorize, derive the
// OpContext (deadline, correlation id, cancellation), run the operation, audit mutations,
// record metrics and finish with ToGrpcStatus.
#ifndef PARTNER_SERVER_API_RPC_SUPPORT_H_
#define PARTNER_SERVER_API_RPC_SUPPORT_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/api/audit_log.h"
#include "server/api/metrics.h"
#include "server/api/page_token.h"
#include "server/api/request_log.h"
#include "server/api/status_conversion.h"
#include "server/auth/caller/caller_policy.h"
#include "server/ops/operations.h"

namespace partner::api {

// Shared by the three services; everything outlives the gRPC server.
struct ServiceDeps {
  ops::Operations* operations = nullptr;
  std::shared_ptr<const auth::CallerPolicy> callers;
  AuditLog* audit = nullptr;
  const PageTokenCodec* page_tokens = nullptr;
  Metrics* metrics = nullptr;
  RequestLog* request_log = nullptr;  // optional
  absl::Duration default_deadline = absl::Seconds(60);
};

// The caller's certificate identities and credential metadata.
auth::PresentedCredentials PresentedFrom(const grpc::CallbackServerContext& context);

// Deadline (the caller's, else now + default), correlation id (the caller's "x-correlation-id"
// when it is short and plain, else a new one) and a fresh cancellation.
ops::OpContext MakeOpContext(const grpc::CallbackServerContext& context, absl::Duration default_deadline);

// Wraps `done` so that a list response's raw paging state leaves as an opaque page token bound
// to `binding`.
template <class Response>
ops::Done<Response> WithPageToken(ops::Done<Response> done, const PageTokenCodec* codec, std::string binding) {
  return [done = std::move(done), codec, binding = std::move(binding)](absl::StatusOr<Response> result) mutable {
    if (result.ok() && !result->next_page_token().empty()) {
      result->set_next_page_token(codec->Encode(binding, result->next_page_token()));
    }
    done(std::move(result));
  };
}

// Replaces a request's opaque page_token by the paging state it carries.
template <class Request>
absl::Status DecodePageToken(const PageTokenCodec& codec, absl::string_view binding, Request& request) {
  if (request.page_token().empty()) return absl::OkStatus();
  absl::StatusOr<std::string> state = codec.Decode(binding, request.page_token());
  if (!state.ok()) return state.status();
  request.set_page_token(*std::move(state));
  return absl::OkStatus();
}

// The part of a unary call that does not depend on its response type.
class CallBase {
 public:
  CallBase(const ServiceDeps& deps, grpc::CallbackServerContext* context, absl::string_view method);

  const ops::OpContext& ctx() const { return ctx_; }
  const auth::CallerIdentity& caller() const { return caller_; }

  // Authenticates, checks `validation`, then authorizes `permission` on `customer_id`. On any
  // failure returns the status to finish with (denied mutations are audited).
  absl::Status Admit(const absl::Status& validation, auth::Permission permission,
                     absl::string_view customer_id);
  // For a request that did not parse: authenticates as Admit does (auditing the denial of a
  // mutation) and returns the status to finish with, the authentication error else `parse_error`.
  absl::Status AdmitUnparsed(const absl::Status& parse_error);

  // Marks the call as a mutation with this audit record (outcome filled later).
  void SetAudit(AuditRecord record) { audit_ = std::move(record); }
  // Writes the audit record with `outcome`; `durable` is told when it is on disk, or why not.
  void WriteAudit(absl::string_view outcome, absl::string_view detail, const absl::Status& result,
                  AuditDone durable);
  // WriteAudit of another record than the call's own: one item of a batch.
  void WriteAuditOf(AuditRecord record, absl::string_view outcome, absl::string_view detail,
                    const absl::Status& result, AuditDone durable);
  // WriteAuditOf, waiting for the outcome: for denials, which are rare and leave no call running.
  absl::Status WriteAuditAndWait(AuditRecord record, absl::string_view outcome, absl::string_view detail,
                                 const absl::Status& result);

  // Metrics and the request log line of the finished call.
  void Record(const absl::Status& status);

 protected:
  const ServiceDeps& deps_;
  grpc::CallbackServerContext* context_;
  const std::string method_;
  const absl::Time start_;
  const std::string request_id_;
  ops::OpContext ctx_;
  auth::CallerIdentity caller_;
  std::optional<AuditRecord> audit_;

 private:
  // Sets caller_, or returns why the caller is not authenticated (audited for a mutation).
  absl::Status Authenticate();
  AuditRecord AuditOutcome(AuditRecord record, absl::string_view outcome, absl::string_view detail,
                           const absl::Status& result) const;
};

template <class Response>
class UnaryCall final : public grpc::ServerUnaryReactor, public CallBase {
 public:
  UnaryCall(const ServiceDeps& deps, grpc::CallbackServerContext* context, absl::string_view method,
            Response* response)
      : CallBase(deps, context, method), response_(response) {
    deps_.metrics->RpcStarted(method_);
    context_->AddInitialMetadata("x-correlation-id", ctx_.correlation_id);
  }

  void Fail(const absl::Status& status) { Complete(status); }

  // For a mutation: records the attempt before anything changes upstream, then runs `start`
  // (on the audit log's thread once the record is durable); a broken audit log fails the call
  // closed instead.
  void BeginMutation(absl::AnyInvocable<void() &&> start) {
    if (!audit_.has_value()) {
      std::move(start)();
      return;
    }
    WriteAudit("STARTED", "", absl::OkStatus(), [this, start = std::move(start)](absl::Status written) mutable {
      if (!written.ok()) {
        Complete(written);
        return;
      }
      std::move(start)();
    });
  }

  // The operation's completion: audits a mutation's outcome and finishes the call once the
  // record is durable. `describe` turns a successful response into the audit detail.
  ops::Done<Response> Completion(std::function<std::string(const Response&)> describe = nullptr) {
    return [this, describe = std::move(describe)](absl::StatusOr<Response> result) {
      if (!audit_.has_value()) {
        Deliver(std::move(result));
        return;
      }
      const absl::Status status = result.status();
      const std::string detail = result.ok() && describe ? describe(*result) : std::string(status.message());
      WriteAudit(result.ok() ? "OK" : absl::StatusCodeToString(status.code()), detail, status,
                 [this, result = std::move(result)](absl::Status written) mutable {
                   // An operation that succeeded but could not be recorded fails closed.
                   if (result.ok() && !written.ok()) result = std::move(written);
                   Deliver(std::move(result));
                 });
    };
  }

  void OnCancel() override { ctx_.cancel->Cancel(); }
  void OnDone() override { delete this; }
  // gRPC 1.51 otherwise hands OnCancel and OnDone to its executor thread: one more wake-up and
  // context switch on every call, ~10 % of a GetCustomer's CPU at 1 500/s (bench/README). Both
  // reactions here are short and never block: OnCancel runs the operation's cancel callbacks,
  // which post to the transport loops or fail a waiting step at once. gRPC holds a reference to
  // the call while OnCancel runs, so a Finish it leads to cannot delete the call under it.
  bool InternalInlineable() override { return true; }

 private:
  void Deliver(absl::StatusOr<Response> result) {
    if (result.ok()) *response_ = *std::move(result);
    Complete(result.status());
  }

  void Complete(const absl::Status& status) {
    Record(status);
    Finish(ToGrpcStatus(status, ctx_.correlation_id));
  }

  Response* response_;
};

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_RPC_SUPPORT_H_
