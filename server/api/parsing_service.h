// The base of the v1 services: each method parses its own requests, so that one that does not
// parse is refused INVALID_ARGUMENT naming the field (api/parse_failure.h) after the caller is
// authenticated, like any other invalid request.
//
// Why not gRPC's parse: grpc++ 1.51's callback handlers (grpcpp/impl/codegen/
// server_callback_handlers.h, RunHandler) answer any request whose Deserialize failed with
// UNIMPLEMENTED and an empty message, dropping the status Deserialize returned; a
// SerializationTraits specialization returning INVALID_ARGUMENT would be dropped the same way.
// proto3 refuses to parse a string field holding invalid UTF-8, so such a request never reached
// a handler. Here each method registers ParsedRequest<M> as its request type: its Deserialize
// always succeeds, parsing into M once and keeping the failure, if any, beside it. A request that
// parses costs what gRPC's own parse did.
#ifndef PARTNER_SERVER_API_PARSING_SERVICE_H_
#define PARTNER_SERVER_API_PARSING_SERVICE_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/impl/codegen/server_callback_handlers.h>
#include <grpcpp/impl/serialization_traits.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/api/rpc_support.h"

namespace partner::api {

// A request as its method's handler receives it: `message` is meaningful only when `error` is OK.
template <class Message>
struct ParsedRequest {
  Message message;
  absl::Status error;
};

// Parses `buffer` into `message` and releases the buffer. INVALID_ARGUMENT when the call carried
// no message or its bytes are not a `message` (ParseFailure names the field).
absl::Status ParseRequest(grpc::ByteBuffer* buffer, google::protobuf::Message* message);

}  // namespace partner::api

namespace grpc {

// Never fails, so that gRPC always runs the handler; the parse's outcome travels in the request.
template <class Message>
class SerializationTraits<partner::api::ParsedRequest<Message>> {
 public:
  static Status Deserialize(ByteBuffer* buffer, partner::api::ParsedRequest<Message>* request) {
    request->error = partner::api::ParseRequest(buffer, &request->message);
    return Status::OK;
  }
};

}  // namespace grpc

namespace partner::api {

// The index of `method` in `service`, checked against the request and response types and the
// streaming shape the handler is registered with; a mismatch is a programming error and aborts
// at start-up.
int CheckedMethodIndex(absl::string_view service, absl::string_view method,
                       const google::protobuf::Descriptor& request, const google::protobuf::Descriptor& response,
                       bool server_streaming);

// Whether a method writes an audit record for a call it denies (as its handler does when it
// calls SetAudit before Admit).
enum class AuditDenials { kNo, kYes };

// A server-streaming call refused before its handler ran: answers as the handler would have for
// an invalid request, with the authentication error else `parse_error`.
template <class Response>
class RefusedStreamCall final : public grpc::ServerWriteReactor<Response>, public CallBase {
 public:
  RefusedStreamCall(const ServiceDeps& deps, grpc::CallbackServerContext* context, absl::string_view method,
                    const absl::Status& parse_error)
      : CallBase(deps, context, method) {
    deps_.metrics->RpcStarted(method_);
    context_->AddInitialMetadata("x-correlation-id", ctx_.correlation_id);
    const absl::Status status = AdmitUnparsed(parse_error);
    Record(status);
    this->Finish(ToGrpcStatus(status, ctx_.correlation_id));
  }

  void OnDone() override { delete this; }
};

// `Generated` is the protoc-generated service class (v1::CustomerService); the implementation
// derives from ParsingCallbackService<Generated>, overrides the callback handlers as usual and
// calls ParseRequestsOf for every method in its constructor.
template <class Generated>
class ParsingCallbackService : public Generated::CallbackService {
 protected:
  explicit ParsingCallbackService(ServiceDeps deps) : deps_(std::move(deps)) {}

  // `method` is the proto method name (also the name in metrics and logs); `handler` the
  // implementation's override of the generated unary handler.
  template <class Service, class Request, class Response>
  void ParseRequestsOf(absl::string_view method,
                       grpc::ServerUnaryReactor* (Service::*handler)(grpc::CallbackServerContext*, const Request*,
                                                                     Response*),
                       AuditDenials audit = AuditDenials::kNo) {
    const int index = CheckedMethodIndex(Generated::service_full_name(), method, *Request::descriptor(),
                                         *Response::descriptor(), /*server_streaming=*/false);
    this->MarkMethodCallback(
        index, new grpc::internal::CallbackUnaryHandler<ParsedRequest<Request>, Response>(
                   [this, handler, audit, method = std::string(method)](
                       grpc::CallbackServerContext* context, const ParsedRequest<Request>* request,
                       Response* response) -> grpc::ServerUnaryReactor* {
                     if (request->error.ok()) {
                       return (static_cast<Service*>(this)->*handler)(context, &request->message, response);
                     }
                     auto* call = new UnaryCall<Response>(deps_, context, method, response);
                     if (audit == AuditDenials::kYes) call->SetAudit(AuditRecord());
                     call->Fail(call->AdmitUnparsed(request->error));
                     return call;
                   }));
  }

  // The same for a server-streaming method.
  template <class Service, class Request, class Response>
  void ParseRequestsOf(absl::string_view method,
                       grpc::ServerWriteReactor<Response>* (Service::*handler)(grpc::CallbackServerContext*,
                                                                              const Request*)) {
    const int index = CheckedMethodIndex(Generated::service_full_name(), method, *Request::descriptor(),
                                         *Response::descriptor(), /*server_streaming=*/true);
    this->MarkMethodCallback(
        index, new grpc::internal::CallbackServerStreamingHandler<ParsedRequest<Request>, Response>(
                   [this, handler, method = std::string(method)](
                       grpc::CallbackServerContext* context,
                       const ParsedRequest<Request>* request) -> grpc::ServerWriteReactor<Response>* {
                     if (request->error.ok()) {
                       return (static_cast<Service*>(this)->*handler)(context, &request->message);
                     }
                     return new RefusedStreamCall<Response>(deps_, context, method, request->error);
                   }));
  }

  const ServiceDeps deps_;
};

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_PARSING_SERVICE_H_
