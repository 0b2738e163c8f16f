#include "server/api/request_validation.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/ops/error_reason.h"

namespace partner::api {
namespace {

using ops::InvalidField;

// Characters that would change an upstream path or query if they slipped through encoding.
bool HasPathHazard(absl::string_view value) {
  for (char c : value) {
    if (c == '/' || c == '\\' || c == '%' || c == '?' || c == '#' || c == '&') return true;
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return absl::StrContains(value, "..");
}

// Counts code points; nullopt when `value` is not valid UTF-8 or holds a control character.
std::optional<size_t> CountTextChars(absl::string_view value) {
  size_t count = 0;
  size_t i = 0;
  while (i < value.size()) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return std::nullopt;
    }
    if (i + len > value.size()) return std::nullopt;
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(value[i + k]);
      if ((cc & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return std::nullopt;
    }
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp == 0x2028 || cp == 0x2029) return std::nullopt;
    i += len;
    ++count;
  }
  return count;
}

bool IsDomainLabelChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-'; }

bool IsDomain(absl::string_view domain) {
  if (domain.empty() || domain.size() > 253) return false;
  std::vector<absl::string_view> labels = absl::StrSplit(domain, '.');
  if (labels.size() < 2) return false;
  for (absl::string_view label : labels) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!IsDomainLabelChar(c)) return false;
    }
  }
  return true;
}

absl::Status ValidatePrincipal(absl::string_view field, const v1::Principal& principal,
                               bool allow_unset) {
  switch (principal.id_case()) {
    case v1::Principal::kUserPrincipalName:
      return ValidateUserPrincipalName(absl::StrCat(field, ".user_principal_name"),
                                       principal.user_principal_name());
    case v1::Principal::kObjectId:
      return ValidateGuid(absl::StrCat(field, ".object_id"), principal.object_id());
    case v1::Principal::ID_NOT_SET:
      break;
  }
  if (allow_unset) return absl::OkStatus();
  return InvalidField(field, "required: user_principal_name or object_id");
}

absl::Status ValidateRoleRef(absl::string_view field, const v1::RoleRef& role) {
  switch (role.id_case()) {
    case v1::RoleRef::kRoleName:
      return ValidateRoleName(absl::StrCat(field, ".role_name"), role.role_name());
    case v1::RoleRef::kRoleDefinitionId:
      return ValidateGuid(absl::StrCat(field, ".role_definition_id"), role.role_definition_id());
    case v1::RoleRef::ID_NOT_SET:
      break;
  }
  return InvalidField(field, "required: role_name or role_definition_id");
}

absl::Status ValidateOptionalResourceGroup(absl::string_view field, absl::string_view value) {
  if (value.empty()) return absl::OkStatus();
  return ValidateResourceGroup(field, value);
}

absl::Status ValidatePrefix(absl::string_view field, absl::string_view value, bool domain) {
  if (absl::Status s = ValidateText(field, value, 1, 256); !s.ok()) return s;
  if (HasPathHazard(value) || absl::StrContains(value, "'")) {
    return InvalidField(field, "must not contain '/', '\\', '%', '?', '#', '&', quotes or \"..\"");
  }
  if (domain) {
    for (char c : value) {
      if (!IsDomainLabelChar(c) && c != '.') {
        return InvalidField(field, "may hold only letters, digits, '-' and '.'");
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool IsGuid(absl::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

absl::Status ValidateGuid(absl::string_view field, absl::string_view value) {
  if (value.empty()) return InvalidField(field, "required");
  if (!IsGuid(value)) return InvalidField(field, "must be a GUID (8-4-4-4-12 hex digits)");
  return absl::OkStatus();
}

absl::Status ValidateResourceGroup(absl::string_view field, absl::string_view value) {
  // ARM: 1-90 characters, alphanumerics, underscores, hyphens, periods and parentheses, not
  // ending in a period. ARM also allows non-ASCII letters; this API does not, so every accepted
  // name is safe in a URL path segment as it is.
  if (value.empty() || value.size() > 90) return InvalidField(field, "must be 1 to 90 characters");
  for (char c : value) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' &&
        c != '(' && c != ')') {
      return InvalidField(field, "may hold only letters, digits, '_', '-', '.', '(' and ')'");
    }
  }
  if (value.back() == '.') return InvalidField(field, "must not end in '.'");
  if (absl::StrContains(value, "..")) return InvalidField(field, "must not contain \"..\"");
  return absl::OkStatus();
}

absl::Status ValidateUserPrincipalName(absl::string_view field, absl::string_view value) {
  if (value.empty()) return InvalidField(field, "required");
  if (value.size() > 256) return InvalidField(field, "must be at most 256 characters");
  const size_t at = value.rfind('@');
  if (at == absl::string_view::npos || at == 0) return InvalidField(field, "must be alias@domain");
  absl::string_view alias = value.substr(0, at);
  absl::string_view domain = value.substr(at + 1);
  if (!IsDomain(domain)) return InvalidField(field, "has an invalid domain");
  // Guest accounts carry "#EXT#" in the alias; '#' is allowed only there.
  std::string plain_alias(alias);
  const size_t ext = plain_alias.find("#EXT#");
  if (ext != std::string::npos) plain_alias.erase(ext, 5);
  if (plain_alias.empty()) return InvalidField(field, "has an empty alias");
  if (alias.size() > 113 && ext == std::string::npos) {
    return InvalidField(field, "alias must be at most 113 characters");
  }
  for (char c : plain_alias) {
    const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                    c == '_' || c == '\'' || c == '!' || c == '^' || c == '~' || c == '+';
    if (!ok) {
      return InvalidField(field, "alias may hold only letters, digits and . - _ ' ! ^ ~ +");
    }
  }
  if (plain_alias.front() == '.' || plain_alias.back() == '.' ||
      absl::StrContains(plain_alias, "..")) {
    return InvalidField(field, "alias must not start or end with '.' or contain \"..\"");
  }
  return absl::OkStatus();
}

absl::Status ValidateRoleName(absl::string_view field, absl::string_view value) {
  if (absl::Status s = ValidateText(field, value, 1, 512); !s.ok()) return s;
  if (HasPathHazard(value)) {
    return InvalidField(field, "must not contain '/', '\\', '%', '?', '#', '&' or \"..\"");
  }
  return absl::OkStatus();
}

absl::Status ValidateRoleAssignmentId(absl::string_view field, absl::string_view value) {
  static constexpr char kShape[] =
      "must be /subscriptions/{guid}[/resourceGroups/{name}]/providers/"
      "Microsoft.Authorization/roleAssignments/{guid}";
  if (value.empty()) return InvalidField(field, "required");
  if (value.size() > 400 || value.front() != '/') return InvalidField(field, kShape);
  std::vector<absl::string_view> parts = absl::StrSplit(value.substr(1), '/');
  if (parts.size() != 6 && parts.size() != 8) return InvalidField(field, kShape);
  size_t i = 0;
  if (!absl::EqualsIgnoreCase(parts[i++], "subscriptions") || !IsGuid(parts[i++])) {
    return InvalidField(field, kShape);
  }
  if (parts.size() == 8) {
    if (!absl::EqualsIgnoreCase(parts[i++], "resourceGroups")) return InvalidField(field, kShape);
    if (!ValidateResourceGroup(field, parts[i++]).ok()) return InvalidField(field, kShape);
  }
  if (!absl::EqualsIgnoreCase(parts[i++], "providers") ||
      !absl::EqualsIgnoreCase(parts[i++], "Microsoft.Authorization") ||
      !absl::EqualsIgnoreCase(parts[i++], "roleAssignments") || !IsGuid(parts[i++])) {
    return InvalidField(field, kShape);
  }
  return absl::OkStatus();
}

absl::Status ValidateText(absl::string_view field, absl::string_view value, size_t min_chars,
                          size_t max_chars) {
  std::optional<size_t> chars = CountTextChars(value);
  if (!chars.has_value()) {
    return InvalidField(field, "must be valid UTF-8 without control characters");
  }
  if (*chars < min_chars) {
    return InvalidField(field, min_chars == 1 ? "required"
                                              : absl::StrCat("must be at least ", min_chars,
                                                             " characters"));
  }
  if (*chars > max_chars) {
    return InvalidField(field, absl::StrCat("must be at most ", max_chars, " characters"));
  }
  return absl::OkStatus();
}

absl::Status ValidatePageSize(absl::string_view field, int page_size) {
  if (page_size < 0 || page_size > kMaxPageSize) {
    return InvalidField(field, absl::StrCat("must be 0 to ", kMaxPageSize));
  }
  return absl::OkStatus();
}

absl::Status ValidateRequest(const v1::ListCustomersRequest& request) {
  if (absl::Status s = ValidatePageSize("page_size", request.page_size()); !s.ok()) return s;
  if (request.page_token().size() > 4096) return InvalidField("page_token", "is too long");
  switch (request.filter_case()) {
    case v1::ListCustomersRequest::kCompanyNamePrefix:
      return ValidatePrefix("company_name_prefix", request.company_name_prefix(), false);
    case v1::ListCustomersRequest::kDomainPrefix:
      return ValidatePrefix("domain_prefix", request.domain_prefix(), true);
    case v1::ListCustomersRequest::FILTER_NOT_SET:
      break;
  }
  return absl::OkStatus();
}

absl::Status ValidateRequest(const v1::GetCustomerRequest& request) {
  return ValidateGuid("customer_id", request.customer_id());
}

absl::Status ValidateRequest(const v1::ListCustomerUsersRequest& request) {
  if (absl::Status s = ValidateGuid("customer_id", request.customer_id()); !s.ok()) return s;
  if (request.page_token().size() > 4096) return InvalidField("page_token", "is too long");
  // Quotes and URL delimiters are fine: the Graph client escapes the OData literal and encodes
  // the query.
  if (!request.search_prefix().empty()) {
    if (absl::Status s = ValidateText("search_prefix", request.search_prefix(), 1, 256); !s.ok()) return s;
  }
  return ValidatePageSize("page_size", request.page_size());
}

absl::Status ValidateRequest(const v1::CreateCustomerUserRequest& request) {
  if (absl::Status s = ValidateGuid("customer_id", request.customer_id()); !s.ok()) return s;
  if (absl::Status s = ValidateUserPrincipalName("user_principal_name", request.user_principal_name());
      !s.ok()) {
    return s;
  }
  if (absl::StrContains(request.user_principal_name(), "#EXT#")) {
    return InvalidField("user_principal_name", "guest (#EXT#) users cannot be created here");
  }
  if (absl::Status s = ValidateText("display_name", request.display_name(), 1, 256); !s.ok()) return s;
  const std::string& location = request.usage_location();
  if (!location.empty() &&
      (location.size() != 2 || !absl::ascii_isalpha(static_cast<unsigned char>(location[0])) ||
       !absl::ascii_isalpha(static_cast<unsigned char>(location[1])))) {
    return InvalidField("usage_location", "must be a two-letter ISO 3166 country code");
  }
  return absl::OkStatus();
}

absl::Status ValidateRequest(const v1::ListSubscriptionsRequest& request) {
  return ValidateGuid("customer_id", request.customer_id());
}

absl::Status ValidateRequest(const v1::GetSubscriptionRequest& request) {
  if (absl::Status s = ValidateGuid("customer_id", request.customer_id()); !s.ok()) return s;
  return ValidateGuid("subscription_id", request.subscription_id());
}

absl::Status ValidateRequest(const v1::ListAzureSubscriptionsRequest& request) {
  return ValidateGuid("customer_id", request.customer_id());
}

absl::Status ValidateRequest(const v1::ListRoleDefinitionsRequest& request) {
  if (absl::Status s = ValidateGuid("customer_id", request.customer_id()); !s.ok()) return s;
  if (absl::Status s = ValidateGuid("azure_subscription_id", request.azure_subscription_id()); !s.ok()) {
    return s;
  }
  if (!v1::RoleType_IsValid(request.role_type())) return InvalidField("role_type", "unknown value");
  return absl::OkStatus();
}

absl::Status ValidateAssignRole(const v1::AssignRoleRequest& request, absl::string_view prefix) {
  auto f = [&](absl::string_view name) { return absl::StrCat(prefix, name); };
  if (absl::Status s = ValidateGuid(f("customer_id"), request.customer_id()); !s.ok()) return s;
  if (absl::Status s = ValidateGuid(f("azure_subscription_id"), request.azure_subscription_id()); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateOptionalResourceGroup(f("resource_group"), request.resource_group());
      !s.ok()) {
    return s;
  }
  if (!request.has_principal()) return InvalidField(f("principal"), "required");
  if (absl::Status s = ValidatePrincipal(f("principal"), request.principal(), false); !s.ok()) return s;
  if (!v1::PrincipalType_IsValid(request.principal_type())) {
    return InvalidField(f("principal_type"), "unknown value");
  }
  if (request.principal().has_user_principal_name() &&
      request.principal_type() != v1::PRINCIPAL_TYPE_UNSPECIFIED &&
      request.principal_type() != v1::PRINCIPAL_TYPE_USER) {
    return InvalidField(f("principal_type"), "a user_principal_name names a user");
  }
  if (!request.has_role()) return InvalidField(f("role"), "required");
  if (absl::Status s = ValidateRoleRef(f("role"), request.role()); !s.ok()) return s;
  return ValidateText(f("description"), request.description(), 0, 1024);
}

absl::Status ValidateRequest(const v1::ListRoleAssignmentsRequest& request) {
  if (absl::Status s = ValidateGuid("customer_id", request.customer_id()); !s.ok()) return s;
  if (absl::Status s = ValidateGuid("azure_subscription_id", request.azure_subscription_id()); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateOptionalResourceGroup("resource_group", request.resource_group()); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidatePrincipal("principal", request.principal(), true); !s.ok()) return s;
  if (request.page_token().size() > 4096) return InvalidField("page_token", "is too long");
  return ValidatePageSize("page_size", request.page_size());
}

absl::Status ValidateRequest(const v1::RevokeRoleRequest& request) {
  if (absl::Status s = ValidateGuid("customer_id", request.customer_id()); !s.ok()) return s;
  switch (request.target_case()) {
    case v1::RevokeRoleRequest::kRoleAssignmentId:
      return ValidateRoleAssignmentId("role_assignment_id", request.role_assignment_id());
    case v1::RevokeRoleRequest::kTriple: {
      const v1::RoleAssignmentTriple& t = request.triple();
      if (absl::Status s = ValidateGuid("triple.azure_subscription_id", t.azure_subscription_id());
          !s.ok()) {
        return s;
      }
      if (absl::Status s = ValidateOptionalResourceGroup("triple.resource_group", t.resource_group());
          !s.ok()) {
        return s;
      }
      if (!t.has_principal()) return InvalidField("triple.principal", "required");
      if (absl::Status s = ValidatePrincipal("triple.principal", t.principal(), false); !s.ok()) return s;
      if (!t.has_role()) return InvalidField("triple.role", "required");
      return ValidateRoleRef("triple.role", t.role());
    }
    case v1::RevokeRoleRequest::TARGET_NOT_SET:
      break;
  }
  return InvalidField("target", "required: role_assignment_id or triple");
}

absl::Status ValidateRequest(const v1::BatchAssignRolesRequest& request) {
  if (request.items().empty()) return InvalidField("items", "required: 1 to 5000 items");
  if (request.items_size() > kMaxBatchItems) {
    return InvalidField("items", absl::StrCat("at most ", kMaxBatchItems, " items"));
  }
  return absl::OkStatus();
}

}  // namespace partner::api
