#include "server/api/page_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/ops/error_reason.h"

namespace partner::api {
namespace {

constexpr char kVersion = '\x01';
constexpr size_t kMacSize = 32;

absl::Status BadToken(absl::string_view why) {
  absl::Status status = ops::InvalidField("page_token", why);
  return ops::WithReason(std::move(status), v1::ERROR_REASON_INVALID_PAGE_TOKEN);
}

}  // namespace

PageTokenCodec::PageTokenCodec(std::string key) : key_(std::move(key)) {}

std::string PageTokenCodec::Mac(absl::string_view binding, absl::string_view state) const {
  // Length-prefixing keeps (binding, state) pairs unambiguous.
  const std::string message =
      absl::StrCat("partner-gateway page token v1\n", binding.size(), ":", binding, state);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &out_len);
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

std::string PageTokenCodec::Encode(absl::string_view binding, absl::string_view state) const {
  std::string raw;
  raw.push_back(kVersion);
  absl::StrAppend(&raw, Mac(binding, state), state);
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<std::string> PageTokenCodec::Decode(absl::string_view binding,
                                                   absl::string_view token) const {
  std::string raw;
  // absl's decoder skips whitespace; a token is exactly what Encode produced, nothing more.
  const bool alphabet_only = std::all_of(token.begin(), token.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '=';
  });
  if (!alphabet_only || !absl::WebSafeBase64Unescape(token, &raw) || raw.size() < 1 + kMacSize) {
    return BadToken("is malformed");
  }
  if (raw[0] != kVersion) return BadToken("has an unknown version");
  absl::string_view mac = absl::string_view(raw).substr(1, kMacSize);
  absl::string_view state = absl::string_view(raw).substr(1 + kMacSize);
  const std::string expected = Mac(binding, state);
  if (CRYPTO_memcmp(expected.data(), mac.data(), kMacSize) != 0) {
    return BadToken("was not issued for this request (tampered, or another filter or server)");
  }
  return std::string(state);
}

absl::StatusOr<std::string> RandomPageTokenKey() {
  std::string key(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    return absl::InternalError("no randomness for the page-token key");
  }
  return key;
}

}  // namespace partner::api
