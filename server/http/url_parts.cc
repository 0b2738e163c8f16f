#include "server/http/url_parts.h"

namespace partner::http {

UrlParts SplitUrl(absl::string_view url) {
  UrlParts parts;
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return parts;
  parts.scheme = url.substr(0, scheme_end);
  absl::string_view rest = url.substr(scheme_end + 3);
  const std::size_t authority_end = rest.find_first_of("/?#");
  absl::string_view authority = rest.substr(0, authority_end);
  if (const std::size_t at = authority.rfind('@'); at != absl::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  parts.host = authority;
  parts.path = "/";
  if (authority_end != absl::string_view::npos && rest[authority_end] == '/') {
    absl::string_view path = rest.substr(authority_end);
    parts.path = path.substr(0, path.find_first_of("?#"));
  }
  return parts;
}

}  // namespace partner::http
