#include "partner/client/access_connection.h"

#include <utility>

#include "client/src/call_support.h"

namespace partner::client {
namespace {

using internal::Idempotency;
using internal::UnaryCall;

class AccessConnectionImpl final : public AccessConnection {
 public:
  AccessConnectionImpl(std::shared_ptr<v1::AccessService::StubInterface> stub,
                       ClientOptions options)
      : stub_(std::move(stub)), options_(std::move(options)) {}

  absl::StatusOr<v1::ListRoleDefinitionsResponse> ListRoleDefinitions(
      const v1::ListRoleDefinitionsRequest& request, const CallOptions& call) override {
    return UnaryCall<v1::ListRoleDefinitionsResponse>(
        options_, call, Idempotency::kIdempotent,
        [&](grpc::ClientContext* c, auto* r) { return stub_->ListRoleDefinitions(c, request, r); });
  }
  absl::StatusOr<v1::AssignRoleResponse> AssignRole(const v1::AssignRoleRequest& request,
                                                    const CallOptions& call) override {
    return UnaryCall<v1::AssignRoleResponse>(
        options_, call, Idempotency::kNonIdempotent,
        [&](grpc::ClientContext* c, auto* r) { return stub_->AssignRole(c, request, r); });
  }
  absl::StatusOr<v1::ListRoleAssignmentsResponse> ListRoleAssignments(
      const v1::ListRoleAssignmentsRequest& request, const CallOptions& call) override {
    return UnaryCall<v1::ListRoleAssignmentsResponse>(
        options_, call, Idempotency::kIdempotent,
        [&](grpc::ClientContext* c, auto* r) { return stub_->ListRoleAssignments(c, request, r); });
  }
  absl::StatusOr<v1::RevokeRoleResponse> RevokeRole(const v1::RevokeRoleRequest& request,
                                                    const CallOptions& call) override {
    return UnaryCall<v1::RevokeRoleResponse>(
        options_, call, Idempotency::kNonIdempotent,
        [&](grpc::ClientContext* c, auto* r) { return stub_->RevokeRole(c, request, r); });
  }
  absl::Status BatchAssignRoles(
      const v1::BatchAssignRolesRequest& request,
      const std::function<void(const v1::BatchAssignRolesResponse&)>& on_message,
      const CallOptions& call) override {
    grpc::ClientContext context;
    internal::PrepareContext(context, options_, internal::CorrelationId(call),
                             internal::CallDeadline(options_, call));
    std::unique_ptr<grpc::ClientReaderInterface<v1::BatchAssignRolesResponse>> reader =
        stub_->BatchAssignRoles(&context, request);
    v1::BatchAssignRolesResponse message;
    while (reader->Read(&message)) on_message(message);
    return ToAbslStatus(reader->Finish());
  }

 private:
  std::shared_ptr<v1::AccessService::StubInterface> stub_;
  ClientOptions options_;
};

}  // namespace

std::shared_ptr<AccessConnection> MakeAccessConnection(
    std::shared_ptr<v1::AccessService::StubInterface> stub, ClientOptions options) {
  return std::make_shared<AccessConnectionImpl>(std::move(stub), std::move(options));
}

absl::StatusOr<std::shared_ptr<AccessConnection>> MakeAccessConnection(
    const ClientOptions& options) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options);
  if (!channel.ok()) return channel.status();
  return MakeAccessConnection(v1::AccessService::NewStub(*channel), options);
}

}  // namespace partner::client
