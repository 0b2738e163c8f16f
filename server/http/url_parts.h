// The pieces of an absolute URL that may appear in logs and error messages. The query string and
// any user-info are dropped here, once, so no caller can leak them by accident.
#ifndef PARTNER_SERVER_HTTP_URL_PARTS_H_
#define PARTNER_SERVER_HTTP_URL_PARTS_H_

#include "absl/strings/string_view.h"

namespace partner::http {

struct UrlParts {
  absl::string_view scheme;  // lower or upper case, as written
  absl::string_view host;    // host[:port], without user-info
  absl::string_view path;    // without query or fragment; "/" when absent
};

// Never fails: a malformed URL yields empty parts (and the transport refuses it).
UrlParts SplitUrl(absl::string_view url);

}  // namespace partner::http

#endif  // PARTNER_SERVER_HTTP_URL_PARTS_H_
