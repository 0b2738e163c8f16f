#include "server/ops/naming.h"

#include <openssl/evp.h>

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace partner::ops {
namespace {

// The namespace of partner-gateway role assignment names (a fixed random UUID).
constexpr char kAssignmentNamespace[] = "6f1e2d3c-4b5a-4987-a6b5-c4d3e2f1a0b9";

std::array<unsigned char, 16> ParseUuid(absl::string_view uuid) {
  std::array<unsigned char, 16> out{};
  size_t n = 0;
  int high = -1;
  for (char c : uuid) {
    if (c == '-') continue;
    int v = absl::ascii_isdigit(static_cast<unsigned char>(c)) ? c - '0'
                                                                : absl::ascii_tolower(c) - 'a' + 10;
    if (high < 0) {
      high = v;
    } else if (n < out.size()) {
      out[n++] = static_cast<unsigned char>(high << 4 | v);
      high = -1;
    }
  }
  return out;
}

}  // namespace

std::string NameBasedUuid(absl::string_view namespace_uuid, absl::string_view name) {
  const std::array<unsigned char, 16> ns = ParseUuid(namespace_uuid);
  std::string input(reinterpret_cast<const char*>(ns.data()), ns.size());
  input.append(name.data(), name.size());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha1(), nullptr);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0F) | 0x50);
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3F) | 0x80);
  std::string hex;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) hex.push_back('-');
    absl::StrAppendFormat(&hex, "%02x", digest[i]);
  }
  return hex;
}

std::string RoleAssignmentName(absl::string_view scope, absl::string_view principal_id,
                               absl::string_view role_definition_id) {
  return NameBasedUuid(kAssignmentNamespace,
                       absl::StrCat(absl::AsciiStrToLower(scope), "\n",
                                    absl::AsciiStrToLower(principal_id), "\n",
                                    absl::AsciiStrToLower(role_definition_id)));
}

std::string ScopeFor(absl::string_view azure_subscription_id, absl::string_view resource_group) {
  std::string scope = absl::StrCat("/subscriptions/", absl::AsciiStrToLower(azure_subscription_id));
  if (!resource_group.empty()) absl::StrAppend(&scope, "/resourceGroups/", resource_group);
  return scope;
}

v1::SubscriptionKind KindForOffer(absl::string_view offer_id) {
  // Azure plan offers are "DZH318Z0BPS6" optionally followed by ":sku:availability".
  if (absl::StartsWithIgnoreCase(offer_id, "DZH318Z0BPS6")) return v1::SUBSCRIPTION_KIND_AZURE_PLAN;
  if (absl::StartsWithIgnoreCase(offer_id, "MS-AZR-0145P")) return v1::SUBSCRIPTION_KIND_LEGACY_AZURE;
  if (offer_id.empty()) return v1::SUBSCRIPTION_KIND_UNSPECIFIED;
  return v1::SUBSCRIPTION_KIND_LICENSE;
}

v1::SubscriptionStatus StatusFromPartnerCenter(absl::string_view status) {
  static constexpr std::pair<absl::string_view, v1::SubscriptionStatus> kMap[] = {
      {"active", v1::SUBSCRIPTION_STATUS_ACTIVE},       {"pending", v1::SUBSCRIPTION_STATUS_PENDING},
      {"suspended", v1::SUBSCRIPTION_STATUS_SUSPENDED}, {"deleted", v1::SUBSCRIPTION_STATUS_DELETED},
      {"expired", v1::SUBSCRIPTION_STATUS_EXPIRED},     {"disabled", v1::SUBSCRIPTION_STATUS_DISABLED}};
  for (const auto& [name, value] : kMap) {
    if (absl::EqualsIgnoreCase(status, name)) return value;
  }
  return v1::SUBSCRIPTION_STATUS_UNSPECIFIED;
}

v1::CustomerRelationship RelationshipFromPartnerCenter(absl::string_view relationship) {
  static constexpr std::pair<absl::string_view, v1::CustomerRelationship> kMap[] = {
      {"none", v1::CUSTOMER_RELATIONSHIP_NONE},
      {"reseller", v1::CUSTOMER_RELATIONSHIP_RESELLER},
      {"advisor", v1::CUSTOMER_RELATIONSHIP_ADVISOR},
      {"syndication", v1::CUSTOMER_RELATIONSHIP_SYNDICATION},
      {"microsoftsupport", v1::CUSTOMER_RELATIONSHIP_MICROSOFT_SUPPORT}};
  for (const auto& [name, value] : kMap) {
    if (absl::EqualsIgnoreCase(relationship, name)) return value;
  }
  return v1::CUSTOMER_RELATIONSHIP_UNSPECIFIED;
}

v1::PrincipalType PrincipalTypeFromArm(absl::string_view principal_type) {
  if (absl::EqualsIgnoreCase(principal_type, "User")) return v1::PRINCIPAL_TYPE_USER;
  if (absl::EqualsIgnoreCase(principal_type, "Group")) return v1::PRINCIPAL_TYPE_GROUP;
  if (absl::EqualsIgnoreCase(principal_type, "ServicePrincipal")) return v1::PRINCIPAL_TYPE_SERVICE_PRINCIPAL;
  if (absl::EqualsIgnoreCase(principal_type, "ForeignGroup")) return v1::PRINCIPAL_TYPE_FOREIGN_GROUP;
  return v1::PRINCIPAL_TYPE_UNSPECIFIED;
}

absl::string_view PrincipalTypeToArm(v1::PrincipalType type) {
  switch (type) {
    case v1::PRINCIPAL_TYPE_GROUP:
      return "Group";
    case v1::PRINCIPAL_TYPE_SERVICE_PRINCIPAL:
      return "ServicePrincipal";
    case v1::PRINCIPAL_TYPE_FOREIGN_GROUP:
      return "ForeignGroup";
    default:
      return "User";
  }
}

}  // namespace partner::ops
