#include "server/api/customer_service.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/api/request_validation.h"

namespace partner::api {

CustomerServiceImpl::CustomerServiceImpl(ServiceDeps deps) : ParsingCallbackService(std::move(deps)) {
  ParseRequestsOf("ListCustomers", &CustomerServiceImpl::ListCustomers);
  ParseRequestsOf("GetCustomer", &CustomerServiceImpl::GetCustomer);
  ParseRequestsOf("ListCustomerUsers", &CustomerServiceImpl::ListCustomerUsers);
  ParseRequestsOf("CreateCustomerUser", &CustomerServiceImpl::CreateCustomerUser, AuditDenials::kYes);
}

grpc::ServerUnaryReactor* CustomerServiceImpl::ListCustomers(grpc::CallbackServerContext* context,
                                                             const v1::ListCustomersRequest* request,
                                                             v1::ListCustomersResponse* response) {
  auto* call = new UnaryCall<v1::ListCustomersResponse>(deps_, context, "ListCustomers", response);
  if (absl::Status s = call->Admit(ValidateRequest(*request), auth::Permission::kCustomersRead, "");
      !s.ok()) {
    call->Fail(s);
    return call;
  }
  // The filter, not the page size, is what a token is bound to.
  const std::string binding =
      absl::StrCat("ListCustomers\n", request->filter_case(), "\n",
                   absl::AsciiStrToLower(request->has_company_name_prefix() ? request->company_name_prefix()
                                                                           : request->domain_prefix()));
  v1::ListCustomersRequest op_request = *request;
  if (absl::Status s = DecodePageToken(*deps_.page_tokens, binding, op_request); !s.ok()) {
    call->Fail(s);
    return call;
  }
  deps_.operations->ListCustomers(call->ctx(), std::move(op_request),
                                 WithPageToken(call->Completion(), deps_.page_tokens, binding));
  return call;
}

grpc::ServerUnaryReactor* CustomerServiceImpl::GetCustomer(grpc::CallbackServerContext* context,
                                                           const v1::GetCustomerRequest* request,
                                                           v1::GetCustomerResponse* response) {
  auto* call = new UnaryCall<v1::GetCustomerResponse>(deps_, context, "GetCustomer", response);
  if (absl::Status s = call->Admit(ValidateRequest(*request), auth::Permission::kCustomersRead,
                                   request->customer_id());
      !s.ok()) {
    call->Fail(s);
    return call;
  }
  deps_.operations->GetCustomer(call->ctx(), *request, call->Completion());
  return call;
}

grpc::ServerUnaryReactor* CustomerServiceImpl::ListCustomerUsers(
    grpc::CallbackServerContext* context, const v1::ListCustomerUsersRequest* request,
    v1::ListCustomerUsersResponse* response) {
  auto* call = new UnaryCall<v1::ListCustomerUsersResponse>(deps_, context, "ListCustomerUsers", response);
  if (absl::Status s = call->Admit(ValidateRequest(*request), auth::Permission::kCustomersRead,
                                   request->customer_id());
      !s.ok()) {
    call->Fail(s);
    return call;
  }
  std::string binding = absl::StrCat("ListCustomerUsers\n", absl::AsciiStrToLower(request->customer_id()));
  // Graph's startswith ignores case, so "Mi" and "mi" are the same search. Without a search the
  // binding stays as before it existed: tokens survive a rolling upgrade.
  if (!request->search_prefix().empty()) absl::StrAppend(&binding, "\n", absl::AsciiStrToLower(request->search_prefix()));
  v1::ListCustomerUsersRequest op_request = *request;
  if (absl::Status s = DecodePageToken(*deps_.page_tokens, binding, op_request); !s.ok()) {
    call->Fail(s);
    return call;
  }
  deps_.operations->ListCustomerUsers(call->ctx(), std::move(op_request),
                                 WithPageToken(call->Completion(), deps_.page_tokens, binding));
  return call;
}

grpc::ServerUnaryReactor* CustomerServiceImpl::CreateCustomerUser(
    grpc::CallbackServerContext* context, const v1::CreateCustomerUserRequest* request,
    v1::CreateCustomerUserResponse* response) {
  auto* call = new UnaryCall<v1::CreateCustomerUserResponse>(deps_, context, "CreateCustomerUser", response);
  AuditRecord audit;
  audit.customer_id = request->customer_id();
  audit.principal = request->user_principal_name();
  audit.validate_only = request->validate_only();
  call->SetAudit(std::move(audit));
  if (absl::Status s = call->Admit(ValidateRequest(*request), auth::Permission::kUsersWrite,
                                   request->customer_id());
      !s.ok()) {
    call->Fail(s);
    return call;
  }
  call->BeginMutation([this, call, request] {
    deps_.operations->CreateCustomerUser(call->ctx(), *request, call->Completion([](const v1::CreateCustomerUserResponse& r) {
      return absl::StrCat("objectId=", r.user().object_id());
    }));
  });
  return call;
}

}  // namespace partner::api
