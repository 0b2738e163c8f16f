// Why a request's bytes did not parse. proto3 refuses a string field holding invalid UTF-8, and
// the generated parser reports only that parsing failed; reading the bytes as unknown fields
// against the message's descriptor finds the field to name. Called only after a parse failed,
// so requests that parse pay nothing for it. Stateless and thread-safe.
#ifndef PARTNER_SERVER_API_PARSE_FAILURE_H_
#define PARTNER_SERVER_API_PARSE_FAILURE_H_

#include <google/protobuf/descriptor.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace partner::api {

// The path of the first proto3 string field, in wire order, whose bytes are not valid UTF-8:
// "customer_id", "principal.user_principal_name", "items[2].role.role_name". nullopt when no
// such field is found (including when `wire` is not a well-formed message at all).
std::optional<std::string> FindInvalidUtf8Field(const google::protobuf::Descriptor& type,
                                                absl::string_view wire);

// INVALID_ARGUMENT for bytes `wire` that did not parse as `type`: "<path>: not valid UTF-8"
// tagged with the field (ops::InvalidField) when a string field is the cause, else a message
// saying the bytes are not a `type`.
absl::Status ParseFailure(const google::protobuf::Descriptor& type, absl::string_view wire);

}  // namespace partner::api

#endif  // PARTNER_SERVER_API_PARSE_FAILURE_H_
