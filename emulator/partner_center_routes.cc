// Partner Center (CONTRACTS.md §2-4): customers with seek paging and the starts_with filter,
// customer by id, subscriptions, subscription by id, azureEntitlements; both error shapes, numeric
// error codes, an optional UTF-8 BOM, next links with /v1 (or without) and self links without.
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "emulator/json_text.h"
#include "emulator/services.h"
#include "nlohmann/json.hpp"

namespace partner::emulator {
namespace {

using nlohmann::json;

json Link(const std::string& uri, json headers = json::array()) {
  return {{"uri", uri}, {"method", "GET"}, {"headers", std::move(headers)}};
}

json CustomerJson(const Customer& c, bool full) {
  const std::string self = absl::StrCat("/customers/", c.id);
  json profile = {{"tenantId", c.id},
                  {"domain", c.domain},
                  {"companyName", c.company_name},
                  {"links", {{"self", Link(self + "/profiles/company")}}},
                  {"attributes", {{"objectType", "CustomerCompanyProfile"}}}};
  json out = {{"id", c.id},
              {"companyProfile", profile},
              {"relationshipToPartner", c.relationship},
              {"links", {{"self", Link(self)}}},
              {"attributes", {{"objectType", "Customer"}}}};
  if (full) {
    out["commerceId"] = c.commerce_id;
    out["companyProfile"]["address"] = {{"country", "GB"}, {"city", "Leeds"}, {"addressLine1", "12 Mill Lane"}, {"postalCode", "LS1 4AB"}};
    out["billingProfile"] = {{"id", c.commerce_id}, {"companyName", c.company_name}, {"culture", "en-GB"},
                             {"attributes", {{"objectType", "CustomerBillingProfile"}}}};
    out["allowDelegatedAccess"] = !c.relationship_revoked;
    out["customDomains"] = json::array({c.domain});
  }
  return out;
}

// `id` is the subscription's id as this Partner Center writes it (upper or lower case).
json SubscriptionJson(const Customer& c, const PcSubscription& s, const std::string& id) {
  json out = {{"id", id},
              {"offerId", s.offer_id},
              {"offerName", s.offer_name},
              {"friendlyName", s.friendly_name},
              {"quantity", s.quantity},
              {"unitType", s.unit_type},
              {"creationDate", absl::FormatTime("%Y-%m-%dT%H:%M:%E1SZ", s.created, absl::UTCTimeZone())},
              {"effectiveStartDate", absl::FormatTime("%Y-%m-%dT00:00:00Z", s.created, absl::UTCTimeZone())},
              {"commitmentEndDate", s.billing_type == "usage" ? "9999-12-31T00:00:00Z" : "2027-01-01T00:00:00Z"},
              {"status", s.status},
              {"autoRenewEnabled", s.billing_type == "license"},
              {"isTrial", false},
              {"billingType", s.billing_type},
              {"billingCycle", s.billing_type == "usage" ? "one_time" : "monthly"},
              {"actions", json::array({"Cancel", "Edit"})},
              {"contractType", "subscription"},
              {"links", {{"self", Link(absl::StrCat("/customers/", c.id, "/subscriptions/", id))}}},
              {"orderId", id},
              {"attributes", {{"etag", absl::Base64Escape(s.id)}, {"objectType", "Subscription"}}}};
  if (!s.entitlement_id.empty()) out["entitlementId"] = s.entitlement_id;
  return out;
}

struct ContinuationState {
  std::size_t offset = 0;
  int size = 0;
  std::string field;
  std::string value;
};

// The seek token: opaque to callers, self-contained here so that any emulator instance with the
// same data can serve the next page.
std::string EncodeContinuation(const std::string& id, const ContinuationState& state) {
  json j = {{"o", state.offset}, {"s", state.size}, {"f", state.field}, {"v", state.value}};
  return absl::StrCat(id, ",", absl::Base64Escape(JsonText(j)));
}

bool DecodeContinuation(absl::string_view token, ContinuationState* state) {
  const std::size_t comma = token.find(',');
  std::string decoded;
  if (comma == absl::string_view::npos || !absl::Base64Unescape(token.substr(comma + 1), &decoded)) return false;
  json j = json::parse(decoded, nullptr, false);
  if (!j.is_object() || !j["o"].is_number_unsigned() || !j["s"].is_number_integer() || !j["f"].is_string() ||
      !j["v"].is_string()) {
    return false;
  }
  state->offset = j["o"].get<std::size_t>();
  state->size = j["s"].get<int>();
  state->field = j["f"].get<std::string>();
  state->value = j["v"].get<std::string>();
  return true;
}

}  // namespace

EmuResponse Services::HandlePartnerCenter(const EmuRequest& request) {
  const std::vector<std::string>& s = request.segments;
  auto respond = [&](int status, const json& body) {
    EmuResponse response;
    response.status = status;
    response.body = absl::StrCat(options_.partner_center_bom ? "\xEF\xBB\xBF" : "", JsonText(body));
    std::optional<absl::string_view> request_id = request.Header("ms-requestid");
    std::optional<absl::string_view> correlation_id = request.Header("ms-correlationid");
    response.With("Content-Type", "application/json; charset=utf-8")
        .With("MS-RequestId", request_id ? std::string(*request_id) : NewGuid())
        .With("MS-CorrelationId", correlation_id ? std::string(*correlation_id) : NewGuid())
        .With("MS-CV", absl::StrCat(NewGuid().substr(0, 16), ".0"))
        .With("MS-ServerId", "101112616");
    return response;
  };
  auto error = [&](int status, int code, const std::string& description) {
    const json code_json = options_.partner_center_numeric_error_codes ? json(code) : json(absl::StrCat(code));
    return respond(status, {{"code", code_json}, {"description", description}, {"data", json::array()}, {"source", "PartnerFD"}});
  };
  auto subscription_id = [&](const std::string& id) {
    return options_.partner_center_upper_case_subscription_ids ? id : Lower(id);
  };
  auto not_found_route = [&] { return respond(404, {{"statusCode", 404}, {"message", "Resource not found"}}); };

  if (s.size() < 2 || Lower(s[1]) != "customers") return not_found_route();
  if (request.method != "GET") {
    Count("pc.unsupported");
    return respond(405, {{"statusCode", 405}, {"message", "The requested resource does not support http method."}});
  }
  TokenProblem problem;
  absl::StatusOr<std::string> tenant = Authenticate(request, options_.audiences.partner_center, &problem);
  if (!tenant.ok() || *tenant != options_.seed.partner_tenant_id) {
    EmuResponse response = problem == TokenProblem::kMissing && !tenant.ok()
                               ? error(401, 800001, "Partner Token missing in request context")
                               : error(401, 400, "Access denied");
    response.With("WWW-Authenticate", absl::StrCat("OAuth realm=urn:cpsvc:cpid:", options_.seed.partner_tenant_id));
    return response;
  }

  if (s.size() == 2) {
    Count("pc.list_customers");
    ContinuationState state;
    std::optional<absl::string_view> seek = request.QueryIgnoringCase("seekOperation");
    if (seek) {
      std::optional<absl::string_view> token = request.Header("ms-continuationtoken");
      if (!absl::EqualsIgnoreCase(*seek, "Next") || !token || !DecodeContinuation(*token, &state)) {
        return error(400, 400, "The continuation token is missing or invalid.");
      }
    } else {
      std::optional<absl::string_view> filter = request.Query("filter");
      if (filter) {
        json f = json::parse(*filter, nullptr, false);
        if (!f.is_object() || !f["Field"].is_string() || !f["Value"].is_string() || !f["Operator"].is_string() ||
            f["Operator"].get<std::string>() != "starts_with" ||
            (f["Field"].get<std::string>() != "CompanyName" && f["Field"].get<std::string>() != "Domain")) {
          return error(400, 400, "The filter is invalid: expected {\"Field\":\"CompanyName\"|\"Domain\",\"Value\":...,\"Operator\":\"starts_with\"}.");
        }
        state.field = f["Field"].get<std::string>();
        state.value = f["Value"].get<std::string>();
      }
    }
    if (std::optional<absl::string_view> size = request.Query("size")) {
      if (!absl::SimpleAtoi(*size, &state.size) || state.size < 0) {
        return error(400, 400, absl::StrCat("The size parameter is invalid: '", *size, "'."));
      }
    }
    if (state.size == 0) state.size = 500;
    std::vector<const Customer*> matching;
    for (const Customer& c : customers_) {
      const std::string& subject = state.field == "Domain" ? c.domain : c.company_name;
      if (state.field.empty() || absl::StartsWithIgnoreCase(subject, state.value)) matching.push_back(&c);
    }
    json items = json::array();
    std::size_t i = state.offset;
    for (; i < matching.size() && items.size() < static_cast<std::size_t>(state.size); ++i) {
      items.push_back(CustomerJson(*matching[i], false));
    }
    json body = {{"totalCount", items.size()},
                 {"items", items},
                 {"links", {{"self", Link(absl::StrCat("/v1/customers?size=", state.size))}}},
                 {"attributes", {{"objectType", "Collection"}}}};
    if (i < matching.size()) {
      ContinuationState next = state;
      next.offset = i;
      const std::string token = EncodeContinuation(NewGuid(), next);
      body["links"]["next"] = Link(absl::StrCat(options_.partner_center_next_link_v1 ? "/v1" : "", "/customers?size=", state.size,
                                                "&seekOperation=Next"),
                                   json::array({{{"key", "MS-ContinuationToken"}, {"value", token}}}));
      body["continuationToken"] = token;
    }
    return respond(200, body);
  }

  Customer* customer = FindCustomer(s[2]);
  if (customer == nullptr) {
    Count("pc.customer_not_found");
    if (!IsGuid(s[2])) return error(400, 400, absl::StrCat("The customer id '", s[2], "' is not valid."));
    return error(404, 1000, "Not found");
  }
  if (customer->relationship_revoked) {
    return error(403, 20002, absl::StrCat("The partner id ", options_.seed.partner_tenant_id,
                                          " has no commerce relationship with the customer id ", customer->id, "."));
  }
  if (s.size() == 3) {
    Count("pc.get_customer");
    return respond(200, CustomerJson(*customer, true));
  }
  if (Lower(s[3]) == "users") {
    Count("pc.users");
    return error(403, 400, "Access denied: this operation requires an app+user token.");
  }
  if (Lower(s[3]) != "subscriptions" || s.size() > 6) return not_found_route();
  if (s.size() == 4) {
    Count("pc.list_subscriptions");
    json items = json::array();
    for (const PcSubscription& sub : customer->subscriptions) items.push_back(SubscriptionJson(*customer, sub, subscription_id(sub.id)));
    return respond(200, {{"totalCount", items.size()}, {"items", items}, {"attributes", {{"objectType", "Collection"}}}});
  }
  const PcSubscription* sub = nullptr;
  for (const PcSubscription& candidate : customer->subscriptions) {
    if (absl::EqualsIgnoreCase(candidate.id, s[4])) sub = &candidate;
  }
  if (sub == nullptr) return error(404, 20003, absl::StrCat("Subscription with id ", s[4], " not found."));
  if (s.size() == 5) {
    Count("pc.get_subscription");
    return respond(200, SubscriptionJson(*customer, *sub, subscription_id(sub->id)));
  }
  if (Lower(s[5]) != "azureentitlements") return not_found_route();
  Count("pc.azure_entitlements");
  if (sub->azure_subscriptions.empty()) return error(400, 800011, "This subscription is not a valid Azure subscription");
  json items = json::array();
  for (const std::string& id : sub->azure_subscriptions) {
    const AzureSubscription* azure = FindAzureSubscription(id);
    items.push_back({{"id", id},
                     {"friendlyName", azure ? azure->display_name : ""},
                     {"status", "active"},
                     {"subscriptionId", subscription_id(sub->id)}});
  }
  return respond(200, {{"totalCount", items.size()}, {"items", items}, {"attributes", {{"objectType", "Collection"}}}});
}

}  // namespace partner::emulator
