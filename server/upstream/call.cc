#include "server/upstream/call.h"

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "server/http/retry_after.h"
#include "server/ops/error_reason.h"
#include "server/upstream/json.h"

namespace partner::upstream {
namespace {

// Resumes the awaiting coroutine from the HttpClient's done callback. When Send completes
// inline, await_suspend returns false instead of resuming from inside the callback, so a chain
// of synchronous completions never nests stack frames.
class SendAwaiter {
 public:
  SendAwaiter(http::HttpClient& client, http::HttpRequest request)
      : client_(client), request_(std::make_shared<http::HttpRequest>(std::move(request))) {}

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> handle) {
    handle_ = handle;
    client_.Send(std::move(request_), [this](absl::StatusOr<http::HttpResponse> result) {
      result_.emplace(std::move(result));
      if (completed_or_suspended_.exchange(true, std::memory_order_acq_rel)) handle_.resume();
    });
    return !completed_or_suspended_.exchange(true, std::memory_order_acq_rel);
  }
  absl::StatusOr<http::HttpResponse> await_resume() { return std::move(*result_); }

 private:
  http::HttpClient& client_;
  std::shared_ptr<http::HttpRequest> request_;
  std::coroutine_handle<> handle_;
  std::optional<absl::StatusOr<http::HttpResponse>> result_;
  std::atomic<bool> completed_or_suspended_{false};
};

bool IsUnreserved(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string PercentEncode(absl::string_view value, bool encode_dots) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (IsUnreserved(c) && !(encode_dots && c == '.')) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  return out;
}

}  // namespace

http::HttpRequest JsonRequest(RequestSpec spec) {
  http::HttpRequest request;
  request.method = std::move(spec.method);
  request.url = std::move(spec.url);
  request.headers.emplace_back("Accept", "application/json");
  request.token_tenant = std::move(spec.token_tenant);
  request.token_scope = std::move(spec.token_scope);
  request.operation = std::move(spec.operation);
  request.rate_limit_keys = std::move(spec.rate_limit_keys);
  request.id_headers = spec.id_headers;
  return request;
}

std::optional<std::string> SegmentAfter(absl::string_view url, absl::string_view marker) {
  const std::size_t at = url.find(marker);
  if (at == absl::string_view::npos) return std::nullopt;
  const std::size_t start = at + marker.size();
  return std::string(url.substr(start, url.find_first_of("/?", start) - start));
}

ops::OpTask<absl::StatusOr<http::HttpResponse>> Call(http::HttpClient& client, const ops::OpContext& ctx,
                                                     http::HttpRequest request) {
  if (ctx.cancel->cancelled()) co_return absl::CancelledError("the call was cancelled");
  request.deadline = ctx.deadline;
  request.correlation_id = ctx.correlation_id;
  ctx.cancel->OnCancel([token = request.cancel] { token->Cancel(); });
  co_return co_await SendAwaiter(client, std::move(request));
}

std::string PathSegment(absl::string_view segment) {
  const bool only_dots = !segment.empty() && segment.find_first_not_of('.') == absl::string_view::npos;
  return PercentEncode(segment, only_dots);
}

std::string QueryComponent(absl::string_view value) { return PercentEncode(value, false); }

std::string ODataString(absl::string_view text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "''"}}), "'");
}

std::string Query(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    absl::StrAppend(&out, out.empty() ? "?" : "&", name, "=", QueryComponent(value));
  }
  return out;
}

absl::StatusOr<std::string> ResourcePath(absl::string_view path) {
  absl::string_view rest = absl::StripPrefix(path, "/");
  if (rest.empty()) return absl::InvalidArgumentError("empty resource path");
  std::string out;
  while (true) {
    const size_t slash = rest.find('/');
    const absl::string_view segment = rest.substr(0, slash);
    if (segment.empty()) return absl::InvalidArgumentError(absl::StrCat("empty segment in resource path ", path));
    absl::StrAppend(&out, "/", PathSegment(segment));
    if (slash == absl::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  return out;
}

std::string JoinUrl(absl::string_view base, absl::string_view path) {
  while (absl::EndsWith(base, "/")) base.remove_suffix(1);
  return absl::StrCat(base, path);
}

std::optional<std::string> Origin(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos || scheme_end == 0 ||
      !absl::ascii_isalpha(static_cast<unsigned char>(url[0]))) {
    return std::nullopt;
  }
  for (char c : url.substr(0, scheme_end)) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return std::nullopt;
  }
  const size_t authority_end = url.find_first_of("/?#", scheme_end + 3);
  const absl::string_view origin = url.substr(0, authority_end);
  // User info would let "https://good.host@evil.host" look like the configured host.
  if (origin.size() == scheme_end + 3 || absl::StrContains(origin, '@')) return std::nullopt;
  return absl::AsciiStrToLower(origin);
}

bool SameOrigin(absl::string_view url, absl::string_view configured_base) {
  const std::optional<std::string> a = Origin(url);
  const std::optional<std::string> b = Origin(configured_base);
  return a.has_value() && b.has_value() && *a == *b;
}

bool IsWireSafe(absl::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return false;
  }
  return true;
}

absl::string_view StripBom(absl::string_view body) { return absl::StripPrefix(body, "\xEF\xBB\xBF"); }

bool IsSuccess(const http::HttpResponse& response) { return response.status >= 200 && response.status < 300; }

absl::Status Malformed(absl::string_view service, absl::string_view resource, absl::string_view field) {
  return absl::InternalError(absl::StrCat(service, " returned a malformed ", resource, ": ", field));
}

namespace {

struct UpstreamError {
  std::string code;
  std::string message;
};

constexpr size_t kMaxMessage = 512;

std::optional<absl::string_view> Header(const http::HttpResponse& response, std::string_view name) {
  std::optional<std::string_view> value = response.FindHeader(name);
  if (!value.has_value()) return std::nullopt;
  return absl::string_view(value->data(), value->size());
}

std::string Shorten(absl::string_view text) {
  if (text.size() <= kMaxMessage) return std::string(text);
  return absl::StrCat(text.substr(0, kMaxMessage), "...");
}

// Partner Center: {"code": 20002 | "20002", "description": ...} from the service, or
// {"statusCode": 429, "message": ...} from its API gateway (CONTRACTS.md §2.5).
UpstreamError ParsePartnerCenterBody(std::string_view body) {
  UpstreamError error;
  json::Parser parser;
  simdjson::dom::element root;
  simdjson::dom::object object;
  if (!json::Parse(parser, body, root) || root.get_object().get(object) != simdjson::SUCCESS) return error;
  simdjson::dom::element code;
  if (object.at_key("code").get(code) == simdjson::SUCCESS) {
    error.code = json::Scalar(code).value_or("");
    json::String(object, "description", json::Need::kOptional, error.message);
  } else if (object.at_key("statusCode").get(code) == simdjson::SUCCESS) {
    error.code = json::Scalar(code).value_or("");
    json::String(object, "message", json::Need::kOptional, error.message);
  }
  return error;
}

// ARM and Graph: {"error": {"code": ..., "message": ...}}.
UpstreamError ParseOdataBody(std::string_view body) {
  UpstreamError error;
  json::Parser parser;
  simdjson::dom::element root;
  simdjson::dom::object object;
  std::optional<simdjson::dom::object> inner;
  if (!json::Parse(parser, body, root) || root.get_object().get(object) != simdjson::SUCCESS ||
      !json::Object(object, "error", json::Need::kRequired, inner)) {
    return error;
  }
  json::String(*inner, "code", json::Need::kOptional, error.code);
  json::String(*inner, "message", json::Need::kOptional, error.message);
  return error;
}

// The generic HTTP status -> code table of DESIGN.md "Errors". 401 reaches here only after the
// bearer policy refreshed the token once, so it is the gateway's credential, not the caller's.
absl::Status MapStatus(const http::HttpResponse& response, absl::string_view service, absl::string_view resource,
                       const UpstreamError& error) {
  const std::string what = absl::StrCat(
      "(", service, " HTTP ", response.status, error.code.empty() ? "" : absl::StrCat(" ", error.code),
      error.message.empty() ? "" : absl::StrCat(": ", Shorten(error.message)), ")");
  const int s = response.status;
  if (s == 400) return absl::InvalidArgumentError(absl::StrCat(resource, " was rejected ", what));
  if (s == 401) {
    return absl::InternalError(
        absl::StrCat("the gateway's credential was rejected by ", service, " for ", resource, " ", what));
  }
  if (s == 403) return absl::PermissionDeniedError(absl::StrCat("access to ", resource, " was denied ", what));
  if (s == 404) return absl::NotFoundError(absl::StrCat(resource, " was not found ", what));
  if (s == 409) return absl::AlreadyExistsError(absl::StrCat(resource, " already exists ", what));
  if (s == 429) {
    absl::Status status = absl::ResourceExhaustedError(absl::StrCat(service, " throttled ", resource, " ", what));
    if (std::optional<absl::Duration> delay = http::RetryAfter(response, absl::Now())) {
      status = ops::WithRetryDelay(std::move(status), *delay);
    }
    return status;
  }
  if (s >= 500 || s == 408) return absl::UnavailableError(absl::StrCat(service, " failed on ", resource, " ", what));
  return absl::InternalError(absl::StrCat(service, " answered unexpectedly for ", resource, " ", what));
}

absl::Status WithDetails(absl::Status status, const UpstreamError& error, std::optional<absl::string_view> request_id,
                         std::map<std::string, std::string> extra = {}) {
  if (!error.code.empty()) extra.emplace("upstreamCode", error.code);
  if (request_id.has_value() && !request_id->empty()) extra.emplace("upstreamRequestId", std::string(*request_id));
  if (extra.empty()) return status;
  return ops::WithUpstreamDetails(std::move(status), extra);
}

// The GUIDs following each "sts.windows.net/" in an ARM wrong-issuer message: the token's tenant
// first, then the subscription's.
std::vector<std::string> IssuerTenants(absl::string_view message) {
  std::vector<std::string> tenants;
  static constexpr absl::string_view kMarker = "sts.windows.net/";
  for (size_t at = message.find(kMarker); at != absl::string_view::npos; at = message.find(kMarker, at)) {
    at += kMarker.size();
    const size_t end = message.find('/', at);
    if (end == absl::string_view::npos) break;
    tenants.emplace_back(message.substr(at, end - at));
  }
  return tenants;
}

// "The ID of the existing role assignment is 5d1f0c9a2e7b48a6b3c4e1f0a9d8c7b2." -> the id as a
// lower-case hyphenated GUID (ARM prints it as 32 hex digits; CONTRACTS.md §5.7).
std::optional<std::string> ExistingAssignmentId(absl::string_view message) {
  static constexpr absl::string_view kMarker = "existing role assignment is ";
  const size_t at = message.find(kMarker);
  if (at == absl::string_view::npos) return std::nullopt;
  std::string hex;
  for (char c : message.substr(at + kMarker.size())) {
    if (c == '-') continue;
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) break;
    hex.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 32) return std::nullopt;
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-", hex.substr(16, 4), "-",
                      hex.substr(20));
}

}  // namespace

absl::Status PartnerCenterError(const http::HttpResponse& response, absl::string_view resource,
                                absl::string_view customer_id) {
  static constexpr absl::string_view kService = "Partner Center";
  const UpstreamError error = ParsePartnerCenterBody(response.body);
  const std::optional<absl::string_view> request_id = Header(response, "ms-requestid");
  if (response.status == 403 && error.code == "20002") {
    return WithDetails(absl::PermissionDeniedError(absl::StrCat(
                           "the partner has no relationship with customer ",
                           customer_id.empty() ? absl::string_view("(unknown)") : customer_id, " (", kService,
                           " HTTP 403 20002: ", Shorten(error.message), ")")),
                       error, request_id);
  }
  return WithDetails(MapStatus(response, kService, resource, error), error, request_id);
}

absl::Status ArmError(const http::HttpResponse& response, absl::string_view resource) {
  static constexpr absl::string_view kService = "Azure Resource Manager";
  const UpstreamError error = ParseOdataBody(response.body);
  const std::optional<absl::string_view> request_id = Header(response, "x-ms-request-id");
  const std::string what = absl::StrCat("(", kService, " HTTP ", response.status, " ", error.code, ": ",
                                        Shorten(error.message), ")");
  if (response.status == 401 && error.code == "InvalidAuthenticationTokenTenant") {
    const std::vector<std::string> tenants = IssuerTenants(error.message);
    std::string which = "a token from the wrong tenant";
    if (tenants.size() >= 2) {
      which = absl::StrCat("a token from tenant ", tenants[0], " where the resource belongs to tenant ", tenants[1]);
    }
    return WithDetails(
        absl::InternalError(absl::StrCat("the gateway sent ", which, " for ", resource, " ", what)), error,
        request_id);
  }
  if (response.status == 409 && error.code == "RoleAssignmentExists") {
    std::map<std::string, std::string> extra;
    if (std::optional<std::string> id = ExistingAssignmentId(error.message)) extra.emplace("existingAssignmentId", *id);
    return WithDetails(absl::AlreadyExistsError(absl::StrCat(resource, " already exists ", what)), error, request_id,
                       std::move(extra));
  }
  if (error.code == "RoleAssignmentUpdateNotPermitted") {
    return WithDetails(absl::FailedPreconditionError(absl::StrCat(
                           resource, " exists under this name with different properties ", what)),
                       error, request_id);
  }
  if (error.code == "PrincipalNotFound") {
    // Usually directory replication delay for a new principal; ops retries on the upstream code.
    return WithDetails(absl::NotFoundError(absl::StrCat("the principal of ", resource, " does not exist ", what)),
                       error, request_id);
  }
  if (error.code == "InvalidPrincipalId" || error.code == "RoleDefinitionDoesNotExist") {
    return WithDetails(absl::InvalidArgumentError(absl::StrCat(resource, " was rejected ", what)), error, request_id);
  }
  return WithDetails(MapStatus(response, kService, resource, error), error, request_id);
}

absl::Status GraphError(const http::HttpResponse& response, absl::string_view resource) {
  static constexpr absl::string_view kService = "Microsoft Graph";
  const UpstreamError error = ParseOdataBody(response.body);
  const std::optional<absl::string_view> request_id = Header(response, "request-id");
  // A taken UPN is a 400 whose code is the generic Request_BadRequest; only the message tells
  // it apart (CONTRACTS.md §6.4).
  if (response.status == 400 && error.code == "Request_BadRequest" &&
      absl::StrContains(absl::AsciiStrToLower(error.message), "already exists")) {
    return WithDetails(absl::AlreadyExistsError(absl::StrCat(resource, " already exists (", kService, " HTTP 400 ",
                                                             error.code, ": ", Shorten(error.message), ")")),
                       error, request_id);
  }
  return WithDetails(MapStatus(response, kService, resource, error), error, request_id);
}

}  // namespace partner::upstream
