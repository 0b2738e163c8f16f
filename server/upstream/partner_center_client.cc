#include "server/upstream/partner_center_client.h"

#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/upstream/json.h"

namespace partner::upstream {
namespace {

using ops::pc::AzureEntitlement;
using ops::pc::Customer;
using ops::pc::Subscription;
using simdjson::dom::object;

constexpr absl::string_view kService = "Partner Center";
constexpr char kContinuationHeader[] = "MS-ContinuationToken";
// A collection longer than this many pages is a paging loop, not data.
constexpr int kMaxPages = 1000;

// The next page to request: an absolute URL on the configured host and the continuation token
// to send with it.
struct NextLink {
  std::string url;
  std::string token;
  bool operator<(const NextLink& other) const { return std::tie(url, token) < std::tie(other.url, other.token); }
  bool operator==(const NextLink& other) const = default;
};

template <class T>
struct Page {
  std::vector<T> items;
  std::optional<NextLink> next;
};

// links.next.uri per CONTRACTS.md §2.4 rule 5: "/v1/..." as is, another relative path gets the
// "/v1" prefix, an absolute URL is followed only to the configured Partner Center host.
absl::StatusOr<std::string> ResolveNextUri(absl::string_view uri, absl::string_view base) {
  if (uri.empty() || !IsWireSafe(uri)) return Malformed(kService, "next link", "links.next.uri");
  if (absl::StrContains(uri.substr(0, uri.find('?')), "://")) {
    if (!SameOrigin(uri, base)) {
      return absl::InternalError(absl::StrCat(kService, " sent a next link to another host: ", uri));
    }
    return std::string(uri);
  }
  if (absl::StartsWith(uri, "/v1/")) return JoinUrl(base, uri);
  return JoinUrl(base, absl::StrCat("/v1", absl::StartsWith(uri, "/") ? "" : "/", uri));
}

absl::StatusOr<std::optional<NextLink>> ParseNext(object collection, absl::string_view base) {
  std::optional<object> links;
  std::optional<object> next;
  if (!json::Object(collection, "links", json::Need::kOptional, links)) return Malformed(kService, "collection", "links");
  if (!links.has_value()) return std::nullopt;
  if (!json::Object(*links, "next", json::Need::kOptional, next)) return Malformed(kService, "collection", "links.next");
  if (!next.has_value()) return std::nullopt;
  std::string uri;
  if (!json::String(*next, "uri", json::Need::kRequired, uri)) return Malformed(kService, "collection", "links.next.uri");
  absl::StatusOr<std::string> url = ResolveNextUri(uri, base);
  if (!url.ok()) return url.status();
  NextLink link{*std::move(url), ""};
  std::optional<simdjson::dom::array> headers;
  if (!json::Array(*next, "headers", json::Need::kOptional, headers)) {
    return Malformed(kService, "collection", "links.next.headers");
  }
  if (headers.has_value()) {
    for (simdjson::dom::element header : *headers) {
      object h;
      std::string key;
      std::string value;
      if (header.get_object().get(h) != simdjson::SUCCESS || !json::String(h, "key", json::Need::kRequired, key) ||
          !json::String(h, "value", json::Need::kRequired, value)) {
        return Malformed(kService, "collection", "links.next.headers");
      }
      if (!absl::EqualsIgnoreCase(key, kContinuationHeader)) continue;
      if (value.empty() || !IsWireSafe(value)) return Malformed(kService, "collection", "MS-ContinuationToken");
      link.token = std::move(value);
    }
  }
  return link;
}

absl::Status ParseCustomer(object o, Customer& out) {
  std::optional<object> profile;
  if (!json::String(o, "id", json::Need::kRequired, out.id)) return Malformed(kService, "customer", "id");
  if (!json::Object(o, "companyProfile", json::Need::kOptional, profile)) {
    return Malformed(kService, "customer", "companyProfile");
  }
  if (profile.has_value()) {
    if (!json::String(*profile, "companyName", json::Need::kOptional, out.company_name)) {
      return Malformed(kService, "customer", "companyProfile.companyName");
    }
    if (!json::String(*profile, "domain", json::Need::kOptional, out.domain)) {
      return Malformed(kService, "customer", "companyProfile.domain");
    }
  }
  if (!json::String(o, "relationshipToPartner", json::Need::kOptional, out.relationship_to_partner)) {
    return Malformed(kService, "customer", "relationshipToPartner");
  }
  if (!json::Bool(o, "allowDelegatedAccess", json::Need::kOptional, out.allow_delegated_access)) {
    return Malformed(kService, "customer", "allowDelegatedAccess");
  }
  return absl::OkStatus();
}

absl::Status ParseSubscription(object o, Subscription& out) {
  if (!json::String(o, "id", json::Need::kRequired, out.id)) return Malformed(kService, "subscription", "id");
  if (!json::String(o, "offerId", json::Need::kOptional, out.offer_id)) return Malformed(kService, "subscription", "offerId");
  if (!json::String(o, "offerName", json::Need::kOptional, out.offer_name)) {
    return Malformed(kService, "subscription", "offerName");
  }
  if (!json::String(o, "friendlyName", json::Need::kOptional, out.friendly_name)) {
    return Malformed(kService, "subscription", "friendlyName");
  }
  if (!json::Int(o, "quantity", json::Need::kOptional, out.quantity)) return Malformed(kService, "subscription", "quantity");
  if (!json::String(o, "status", json::Need::kOptional, out.status)) return Malformed(kService, "subscription", "status");
  if (!json::Time(o, "creationDate", json::Need::kOptional, out.creation_date)) {
    return Malformed(kService, "subscription", "creationDate");
  }
  if (!json::String(o, "entitlementId", json::Need::kOptional, out.entitlement_id)) {
    return Malformed(kService, "subscription", "entitlementId");
  }
  return absl::OkStatus();
}

absl::Status ParseEntitlement(object o, AzureEntitlement& out) {
  if (!json::String(o, "id", json::Need::kRequired, out.id)) return Malformed(kService, "Azure entitlement", "id");
  if (!json::String(o, "friendlyName", json::Need::kOptional, out.friendly_name)) {
    return Malformed(kService, "Azure entitlement", "friendlyName");
  }
  if (!json::String(o, "status", json::Need::kOptional, out.status)) {
    return Malformed(kService, "Azure entitlement", "status");
  }
  return absl::OkStatus();
}

template <class T>
absl::StatusOr<Page<T>> ParseCollection(absl::string_view body, absl::string_view resource, absl::string_view base,
                                        absl::Status (*parse_item)(object, T&)) {
  json::Parser parser;
  simdjson::dom::element root;
  object collection;
  std::optional<simdjson::dom::array> items;
  if (!json::Parse(parser, std::string_view(body.data(), body.size()), root)) {
    return Malformed(kService, resource, "not JSON");
  }
  if (root.get_object().get(collection) != simdjson::SUCCESS) return Malformed(kService, resource, "not an object");
  if (!json::Array(collection, "items", json::Need::kRequired, items)) return Malformed(kService, resource, "items");
  Page<T> page;
  for (simdjson::dom::element item : *items) {
    object o;
    if (item.get_object().get(o) != simdjson::SUCCESS) return Malformed(kService, resource, "items[]");
    T value;
    if (absl::Status s = parse_item(o, value); !s.ok()) return s;
    page.items.push_back(std::move(value));
  }
  absl::StatusOr<std::optional<NextLink>> next = ParseNext(collection, base);
  if (!next.ok()) return next.status();
  page.next = *std::move(next);
  return page;
}

template <class T>
absl::StatusOr<T> ParseOne(absl::string_view body, absl::string_view resource, absl::Status (*parse)(object, T&)) {
  json::Parser parser;
  simdjson::dom::element root;
  object o;
  if (!json::Parse(parser, std::string_view(body.data(), body.size()), root)) {
    return Malformed(kService, resource, "not JSON");
  }
  if (root.get_object().get(o) != simdjson::SUCCESS) return Malformed(kService, resource, "not an object");
  T value;
  if (absl::Status s = parse(o, value); !s.ok()) return s;
  return value;
}

// CustomerPage::continuation: the token and the absolute next URL, separated by a newline
// (neither may contain one: IsWireSafe).
std::string EncodeContinuation(const NextLink& next) { return absl::StrCat(next.token, "\n", next.url); }

absl::StatusOr<NextLink> DecodeContinuation(absl::string_view continuation, absl::string_view base) {
  const size_t newline = continuation.find('\n');
  const absl::Status malformed = absl::InvalidArgumentError("the customers continuation is malformed");
  if (newline == absl::string_view::npos) return malformed;
  NextLink next{std::string(continuation.substr(newline + 1)), std::string(continuation.substr(0, newline))};
  if (!IsWireSafe(next.token) || !IsWireSafe(next.url) || !SameOrigin(next.url, base)) return malformed;
  return next;
}

// Every page of a collection that Partner Center returns whole in practice (subscriptions,
// entitlements), still following links.next if one appears (CONTRACTS.md §2.4 rule 9).
template <class T>
ops::OpTask<absl::StatusOr<std::vector<T>>> FetchAll(http::HttpClient& http, const ops::OpContext& ctx,
                                                     http::HttpRequest request, std::string resource,
                                                     std::string customer_id, std::string base,
                                                     absl::Status (*parse_item)(object, T&)) {
  std::vector<T> all;
  std::set<NextLink> seen;
  for (int pages = 0; pages < kMaxPages; ++pages) {
    absl::StatusOr<http::HttpResponse> response = co_await Call(http, ctx, request);
    if (!response.ok()) co_return response.status();
    if (!IsSuccess(*response)) co_return PartnerCenterError(*response, resource, customer_id);
    absl::StatusOr<Page<T>> page = ParseCollection(response->body, resource, base, parse_item);
    if (!page.ok()) co_return page.status();
    for (T& item : page->items) all.push_back(std::move(item));
    if (!page->next.has_value()) co_return all;
    if (!seen.insert(*page->next).second) {
      co_return absl::InternalError(absl::StrCat(kService, " repeated a next link while listing ", resource));
    }
    request.url = page->next->url;
    std::erase_if(request.headers, [](const http::Header& h) { return h.first == kContinuationHeader; });
    if (!page->next->token.empty()) request.headers.emplace_back(kContinuationHeader, page->next->token);
  }
  co_return absl::InternalError(absl::StrCat(kService, " returned more than ", kMaxPages, " pages of ", resource));
}

absl::Status CheckId(absl::string_view what, absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat("empty ", what));
  return absl::OkStatus();
}

}  // namespace

PartnerCenterClient::PartnerCenterClient(std::shared_ptr<http::HttpClient> http, UpstreamOptions options)
    : http_(std::move(http)), options_(std::move(options)) {}

http::HttpRequest PartnerCenterClient::NewRequest(std::string operation, std::string url) const {
  // Partner Center limits per partner and per partner + customer (CONTRACTS.md §2.6).
  std::vector<std::string> rate_limit_keys = {"pc/partner"};
  if (const std::optional<std::string> customer = SegmentAfter(url, "/v1/customers/")) {
    rate_limit_keys.push_back(absl::StrCat("pc-customer/", *customer));
  }
  return JsonRequest({.url = std::move(url), .operation = std::move(operation),
                      .token_tenant = options_.partner_tenant_id, .token_scope = options_.partner_center_scope,
                      .rate_limit_keys = std::move(rate_limit_keys),
                      .id_headers = kPartnerCenterIdHeaders});
}

ops::OpTask<absl::StatusOr<ops::pc::CustomerPage>> PartnerCenterClient::ListCustomers(const ops::OpContext& ctx,
                                                                                     ops::pc::CustomerQuery query) {
  http::HttpRequest request = NewRequest("pc.list_customers", "");
  std::optional<NextLink> current;
  if (query.continuation.empty()) {
    if (query.size < 0) co_return absl::InvalidArgumentError("negative customer page size");
    if (query.name_prefix.has_value() && query.domain_prefix.has_value()) {
      co_return absl::InvalidArgumentError("customers can be filtered by name or by domain, not both");
    }
    std::vector<std::pair<std::string, std::string>> params = {{"size", absl::StrCat(query.size)}};
    const bool by_name = query.name_prefix.has_value();
    if (by_name || query.domain_prefix.has_value()) {
      params.emplace_back("filter", absl::StrCat(R"({"Field":")", by_name ? "CompanyName" : "Domain",
                                                 R"(","Value":)", json::Quote(by_name ? *query.name_prefix
                                                                                      : *query.domain_prefix),
                                                 R"(,"Operator":"starts_with"})"));
    }
    request.url = JoinUrl(options_.partner_center_url, absl::StrCat("/v1/customers", Query(params)));
  } else {
    absl::StatusOr<NextLink> next = DecodeContinuation(query.continuation, options_.partner_center_url);
    if (!next.ok()) co_return next.status();
    request.url = next->url;
    request.headers.emplace_back(kContinuationHeader, next->token);
    current = *std::move(next);
  }
  absl::StatusOr<http::HttpResponse> response = co_await Call(*http_, ctx, request);
  if (!response.ok()) co_return response.status();
  if (!IsSuccess(*response)) co_return PartnerCenterError(*response, "customers");
  absl::StatusOr<Page<Customer>> page =
      ParseCollection<Customer>(response->body, "customer list", options_.partner_center_url, ParseCustomer);
  if (!page.ok()) co_return page.status();
  ops::pc::CustomerPage out;
  out.customers = std::move(page->items);
  if (page->next.has_value()) {
    // The same link again would page forever.
    if (page->next == current) {
      co_return absl::InternalError(absl::StrCat(kService, " repeated the customers next link"));
    }
    out.continuation = EncodeContinuation(*page->next);
  }
  co_return out;
}

ops::OpTask<absl::StatusOr<Customer>> PartnerCenterClient::GetCustomer(const ops::OpContext& ctx,
                                                                      std::string customer_id) {
  if (absl::Status s = CheckId("customer id", customer_id); !s.ok()) co_return s;
  const std::string resource = absl::StrCat("customer ", customer_id);
  http::HttpRequest request =
      NewRequest("pc.get_customer", JoinUrl(options_.partner_center_url,
                                            absl::StrCat("/v1/customers/", PathSegment(customer_id))));
  absl::StatusOr<http::HttpResponse> response = co_await Call(*http_, ctx, std::move(request));
  if (!response.ok()) co_return response.status();
  if (!IsSuccess(*response)) co_return PartnerCenterError(*response, resource, customer_id);
  co_return ParseOne<Customer>(response->body, "customer", ParseCustomer);
}

ops::OpTask<absl::StatusOr<std::vector<Subscription>>> PartnerCenterClient::ListSubscriptions(
    const ops::OpContext& ctx, std::string customer_id) {
  if (absl::Status s = CheckId("customer id", customer_id); !s.ok()) co_return s;
  http::HttpRequest request = NewRequest(
      "pc.list_subscriptions",
      JoinUrl(options_.partner_center_url, absl::StrCat("/v1/customers/", PathSegment(customer_id), "/subscriptions")));
  co_return co_await FetchAll<Subscription>(*http_, ctx, std::move(request),
                                            absl::StrCat("subscriptions of customer ", customer_id), customer_id,
                                            options_.partner_center_url, ParseSubscription);
}

ops::OpTask<absl::StatusOr<Subscription>> PartnerCenterClient::GetSubscription(const ops::OpContext& ctx,
                                                                              std::string customer_id,
                                                                              std::string subscription_id) {
  if (absl::Status s = CheckId("customer id", customer_id); !s.ok()) co_return s;
  if (absl::Status s = CheckId("subscription id", subscription_id); !s.ok()) co_return s;
  const std::string resource = absl::StrCat("subscription ", subscription_id, " of customer ", customer_id);
  http::HttpRequest request =
      NewRequest("pc.get_subscription",
                 JoinUrl(options_.partner_center_url, absl::StrCat("/v1/customers/", PathSegment(customer_id),
                                                                   "/subscriptions/", PathSegment(subscription_id))));
  absl::StatusOr<http::HttpResponse> response = co_await Call(*http_, ctx, std::move(request));
  if (!response.ok()) co_return response.status();
  if (!IsSuccess(*response)) co_return PartnerCenterError(*response, resource, customer_id);
  co_return ParseOne<Subscription>(response->body, "subscription", ParseSubscription);
}

ops::OpTask<absl::StatusOr<std::vector<AzureEntitlement>>> PartnerCenterClient::ListAzureEntitlements(
    const ops::OpContext& ctx, std::string customer_id, std::string subscription_id) {
  if (absl::Status s = CheckId("customer id", customer_id); !s.ok()) co_return s;
  if (absl::Status s = CheckId("subscription id", subscription_id); !s.ok()) co_return s;
  http::HttpRequest request = NewRequest(
      "pc.list_azure_entitlements",
      JoinUrl(options_.partner_center_url, absl::StrCat("/v1/customers/", PathSegment(customer_id), "/subscriptions/",
                                                        PathSegment(subscription_id), "/azureEntitlements")));
  co_return co_await FetchAll<AzureEntitlement>(
      *http_, ctx, std::move(request),
      absl::StrCat("Azure entitlements of subscription ", subscription_id, " of customer ", customer_id), customer_id,
      options_.partner_center_url, ParseEntitlement);
}

}  // namespace partner::upstream
