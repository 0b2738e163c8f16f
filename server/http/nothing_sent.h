// Marks a transport failure that happened before any byte of the request reached the wire (name
// resolution, connection refused, TLS handshake). Only such a failure may be retried for a
// non-idempotent request: the upstream cannot have acted on it.
#ifndef PARTNER_SERVER_HTTP_NOTHING_SENT_H_
#define PARTNER_SERVER_HTTP_NOTHING_SENT_H_

#include "absl/status/status.h"

namespace partner::http {

// `status` with a payload saying nothing was sent. An OK status is returned unchanged.
absl::Status MarkNothingSent(absl::Status status);

bool NothingSent(const absl::Status& status);

}  // namespace partner::http

#endif  // PARTNER_SERVER_HTTP_NOTHING_SENT_H_
