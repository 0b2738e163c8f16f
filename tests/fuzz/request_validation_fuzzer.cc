// libFuzzer target over the api layer's request validation (issue 7.5): every request type is
// built from the fuzz bytes, either field by field or by parsing the bytes as the request's
// protobuf. Validation must never crash, must refuse only with INVALID_ARGUMENT, and whatever it
// accepts must be safe to place in an upstream URL: no identifier may carry '/', '?', '#', '%',
// CR, LF or NUL (a role assignment id's '/' separators and a guest UPN's "#EXT#" excepted, both
// checked for what they may legitimately hold).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/api/request_validation.h"

namespace partner::api {
namespace {

[[noreturn]] void Fail(const char* what, const std::string& value) {
  std::fprintf(stderr, "request validation accepted an unsafe %s: '", what);
  for (unsigned char c : value) std::fprintf(stderr, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
  std::fprintf(stderr, "'\n");
  std::abort();
}

bool HasHazard(const std::string& value) {
  return value.find_first_of(std::string("/?#%\r\n\0", 8)) != std::string::npos;
}

void CheckIdentifier(const char* what, const std::string& value) {
  if (HasHazard(value) || value.find("..") != std::string::npos) Fail(what, value);
}

void CheckUserPrincipalName(const std::string& value) {
  std::string plain = value;
  if (const std::size_t ext = plain.find("#EXT#"); ext != std::string::npos) plain.erase(ext, 5);
  CheckIdentifier("user_principal_name", plain);
}

// A full ARM id: '/'-separated segments, each itself safe and not empty.
void CheckRoleAssignmentId(const std::string& value) {
  if (value.empty() || value.front() != '/') Fail("role_assignment_id", value);
  for (absl::string_view segment : absl::StrSplit(absl::string_view(value).substr(1), '/')) {
    if (segment.empty()) Fail("role_assignment_id", value);
    CheckIdentifier("role_assignment_id segment", std::string(segment.data(), segment.size()));
  }
}

void CheckPrincipal(const v1::Principal& principal) {
  if (principal.has_user_principal_name()) CheckUserPrincipalName(principal.user_principal_name());
  CheckIdentifier("principal.object_id", principal.object_id());
}

void CheckRole(const v1::RoleRef& role) {
  // Role names are display names ("User Access Administrator"): spaces are fine, hazards are not.
  CheckIdentifier("role.role_name", role.role_name());
  CheckIdentifier("role.role_definition_id", role.role_definition_id());
}

void CheckAssign(const v1::AssignRoleRequest& r) {
  CheckIdentifier("customer_id", r.customer_id());
  CheckIdentifier("azure_subscription_id", r.azure_subscription_id());
  CheckIdentifier("resource_group", r.resource_group());
  CheckPrincipal(r.principal());
  CheckRole(r.role());
}

// Refusals are INVALID_ARGUMENT and nothing else; acceptance runs `check`.
template <typename Request, typename Check>
void Expect(const absl::Status& status, const Request& request, const Check& check) {
  if (status.ok()) {
    check(request);
  } else if (status.code() != absl::StatusCode::kInvalidArgument) {
    std::fprintf(stderr, "validation refused with %s\n", status.ToString().c_str());
    std::abort();
  }
}

void CheckAccepted(const v1::ListCustomersRequest& r) {
  CheckIdentifier("company_name_prefix", r.company_name_prefix());
  CheckIdentifier("domain_prefix", r.domain_prefix());
}
void CheckAccepted(const v1::GetCustomerRequest& r) { CheckIdentifier("customer_id", r.customer_id()); }
void CheckAccepted(const v1::ListCustomerUsersRequest& r) { CheckIdentifier("customer_id", r.customer_id()); }
void CheckAccepted(const v1::CreateCustomerUserRequest& r) {
  CheckIdentifier("customer_id", r.customer_id());
  // Guests cannot be created, so the UPN of a new user has no "#EXT#" exception.
  CheckIdentifier("user_principal_name", r.user_principal_name());
}
void CheckAccepted(const v1::ListSubscriptionsRequest& r) { CheckIdentifier("customer_id", r.customer_id()); }
void CheckAccepted(const v1::GetSubscriptionRequest& r) {
  CheckIdentifier("customer_id", r.customer_id());
  CheckIdentifier("subscription_id", r.subscription_id());
}
void CheckAccepted(const v1::ListAzureSubscriptionsRequest& r) { CheckIdentifier("customer_id", r.customer_id()); }
void CheckAccepted(const v1::ListRoleDefinitionsRequest& r) {
  CheckIdentifier("customer_id", r.customer_id());
  CheckIdentifier("azure_subscription_id", r.azure_subscription_id());
}
void CheckAccepted(const v1::ListRoleAssignmentsRequest& r) {
  CheckIdentifier("customer_id", r.customer_id());
  CheckIdentifier("azure_subscription_id", r.azure_subscription_id());
  CheckIdentifier("resource_group", r.resource_group());
  CheckPrincipal(r.principal());
}
void CheckAccepted(const v1::RevokeRoleRequest& r) {
  CheckIdentifier("customer_id", r.customer_id());
  if (r.has_role_assignment_id()) CheckRoleAssignmentId(r.role_assignment_id());
  CheckIdentifier("triple.azure_subscription_id", r.triple().azure_subscription_id());
  CheckIdentifier("triple.resource_group", r.triple().resource_group());
  CheckPrincipal(r.triple().principal());
  CheckRole(r.triple().role());
}

template <typename Request>
void Validate(const Request& request) {
  Expect(ValidateRequest(request), request, [](const Request& r) { CheckAccepted(r); });
}

void Validate(const v1::AssignRoleRequest& request) { Expect(ValidateAssignRole(request), request, CheckAssign); }

void Validate(const v1::BatchAssignRolesRequest& request) {
  Expect(ValidateRequest(request), request, [](const v1::BatchAssignRolesRequest&) {});
  for (int i = 0; i < request.items_size(); ++i) {
    Expect(ValidateAssignRole(request.items(i), absl::StrCat("items[", i, "].")), request.items(i), CheckAssign);
  }
}

// Valid values to start from, so the fuzzer gets past the first field to the later ones.
const std::vector<std::string>& Seeds() {
  static const auto* seeds = new std::vector<std::string>{
      "0f3e6a51-7c1b-4c53-9b6d-2a4f7e1d9c10",
      "5C1B2A3D-0E9F-4A8B-9C7D-6E5F4A3B2C1D",
      "alice.smith@contoso.onmicrosoft.com",
      "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com",
      "rg-prod_01(eu).west",
      "Reader",
      "User Access Administrator",
      "/subscriptions/0f3e6a51-7c1b-4c53-9b6d-2a4f7e1d9c10/providers/Microsoft.Authorization/roleAssignments/"
      "5c1b2a3d-0e9f-4a8b-9c7d-6e5f4a3b2c1d",
      "/subscriptions/0f3e6a51-7c1b-4c53-9b6d-2a4f7e1d9c10/resourceGroups/rg1/providers/"
      "Microsoft.Authorization/roleAssignments/5c1b2a3d-0e9f-4a8b-9c7d-6e5f4a3b2c1d",
      "Contoso",
      "contoso.com",
  };
  return *seeds;
}

// A field value: a seed as is, a seed with fuzz-chosen edits, or raw fuzz bytes.
std::string Value(FuzzedDataProvider& in) {
  const int mode = in.ConsumeIntegralInRange(0, 3);
  if (mode == 3) return in.ConsumeRandomLengthString(600);
  const std::vector<std::string>& seeds = Seeds();
  std::string value = seeds[in.ConsumeIntegralInRange<std::size_t>(0, seeds.size() - 1)];
  if (mode == 0) return value;
  for (int edits = in.ConsumeIntegralInRange(1, 4); edits > 0 && in.remaining_bytes() > 0; --edits) {
    const std::size_t at = in.ConsumeIntegralInRange<std::size_t>(0, value.size());
    const std::string bytes = in.ConsumeRandomLengthString(8);
    switch (in.ConsumeIntegralInRange(0, 2)) {
      case 0: value.insert(at, bytes); break;
      case 1: value.replace(at, bytes.size(), bytes); break;
      default: value.erase(at, bytes.size()); break;
    }
  }
  return value;
}

void FillPrincipal(FuzzedDataProvider& in, v1::Principal* principal) {
  switch (in.ConsumeIntegralInRange(0, 2)) {
    case 0: principal->set_user_principal_name(Value(in)); break;
    case 1: principal->set_object_id(Value(in)); break;
    default: break;
  }
}

void FillRole(FuzzedDataProvider& in, v1::RoleRef* role) {
  switch (in.ConsumeIntegralInRange(0, 2)) {
    case 0: role->set_role_name(Value(in)); break;
    case 1: role->set_role_definition_id(Value(in)); break;
    default: break;
  }
}

void FillAssign(FuzzedDataProvider& in, v1::AssignRoleRequest* r) {
  r->set_customer_id(Value(in));
  r->set_azure_subscription_id(Value(in));
  if (in.ConsumeBool()) r->set_resource_group(Value(in));
  if (in.ConsumeBool()) FillPrincipal(in, r->mutable_principal());
  r->set_principal_type(static_cast<v1::PrincipalType>(in.ConsumeIntegralInRange(-1, 4)));
  FillRole(in, r->mutable_role());
  r->set_description(in.ConsumeRandomLengthString(64));
}

// Field by field, every request type.
void Structured(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 12)) {
    case 0: {
      v1::ListCustomersRequest r;
      r.set_page_size(in.ConsumeIntegral<int32_t>());
      r.set_page_token(in.ConsumeRandomLengthString(64));
      if (in.ConsumeBool()) r.set_company_name_prefix(Value(in));
      else if (in.ConsumeBool()) r.set_domain_prefix(Value(in));
      return Validate(r);
    }
    case 1: {
      v1::GetCustomerRequest r;
      r.set_customer_id(Value(in));
      return Validate(r);
    }
    case 2: {
      v1::ListCustomerUsersRequest r;
      r.set_customer_id(Value(in));
      r.set_page_size(in.ConsumeIntegral<int32_t>());
      return Validate(r);
    }
    case 3: {
      v1::CreateCustomerUserRequest r;
      r.set_customer_id(Value(in));
      r.set_user_principal_name(Value(in));
      r.set_display_name(Value(in));
      r.set_usage_location(in.ConsumeRandomLengthString(3));
      return Validate(r);
    }
    case 4: {
      v1::ListSubscriptionsRequest r;
      r.set_customer_id(Value(in));
      return Validate(r);
    }
    case 5: {
      v1::GetSubscriptionRequest r;
      r.set_customer_id(Value(in));
      r.set_subscription_id(Value(in));
      return Validate(r);
    }
    case 6: {
      v1::ListAzureSubscriptionsRequest r;
      r.set_customer_id(Value(in));
      return Validate(r);
    }
    case 7: {
      v1::ListRoleDefinitionsRequest r;
      r.set_customer_id(Value(in));
      r.set_azure_subscription_id(Value(in));
      r.set_role_type(static_cast<v1::RoleType>(in.ConsumeIntegralInRange(-1, 4)));
      return Validate(r);
    }
    case 8: {
      v1::ListRoleAssignmentsRequest r;
      r.set_customer_id(Value(in));
      r.set_azure_subscription_id(Value(in));
      if (in.ConsumeBool()) r.set_resource_group(Value(in));
      if (in.ConsumeBool()) FillPrincipal(in, r.mutable_principal());
      r.set_page_size(in.ConsumeIntegral<int32_t>());
      return Validate(r);
    }
    case 9: {
      v1::RevokeRoleRequest r;
      r.set_customer_id(Value(in));
      if (in.ConsumeBool()) {
        r.set_role_assignment_id(Value(in));
      } else {
        v1::RoleAssignmentTriple& t = *r.mutable_triple();
        t.set_azure_subscription_id(Value(in));
        if (in.ConsumeBool()) t.set_resource_group(Value(in));
        FillPrincipal(in, t.mutable_principal());
        FillRole(in, t.mutable_role());
      }
      return Validate(r);
    }
    case 10: {
      v1::AssignRoleRequest r;
      FillAssign(in, &r);
      return Validate(r);
    }
    default: {
      v1::BatchAssignRolesRequest r;
      for (int n = in.ConsumeIntegralInRange(0, 3); n > 0; --n) FillAssign(in, r.add_items());
      return Validate(r);
    }
  }
}

// The bytes as a serialized request: what a gRPC caller can actually put on the wire, including
// unknown fields, repeated oneof members and out-of-range enum values.
template <typename Request>
void Parsed(const std::string& bytes) {
  Request request;
  if (request.ParseFromString(bytes)) Validate(request);
}

void Parsed(FuzzedDataProvider& in) {
  const int type = in.ConsumeIntegralInRange(0, 12);
  const std::string bytes = in.ConsumeRemainingBytesAsString();
  switch (type) {
    case 0: return Parsed<v1::ListCustomersRequest>(bytes);
    case 1: return Parsed<v1::GetCustomerRequest>(bytes);
    case 2: return Parsed<v1::ListCustomerUsersRequest>(bytes);
    case 3: return Parsed<v1::CreateCustomerUserRequest>(bytes);
    case 4: return Parsed<v1::ListSubscriptionsRequest>(bytes);
    case 5: return Parsed<v1::GetSubscriptionRequest>(bytes);
    case 6: return Parsed<v1::ListAzureSubscriptionsRequest>(bytes);
    case 7: return Parsed<v1::ListRoleDefinitionsRequest>(bytes);
    case 8: return Parsed<v1::ListRoleAssignmentsRequest>(bytes);
    case 9: return Parsed<v1::RevokeRoleRequest>(bytes);
    case 10: return Parsed<v1::AssignRoleRequest>(bytes);
    default: return Parsed<v1::BatchAssignRolesRequest>(bytes);
  }
}

}  // namespace
}  // namespace partner::api

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool()) {
    partner::api::Parsed(in);
  } else {
    partner::api::Structured(in);
  }
  return 0;
}
