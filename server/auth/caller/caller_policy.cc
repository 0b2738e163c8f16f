#include "server/auth/caller/caller_policy.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/ops/error_reason.h"

namespace partner::auth {
namespace {

std::optional<Permission> ParsePermission(absl::string_view name) {
  if (name == "customers.read") return Permission::kCustomersRead;
  if (name == "subscriptions.read") return Permission::kSubscriptionsRead;
  if (name == "access.read") return Permission::kAccessRead;
  if (name == "access.write") return Permission::kAccessWrite;
  if (name == "users.write") return Permission::kUsersWrite;
  return std::nullopt;
}

absl::Status Unauthenticated(absl::string_view why) {
  return ops::WithReason(absl::UnauthenticatedError(why), v1::ERROR_REASON_UNAUTHENTICATED);
}

// Envoy quotes an x-forwarded-client-cert value holding , ; = or " and escapes a quote inside it
// with a backslash. Splits at each separator outside quotes; nullopt when a quote is left open,
// since a caller's stray quote would otherwise swallow the comma before the sidecar's element
// and pass the caller's own text off as the sidecar's.
std::optional<std::vector<absl::string_view>> SplitOutsideQuotes(absl::string_view text, char separator) {
  std::vector<absl::string_view> parts;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (quoted && text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      quoted = !quoted;
    } else if (text[i] == separator && !quoted) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  if (quoted) return std::nullopt;
  parts.push_back(text.substr(start));
  return parts;
}

std::string Unquote(absl::string_view value) {
  if (value.size() < 2 || value.front() != '"' || value.back() != '"') return std::string(value);
  std::string out;
  for (size_t i = 1; i + 1 < value.size(); ++i) {
    if (value[i] == '\\' && i + 2 < value.size()) ++i;
    out.push_back(value[i]);
  }
  return out;
}

}  // namespace

absl::string_view PermissionName(Permission permission) {
  switch (permission) {
    case Permission::kCustomersRead:
      return "customers.read";
    case Permission::kSubscriptionsRead:
      return "subscriptions.read";
    case Permission::kAccessRead:
      return "access.read";
    case Permission::kAccessWrite:
      return "access.write";
    case Permission::kUsersWrite:
      return "users.write";
  }
  return "unknown";
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

std::vector<std::string> ParseForwardedClientCert(absl::string_view header) {
  std::optional<std::vector<absl::string_view>> elements = SplitOutsideQuotes(header, ',');
  std::optional<std::vector<absl::string_view>> pairs =
      elements.has_value() ? SplitOutsideQuotes(elements->back(), ';') : std::nullopt;
  if (!pairs.has_value()) return {};
  std::vector<std::string> out;
  for (absl::string_view pair : *pairs) {
    pair = absl::StripAsciiWhitespace(pair);
    const size_t eq = pair.find('=');
    if (eq == absl::string_view::npos) continue;
    absl::string_view key = pair.substr(0, eq);
    std::string value = Unquote(pair.substr(eq + 1));
    if ((absl::EqualsIgnoreCase(key, "URI") || absl::EqualsIgnoreCase(key, "DNS")) && !value.empty()) {
      out.push_back(std::move(value));
    }
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const CallerPolicy>> CallerPolicy::Create(
    const config::v1::CallerPolicy& config) {
  std::shared_ptr<CallerPolicy> policy(new CallerPolicy());
  policy->allow_unauthenticated_ = config.allow_unauthenticated();
  policy->trust_forwarded_client_cert_ = config.trust_forwarded_client_cert();
  std::map<std::string, size_t> by_name;
  for (const config::v1::Caller& c : config.callers()) {
    CallerIdentity identity;
    identity.name = c.name();
    for (const std::string& p : c.permissions()) {
      if (p == "*") {
        identity.all_permissions = true;
      } else if (std::optional<Permission> parsed = ParsePermission(p); parsed.has_value()) {
        identity.permissions.insert(*parsed);
      } else {
        return absl::InvalidArgumentError(absl::StrCat("callers: unknown permission \"", p, "\""));
      }
    }
    for (const std::string& g : c.customer_allowlist()) {
      identity.customer_allowlist.insert(absl::AsciiStrToLower(g));
    }
    const size_t index = policy->callers_.size();
    policy->callers_.push_back(std::move(identity));
    by_name[c.name()] = index;
    for (const std::string& id : c.identities()) policy->by_identity_[id] = index;
    for (const std::string& d : c.bearer_token_sha256()) {
      policy->by_token_digest_[absl::AsciiStrToLower(d)] = index;
    }
  }
  if (!config.bearer_token_digests_file().empty()) {
    std::ifstream in(config.bearer_token_digests_file());
    if (!in) {
      return absl::InvalidArgumentError(absl::StrCat("callers.bearer_token_digests_file: cannot read \"",
                                                     config.bearer_token_digests_file(), "\""));
    }
    std::string line;
    int line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      absl::string_view text = absl::StripAsciiWhitespace(line);
      if (text.empty() || text.front() == '#') continue;
      std::vector<absl::string_view> parts = absl::StrSplit(text, ' ', absl::SkipWhitespace());
      auto caller = parts.size() == 2 ? by_name.find(std::string(parts[1])) : by_name.end();
      if (parts.size() != 2 || parts[0].size() != 64 || caller == by_name.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("callers.bearer_token_digests_file: line ", line_no,
                         ": expected \"<sha256 hex> <name of a configured caller>\""));
      }
      policy->by_token_digest_[absl::AsciiStrToLower(parts[0])] = caller->second;
    }
  }
  return std::shared_ptr<const CallerPolicy>(std::move(policy));
}

absl::StatusOr<CallerIdentity> CallerPolicy::Authenticate(const PresentedCredentials& presented) const {
  for (const std::string& id : presented.certificate_identities) {
    if (auto it = by_identity_.find(id); it != by_identity_.end()) return callers_[it->second];
  }
  if (trust_forwarded_client_cert_ && presented.forwarded_client_cert.has_value()) {
    for (const std::string& id : ParseForwardedClientCert(*presented.forwarded_client_cert)) {
      if (auto it = by_identity_.find(id); it != by_identity_.end()) return callers_[it->second];
    }
  }
  if (presented.authorization.has_value()) {
    absl::string_view value = *presented.authorization;
    if (!absl::ConsumePrefix(&value, "Bearer ") && !absl::ConsumePrefix(&value, "bearer ")) {
      return Unauthenticated("authorization: expected \"Bearer <token>\"");
    }
    const std::string digest = Sha256Hex(absl::StripAsciiWhitespace(value));
    // Digests are compared in constant time so response timing reveals nothing about them.
    for (const auto& [known, index] : by_token_digest_) {
      if (known.size() == digest.size() &&
          CRYPTO_memcmp(known.data(), digest.data(), digest.size()) == 0) {
        return callers_[index];
      }
    }
    return Unauthenticated("the bearer token is not recognised");
  }
  if (allow_unauthenticated_) {
    CallerIdentity anonymous;
    anonymous.name = "anonymous";
    anonymous.all_permissions = true;
    return anonymous;
  }
  if (!presented.certificate_identities.empty()) {
    return Unauthenticated("the client certificate does not name a known caller");
  }
  return Unauthenticated("no credentials: present a client certificate or a bearer token");
}

absl::Status CallerPolicy::Authorize(const CallerIdentity& caller, Permission permission,
                                     absl::string_view customer_id) {
  if (!caller.all_permissions && caller.permissions.count(permission) == 0) {
    return ops::WithReason(absl::PermissionDeniedError(absl::StrCat("caller \"", caller.name,
                                                                    "\" lacks permission ",
                                                                    PermissionName(permission))),
                           v1::ERROR_REASON_CALLER_NOT_PERMITTED);
  }
  if (!customer_id.empty() && !caller.customer_allowlist.empty() &&
      caller.customer_allowlist.count(absl::AsciiStrToLower(customer_id)) == 0) {
    return ops::WithReason(
        absl::PermissionDeniedError(absl::StrCat("caller \"", caller.name,
                                                 "\" may not act on customer ", customer_id)),
        v1::ERROR_REASON_CALLER_NOT_PERMITTED);
  }
  return absl::OkStatus();
}

}  // namespace partner::auth
