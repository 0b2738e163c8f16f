#include "server/api/rpc_support.h"

#include <grpcpp/security/auth_context.h>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "server/common/request_id.h"
#include "server/ops/error_reason.h"

namespace partner::api {
namespace {

std::optional<std::string> Metadata(const grpc::CallbackServerContext& context, absl::string_view key) {
  const auto& md = context.client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

bool IsPlainId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

auth::PresentedCredentials PresentedFrom(const grpc::CallbackServerContext& context) {
  auth::PresentedCredentials presented;
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    for (const char* property : {"peer_spiffe_id", "peer_uri", "peer_dns", "x509_subject_alternative_name"}) {
      for (const grpc::string_ref& value : auth->FindPropertyValues(property)) {
        presented.certificate_identities.emplace_back(value.data(), value.size());
      }
    }
  }
  presented.authorization = Metadata(context, "authorization");
  presented.forwarded_client_cert = Metadata(context, "x-forwarded-client-cert");
  return presented;
}

ops::OpContext MakeOpContext(const grpc::CallbackServerContext& context, absl::Duration default_deadline) {
  ops::OpContext ctx;
  const absl::Time now = absl::Now();
  const absl::Time fallback = now + default_deadline;
  const absl::Time caller = absl::FromChrono(context.deadline());
  ctx.deadline = caller < fallback ? caller : fallback;
  std::optional<std::string> correlation = Metadata(context, "x-correlation-id");
  ctx.correlation_id = correlation.has_value() && IsPlainId(*correlation) ? *correlation : NewRequestId();
  return ctx;
}

CallBase::CallBase(const ServiceDeps& deps, grpc::CallbackServerContext* context, absl::string_view method)
    : deps_(deps),
      context_(context),
      method_(method),
      start_(absl::Now()),
      request_id_(NewRequestId()),
      ctx_(MakeOpContext(*context, deps.default_deadline)) {}

absl::Status CallBase::Authenticate() {
  absl::StatusOr<auth::CallerIdentity> caller = deps_.callers->Authenticate(PresentedFrom(*context_));
  if (!caller.ok()) {
    if (audit_.has_value()) {
      caller_.name = "unauthenticated";
      (void)WriteAuditAndWait(*audit_, absl::StatusCodeToString(caller.status().code()), caller.status().message(),
                              caller.status());
    }
    return caller.status();
  }
  caller_ = *std::move(caller);
  return absl::OkStatus();
}

absl::Status CallBase::Admit(const absl::Status& validation, auth::Permission permission,
                             absl::string_view customer_id) {
  if (absl::Status authenticated = Authenticate(); !authenticated.ok()) return authenticated;
  if (!validation.ok()) return validation;
  absl::Status allowed = auth::CallerPolicy::Authorize(caller_, permission, customer_id);
  if (!allowed.ok() && audit_.has_value()) {
    // The denial is what gets recorded; an audit failure cannot make it more denied.
    (void)WriteAuditAndWait(*audit_, absl::StatusCodeToString(allowed.code()), allowed.message(), allowed);
  }
  return allowed;
}

absl::Status CallBase::AdmitUnparsed(const absl::Status& parse_error) {
  if (absl::Status authenticated = Authenticate(); !authenticated.ok()) return authenticated;
  return parse_error;
}

AuditRecord CallBase::AuditOutcome(AuditRecord record, absl::string_view outcome, absl::string_view detail,
                                  const absl::Status& result) const {
  record.time = absl::Now();
  record.caller = caller_.name;
  record.method = method_;
  record.request_id = request_id_;
  record.correlation_id = ctx_.correlation_id;
  record.outcome = std::string(outcome);
  record.detail = std::string(detail);
  const std::map<std::string, std::string> upstream = ops::GetUpstreamDetails(result);
  if (auto it = upstream.find("upstreamRequestId"); it != upstream.end()) record.upstream_request_id = it->second;
  return record;
}

void CallBase::WriteAudit(absl::string_view outcome, absl::string_view detail, const absl::Status& result,
                          AuditDone durable) {
  WriteAuditOf(*audit_, outcome, detail, result, std::move(durable));
}

void CallBase::WriteAuditOf(AuditRecord record, absl::string_view outcome, absl::string_view detail,
                            const absl::Status& result, AuditDone durable) {
  deps_.audit->Append(AuditOutcome(std::move(record), outcome, detail, result), std::move(durable));
}

absl::Status CallBase::WriteAuditAndWait(AuditRecord record, absl::string_view outcome, absl::string_view detail,
                                         const absl::Status& result) {
  return deps_.audit->AppendAndWait(AuditOutcome(std::move(record), outcome, detail, result));
}

void CallBase::Record(const absl::Status& status) {
  const absl::Duration latency = absl::Now() - start_;
  const std::string code = absl::StatusCodeToString(status.code());
  deps_.metrics->RpcFinished(method_, code, latency);
  if (deps_.request_log == nullptr) return;
  deps_.request_log->Write({absl::Now(), method_, code, latency, caller_.name, request_id_,
                            ctx_.correlation_id, std::string(status.message())});
}

}  // namespace partner::api
