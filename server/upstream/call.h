// What the three typed clients share: the request every call starts from, the awaitable bridge
// from an ops coroutine to the callback-style http::HttpClient, URL building from
// percent-encoded parts, and the mapping of an upstream error response to absl::Status
// (DESIGN.md "Errors").
//
// Thread-safety: free functions without state; Call() resumes its caller on whichever thread
// completes the HTTP exchange.
#ifndef PARTNER_SERVER_UPSTREAM_CALL_H_
#define PARTNER_SERVER_UPSTREAM_CALL_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/http/http_client.h"
#include "server/ops/op_task.h"
#include "server/ops/operations.h"

namespace partner::upstream {

// Base URLs and token identities of the upstream services, from the configuration.
struct UpstreamOptions {
  std::string partner_center_url = "https://api.partnercenter.microsoft.com";
  std::string arm_url = "https://management.azure.com";
  std::string graph_url = "https://graph.microsoft.com";
  std::string partner_center_scope = "https://api.partnercenter.microsoft.com/.default";
  std::string arm_scope = "https://management.azure.com/.default";
  std::string graph_scope = "https://graph.microsoft.com/.default";
  std::string partner_tenant_id;
};

// The id headers each service reads (CONTRACTS.md §2.2, §5.1, §6.3). Graph has no correlation
// header of its own.
inline constexpr http::IdHeaderNames kPartnerCenterIdHeaders{"MS-RequestId", "MS-CorrelationId"};
inline constexpr http::IdHeaderNames kArmIdHeaders{"x-ms-client-request-id", "x-ms-correlation-request-id"};
inline constexpr http::IdHeaderNames kGraphIdHeaders{"client-request-id", ""};

// What a client decides about a request; JsonRequest adds what every upstream call has in common.
struct RequestSpec {
  std::string method = "GET";
  std::string url;
  std::string operation;  // for logs and metrics: "arm.list_role_definitions"
  std::string token_tenant;
  std::string token_scope;
  std::vector<std::string> rate_limit_keys;  // the service's throttling units (CONTRACTS.md)
  http::IdHeaderNames id_headers;
};

// `spec` as an http::HttpRequest that accepts JSON ("Accept: application/json").
http::HttpRequest JsonRequest(RequestSpec spec);

// The path segment of `url` right after the first `marker`, up to the next '/' or '?'
// (SegmentAfter("/subscriptions/s1/providers", "/subscriptions/") is "s1"); nullopt when `url`
// has no `marker`. The clients key their rate limits on these.
std::optional<std::string> SegmentAfter(absl::string_view url, absl::string_view marker);

// Sends `request` with the caller's deadline and correlation id; cancelling ctx aborts it. An
// already cancelled ctx completes with CANCELLED and sends nothing.
ops::OpTask<absl::StatusOr<http::HttpResponse>> Call(http::HttpClient& client, const ops::OpContext& ctx,
                                                     http::HttpRequest request);

// One path segment: everything outside RFC 3986 unreserved characters is percent-encoded, and a
// segment of dots is encoded too, so no input can add a segment, climb with "..", or start a
// query or fragment.
std::string PathSegment(absl::string_view segment);

// A query component (name or value), encoded like PathSegment.
std::string QueryComponent(absl::string_view value);

// An OData string literal: `text` in single quotes, each quote inside doubled (CONTRACTS.md
// §5.6, §6.2). Unencoded: it goes into a query value, which Query encodes.
std::string ODataString(absl::string_view text);

// "?a=1&b=2" from (name, value) pairs; empty for no pairs. Names are the clients' own
// constants ("$filter" keeps its '$', as the services document it); values are encoded.
std::string Query(const std::vector<std::pair<std::string, std::string>>& params);

// A multi-segment resource path ("/subscriptions/x/resourceGroups/y") re-encoded segment by
// segment. INVALID_ARGUMENT for an empty path or an empty segment.
absl::StatusOr<std::string> ResourcePath(absl::string_view path);

// `base` (with or without a trailing slash) followed by `path` (starting with '/').
std::string JoinUrl(absl::string_view base, absl::string_view path);

// Scheme and authority of an absolute URL, lower-cased ("https://host:port"); nullopt when
// `url` is not absolute.
std::optional<std::string> Origin(absl::string_view url);

// Whether a next link an upstream sent may be followed: absolute, and on the configured host.
bool SameOrigin(absl::string_view url, absl::string_view configured_base);

// Whether text from a response may go back on the wire as a URL or header value: no space or
// control character that could split a header or a request line.
bool IsWireSafe(absl::string_view text);

// `body` without a leading UTF-8 byte order mark (Partner Center sends one, CONTRACTS.md §2.3).
absl::string_view StripBom(absl::string_view body);

bool IsSuccess(const http::HttpResponse& response);

// A non-2xx response as a Status naming `resource`, with upstreamCode and upstreamRequestId
// details and, for 429, the upstream's retry delay.
// `customer_id` names the customer in the "no relationship" error (403, code 20002).
absl::Status PartnerCenterError(const http::HttpResponse& response, absl::string_view resource,
                                absl::string_view customer_id = {});
absl::Status ArmError(const http::HttpResponse& response, absl::string_view resource);
absl::Status GraphError(const http::HttpResponse& response, absl::string_view resource);

// INTERNAL "<Service> returned a malformed <resource>: <field>".
absl::Status Malformed(absl::string_view service, absl::string_view resource, absl::string_view field);

}  // namespace partner::upstream

#endif  // PARTNER_SERVER_UPSTREAM_CALL_H_
