// Entra ID token endpoint (CONTRACTS.md §1): client credentials with a secret or a certificate
// assertion, v2 (numbers) and v1 (strings) response forms, AADSTS error bodies.
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "emulator/assertion_verifier.h"
#include "emulator/json_text.h"
#include "emulator/services.h"
#include "nlohmann/json.hpp"

namespace partner::emulator {
namespace {

EmuResponse TokenError(int status, const std::string& error, int aadsts, const std::string& description,
                       const std::string& trace_id, const std::string& correlation_id, absl::Time now) {
  const std::string timestamp = absl::FormatTime("%Y-%m-%d %H:%M:%SZ", now, absl::UTCTimeZone());
  nlohmann::json body = {
      {"error", error},
      {"error_description", absl::StrCat("AADSTS", aadsts, ": ", description, "\r\nTrace ID: ", trace_id,
                                         "\r\nCorrelation ID: ", correlation_id, "\r\nTimestamp: ", timestamp)},
      {"error_codes", {aadsts}},
      {"timestamp", timestamp},
      {"trace_id", trace_id},
      {"correlation_id", correlation_id},
      {"error_uri", absl::StrCat("https://login.microsoftonline.com/error?code=", aadsts)}};
  EmuResponse response;
  response.status = status;
  response.body = JsonText(body);
  response.With("Content-Type", "application/json; charset=utf-8").With("Cache-Control", "no-store, no-cache");
  return response;
}

}  // namespace

EmuResponse Services::HandleToken(const EmuRequest& request, const std::string& tenant_segment, bool v1) {
  Count(v1 ? "token.v1" : "token.v2");
  const absl::Time now = clock_();
  const std::string trace_id = NewGuid();
  const std::string correlation_id = NewGuid();
  auto fail = [&](int status, const std::string& error, int code, const std::string& description) {
    return TokenError(status, error, code, description, trace_id, correlation_id, now);
  };
  if (request.method != "POST") return fail(400, "invalid_request", 900561, "The endpoint only accepts POST requests.");
  std::optional<absl::string_view> content_type = request.Header("content-type");
  if (!content_type || !absl::StartsWithIgnoreCase(*content_type, "application/x-www-form-urlencoded")) {
    return fail(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.");
  }
  std::map<std::string, std::string> form;
  if (!DecodeQuery(request.body, &form)) return fail(400, "invalid_request", 900144, "The request body is not valid form data.");
  auto field = [&](const char* name) {
    auto it = form.find(name);
    return it == form.end() ? std::string() : it->second;
  };

  std::string tenant_id;
  if (tenant_segment == options_.seed.partner_tenant_id) {
    tenant_id = tenant_segment;
  } else if (const Customer* customer = FindTenant(tenant_segment)) {
    tenant_id = customer->id;
  } else {
    return fail(400, "invalid_request", 90002,
                absl::StrCat("Tenant '", tenant_segment, "' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."));
  }
  if (field("grant_type") != "client_credentials") {
    return fail(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.");
  }
  const std::string client_id = field("client_id");
  const Customer* customer = FindCustomer(tenant_id);
  if (client_id != options_.app_id || (customer != nullptr && !customer->app_consented)) {
    return fail(400, "unauthorized_client", 700016,
                absl::StrCat("Application with identifier '", client_id, "' was not found in the directory '", tenant_id,
                             "'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."));
  }

  std::string audience;
  if (v1) {
    audience = field("resource");
  } else {
    const std::string scope = field("scope");
    if (absl::EndsWith(scope, "/.default") && scope.find(' ') == std::string::npos) {
      audience = scope.substr(0, scope.size() - absl::string_view("/.default").size());
    }
  }
  if (audience != options_.audiences.partner_center && audience != options_.audiences.arm &&
      audience != options_.audiences.graph) {
    return fail(400, "invalid_scope", 70011,
                "The provided request must include a 'scope' input parameter: exactly one resource's /.default scope.");
  }

  const std::string assertion = field("client_assertion");
  if (!assertion.empty()) {
    if (field("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
      return fail(400, "invalid_request", 7000215, "Invalid client_assertion_type.");
    }
    if (options_.client_certificate_pem.empty()) {
      return fail(401, "invalid_client", 700027, "Client assertion contains an invalid signature. [Reason - No certificate is registered for the app.]");
    }
    const std::string expected_audience = absl::StrCat(base_url_, "/", tenant_segment, v1 ? "/oauth2/token" : "/oauth2/v2.0/token");
    absl::Status verified = VerifyClientAssertion(assertion, options_.client_certificate_pem, client_id, expected_audience, now);
    if (!verified.ok()) {
      // The message starts with "AADSTSnnnn: ".
      absl::string_view message = verified.message();
      int code = 700027;
      if (absl::ConsumePrefix(&message, "AADSTS")) {
        std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(message, absl::MaxSplits(": ", 1));
        if (absl::SimpleAtoi(parts.first, &code)) message = parts.second;
      }
      return fail(401, "invalid_client", code, std::string(message));
    }
  } else {
    const std::string secret = field("client_secret");
    if (options_.client_secret.empty() || secret != options_.client_secret) {
      return fail(401, "invalid_client", 7000215,
                  absl::StrCat("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '", client_id, "'."));
    }
  }

  const std::string token = absl::StrCat("emu.", absl::StrReplaceAll(NewGuid(), {{"-", ""}}), absl::StrReplaceAll(NewGuid(), {{"-", ""}}));
  tokens_[token] = IssuedToken{tenant_id, audience, now + options_.token_lifetime};
  ++counters_.tokens_issued;
  ++counters_.tokens_by_tenant[tenant_id];
  const std::int64_t lifetime = absl::ToInt64Seconds(options_.token_lifetime);
  nlohmann::json body;
  if (v1) {
    body = {{"token_type", "Bearer"},
            {"expires_in", absl::StrCat(lifetime)},
            {"ext_expires_in", absl::StrCat(lifetime)},
            {"expires_on", absl::StrCat(absl::ToUnixSeconds(now) + lifetime)},
            {"not_before", absl::StrCat(absl::ToUnixSeconds(now))},
            {"resource", audience},
            {"access_token", token}};
  } else {
    body = {{"token_type", "Bearer"}, {"expires_in", lifetime}, {"ext_expires_in", lifetime}, {"access_token", token}};
  }
  EmuResponse response;
  response.body = JsonText(body);
  response.With("Content-Type", "application/json; charset=utf-8")
      .With("Cache-Control", "no-store, no-cache")
      .With("Pragma", "no-cache")
      .With("Expires", "-1");
  return response;
}

}  // namespace partner::emulator
