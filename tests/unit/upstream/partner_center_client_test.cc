#include "server/upstream/partner_center_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/ops/error_reason.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/upstream/fake_http_client.h"

namespace partner::upstream {
namespace {

using ::partner::testing::IsOk;
using ::partner::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::FakeHttpClient;
using testing::HeaderValue;
using testing::RunNow;

constexpr char kCustomersPage1[] = R"({
  "totalCount": 2,
  "items": [
    {
      "id": "8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418",
      "companyProfile": {
        "tenantId": "8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418",
        "domain": "fabrikamtoys.onmicrosoft.com",
        "companyName": "Fabrikam Toys Ltd",
        "links": { "self": { "uri": "/customers/8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418/profiles/company", "method": "GET", "headers": [] } },
        "attributes": { "objectType": "CustomerCompanyProfile" }
      },
      "relationshipToPartner": "reseller",
      "links": { "self": { "uri": "/customers/8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418", "method": "GET", "headers": [] } },
      "attributes": { "objectType": "Customer" }
    },
    {
      "id": "2e9b7c14-6a3d-4f81-9d02-c7a5e8b1f369",
      "companyProfile": {
        "tenantId": "2e9b7c14-6a3d-4f81-9d02-c7a5e8b1f369",
        "domain": "northwindbikes.onmicrosoft.com",
        "companyName": "Northwind Bikes GmbH",
        "attributes": { "objectType": "CustomerCompanyProfile" }
      },
      "relationshipToPartner": "reseller",
      "attributes": { "objectType": "Customer" }
    }
  ],
  "links": {
    "self": { "uri": "/v1/customers?size=2", "method": "GET", "headers": [] },
    "next": {
      "uri": "/v1/customers?size=2&seekOperation=Next",
      "method": "GET",
      "headers": [ { "key": "MS-ContinuationToken", "value": "c0ffee12-3b4d-4a5e-9f60-7a8b9c0d1e2f,Q2hlY2twb2ludA==" } ]
    }
  },
  "continuationToken": "c0ffee12-3b4d-4a5e-9f60-7a8b9c0d1e2f,Q2hlY2twb2ludA==",
  "attributes": { "objectType": "Collection" }
})";

constexpr char kLastPage[] = R"({"totalCount":1,"items":[{"id":"5a5a5a5a-0000-4000-8000-000000000001",
  "companyProfile":{"domain":"contoso.onmicrosoft.com","companyName":"Contoso"},"relationshipToPartner":"advisor"}],
  "links":{"self":{"uri":"/v1/customers?size=2&seekOperation=Next","method":"GET","headers":[]}},
  "attributes":{"objectType":"Collection"}})";

constexpr char kCustomer[] = R"({
  "id": "8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418",
  "commerceId": "b7d2e4f1-0a9c-4e83-96d5-2c1f8e7a3b40",
  "companyProfile": {
    "tenantId": "8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418",
    "domain": "fabrikamtoys.onmicrosoft.com",
    "companyName": "Fabrikam Toys Ltd",
    "address": { "country": "GB", "region": "", "city": "Leeds" },
    "email": "it@fabrikamtoys.example"
  },
  "billingProfile": { "id": "5e0c9a3b-1d7f-4c26-8b94-f3a6e2d1c085", "firstName": "Ada" },
  "relationshipToPartner": "reseller",
  "allowDelegatedAccess": true,
  "customDomains": [ "fabrikamtoys.onmicrosoft.com" ],
  "attributes": { "objectType": "Customer" }
})";

constexpr char kSubscriptions[] = R"({
  "totalCount": 2,
  "items": [
    { "id": "7F3A2C91-5B8D-4E16-A0C4-9D2E6B1F8A35", "offerId": "DZH318Z0BPS6:0001:DZH318Z0BML6",
      "offerName": "Azure plan", "friendlyName": "Azure plan", "quantity": 1, "unitType": "Usage-based",
      "creationDate": "2024-02-06T10:12:44.5Z", "commitmentEndDate": "9999-12-31T00:00:00Z", "status": "active",
      "actions": [ "Cancel", "Edit" ], "attributes": { "etag": "eyJ9", "objectType": "Subscription" } },
    { "id": "9A4D7E12-3C6B-4F80-B5E9-1D2C8A7F6E03", "offerId": "MS-AZR-0145P", "offerName": "Microsoft Azure",
      "entitlementId": "c41e8a7f-2d5b-49c6-8e03-b7a9d1f4e652", "friendlyName": "Legacy Azure", "quantity": "3", "creationDate": "2019-05-20T08:00:10.1Z", "status": "active" }
  ],
  "attributes": { "objectType": "Collection" }
})";

constexpr char kEntitlements[] = R"({
  "totalCount": 2,
  "items": [
    { "id": "3b6d9f20-8c1e-4a57-b3d4-6e0f2a9c7b18", "friendlyName": "Fabrikam Production", "status": "active", "subscriptionId": "7F3A2C91-5B8D-4E16-A0C4-9D2E6B1F8A35" },
    { "id": "c41e8a7f-2d5b-49c6-8e03-b7a9d1f4e652", "friendlyName": "Fabrikam Dev/Test", "status": "active", "subscriptionId": "7F3A2C91-5B8D-4E16-A0C4-9D2E6B1F8A35" }
  ],
  "attributes": { "objectType": "Collection" }
})";

class PartnerCenterClientTest : public ::testing::Test {
 protected:
  PartnerCenterClientTest() {
    options_.partner_center_url = "https://pc.example/";
    options_.partner_center_scope = "https://api.partnercenter.microsoft.com/.default";
    options_.partner_tenant_id = "partner-tenant";
    http_ = std::make_shared<FakeHttpClient>();
    client_ = std::make_unique<PartnerCenterClient>(http_, options_);
    ctx_.correlation_id = "corr-7";
  }

  template <class T>
  T Run(ops::OpTask<T> task) {
    std::optional<T> result = RunNow(std::move(task));
    if (!result.has_value()) return T(absl::InternalError("the task did not complete inline"));
    return *std::move(result);
  }

  UpstreamOptions options_;
  std::shared_ptr<FakeHttpClient> http_;
  std::unique_ptr<PartnerCenterClient> client_;
  ops::OpContext ctx_;
};

TEST_F(PartnerCenterClientTest, ListCustomersFirstPageAndNextPage) {
  http_->Respond(200, std::string("\xEF\xBB\xBF") + kCustomersPage1, {{"ms-requestid", "r1"}});
  ops::pc::CustomerQuery query;
  query.size = 2;
  absl::StatusOr<ops::pc::CustomerPage> page = Run(client_->ListCustomers(ctx_, query));
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->customers.size(), 2u);
  EXPECT_EQ(page->customers[0].id, "8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418");
  EXPECT_EQ(page->customers[0].company_name, "Fabrikam Toys Ltd");
  EXPECT_EQ(page->customers[0].domain, "fabrikamtoys.onmicrosoft.com");
  EXPECT_EQ(page->customers[0].relationship_to_partner, "reseller");
  EXPECT_FALSE(page->customers[0].allow_delegated_access.has_value());
  EXPECT_EQ(page->customers[1].company_name, "Northwind Bikes GmbH");
  ASSERT_FALSE(page->continuation.empty());

  const http::HttpRequest& first = http_->requests.at(0);
  EXPECT_EQ(first.method, "GET");
  EXPECT_EQ(first.url, "https://pc.example/v1/customers?size=2");
  EXPECT_EQ(HeaderValue(first, "Accept"), "application/json");
  EXPECT_EQ(HeaderValue(first, "MS-ContinuationToken"), std::nullopt);
  EXPECT_EQ(first.token_tenant, "partner-tenant");
  EXPECT_EQ(first.token_scope, "https://api.partnercenter.microsoft.com/.default");
  EXPECT_EQ(first.correlation_id, "corr-7");
  EXPECT_EQ(first.id_headers.request_id, "MS-RequestId") << "CONTRACTS.md 2.2";
  EXPECT_EQ(first.id_headers.correlation_id, "MS-CorrelationId");
  EXPECT_EQ(first.operation, "pc.list_customers");

  http_->Respond(200, kLastPage);
  query.continuation = page->continuation;
  absl::StatusOr<ops::pc::CustomerPage> last = Run(client_->ListCustomers(ctx_, query));
  ASSERT_THAT(last, IsOk());
  ASSERT_EQ(last->customers.size(), 1u);
  EXPECT_EQ(last->customers[0].relationship_to_partner, "advisor");
  EXPECT_EQ(last->continuation, "");
  const http::HttpRequest& second = http_->requests.at(1);
  EXPECT_EQ(second.url, "https://pc.example/v1/customers?size=2&seekOperation=Next");
  EXPECT_EQ(HeaderValue(second, "MS-ContinuationToken"), "c0ffee12-3b4d-4a5e-9f60-7a8b9c0d1e2f,Q2hlY2twb2ludA==");
}

TEST_F(PartnerCenterClientTest, NextUriWithoutVersionGetsV1Prefix) {
  std::string body = kCustomersPage1;
  body.replace(body.find("\"/v1/customers?size=2&seekOperation=Next\""), 41, "\"/customers?size=2&seekOperation=Next\"");
  http_->Respond(200, body);
  http_->Respond(200, kLastPage);
  absl::StatusOr<ops::pc::CustomerPage> page = Run(client_->ListCustomers(ctx_, {}));
  ASSERT_THAT(page, IsOk());
  ops::pc::CustomerQuery next;
  next.continuation = page->continuation;
  ASSERT_THAT(Run(client_->ListCustomers(ctx_, next)), IsOk());
  EXPECT_EQ(http_->requests.at(1).url, "https://pc.example/v1/customers?size=2&seekOperation=Next");
}

TEST_F(PartnerCenterClientTest, AbsoluteNextLinkOnlyToTheConfiguredHost) {
  std::string same = kCustomersPage1;
  same.replace(same.find("\"/v1/customers?size=2&seekOperation=Next\""), 41,
               "\"https://PC.example/v1/customers?size=2&seekOperation=Next\"");
  http_->Respond(200, same);
  absl::StatusOr<ops::pc::CustomerPage> page = Run(client_->ListCustomers(ctx_, {}));
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(page->continuation, HasSubstr("https://PC.example/v1/customers?size=2&seekOperation=Next"));

  std::string foreign = kCustomersPage1;
  foreign.replace(foreign.find("\"/v1/customers?size=2&seekOperation=Next\""), 41,
                  "\"https://evil.example/v1/customers?size=2\"");
  http_->Respond(200, foreign);
  EXPECT_THAT(Run(client_->ListCustomers(ctx_, {})), StatusIs(absl::StatusCode::kInternal, HasSubstr("another host")));
}

TEST_F(PartnerCenterClientTest, TamperedContinuationIsRefusedWithoutACall) {
  ops::pc::CustomerQuery query;
  query.continuation = "token\nhttps://evil.example/v1/customers";
  EXPECT_THAT(Run(client_->ListCustomers(ctx_, query)), StatusIs(absl::StatusCode::kInvalidArgument));
  query.continuation = "no newline";
  EXPECT_THAT(Run(client_->ListCustomers(ctx_, query)), StatusIs(absl::StatusCode::kInvalidArgument));
  query.continuation = "tok\r\nX-Injected: 1\nhttps://pc.example/v1/customers";
  EXPECT_THAT(Run(client_->ListCustomers(ctx_, query)), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(http_->requests.empty());
}

TEST_F(PartnerCenterClientTest, RepeatedNextLinkIsAnError) {
  http_->Respond(200, kCustomersPage1);
  http_->Respond(200, kCustomersPage1);
  absl::StatusOr<ops::pc::CustomerPage> page = Run(client_->ListCustomers(ctx_, {}));
  ASSERT_THAT(page, IsOk());
  ops::pc::CustomerQuery next;
  next.continuation = page->continuation;
  EXPECT_THAT(Run(client_->ListCustomers(ctx_, next)), StatusIs(absl::StatusCode::kInternal, HasSubstr("repeated")));
}

TEST_F(PartnerCenterClientTest, FilterIsUrlEncodedJson) {
  http_->Respond(200, kLastPage);
  ops::pc::CustomerQuery query;
  query.size = 0;
  query.domain_prefix = "fabrik";
  ASSERT_THAT(Run(client_->ListCustomers(ctx_, query)), IsOk());
  EXPECT_EQ(http_->requests.at(0).url,
            "https://pc.example/v1/customers?size=0&filter=%7B%22Field%22%3A%22Domain%22%2C%22Value%22%3A%22fabrik%22"
            "%2C%22Operator%22%3A%22starts_with%22%7D");

  http_->Respond(200, kLastPage);
  query.domain_prefix.reset();
  query.name_prefix = "A\"&b";
  ASSERT_THAT(Run(client_->ListCustomers(ctx_, query)), IsOk());
  EXPECT_THAT(http_->requests.at(1).url,
              HasSubstr("filter=%7B%22Field%22%3A%22CompanyName%22%2C%22Value%22%3A%22A%5C%22%26b%22"));
}

TEST_F(PartnerCenterClientTest, GetCustomerReadsTheFullShape) {
  http_->Respond(200, kCustomer);
  absl::StatusOr<ops::pc::Customer> customer = Run(client_->GetCustomer(ctx_, "8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418"));
  ASSERT_THAT(customer, IsOk());
  EXPECT_EQ(customer->company_name, "Fabrikam Toys Ltd");
  EXPECT_EQ(customer->allow_delegated_access, true);
  EXPECT_EQ(http_->requests.at(0).url, "https://pc.example/v1/customers/8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418");
}

TEST_F(PartnerCenterClientTest, HostileIdsArePercentEncoded) {
  http_->Respond(200, kCustomer);
  http_->Respond(200, kEntitlements);
  EXPECT_THAT(Run(client_->GetCustomer(ctx_, "a/../b")), IsOk());
  EXPECT_THAT(Run(client_->ListAzureEntitlements(ctx_, "x?y#z", "..")), IsOk());
  EXPECT_EQ(http_->requests.at(0).url, "https://pc.example/v1/customers/a%2F..%2Fb");
  EXPECT_EQ(http_->requests.at(1).url, "https://pc.example/v1/customers/x%3Fy%23z/subscriptions/%2E%2E/azureEntitlements");
  // Partner Center throttles per partner and per partner + customer.
  EXPECT_THAT(http_->requests.at(0).rate_limit_keys, ::testing::ElementsAre("pc/partner", "pc-customer/a%2F..%2Fb"));
  EXPECT_THAT(Run(client_->GetCustomer(ctx_, "")), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(http_->requests.size(), 2u);
}

TEST_F(PartnerCenterClientTest, SubscriptionsKeepUpperCaseIdsAndParseTypes) {
  http_->Respond(200, kSubscriptions);
  auto subs = Run(client_->ListSubscriptions(ctx_, "8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418"));
  ASSERT_THAT(subs, IsOk());
  ASSERT_EQ(subs->size(), 2u);
  EXPECT_EQ((*subs)[0].id, "7F3A2C91-5B8D-4E16-A0C4-9D2E6B1F8A35");
  EXPECT_EQ((*subs)[0].offer_id, "DZH318Z0BPS6:0001:DZH318Z0BML6");
  EXPECT_EQ((*subs)[0].quantity, 1);
  EXPECT_EQ((*subs)[0].status, "active");
  EXPECT_EQ((*subs)[0].creation_date, absl::FromUnixMillis(1707214364500));
  EXPECT_EQ((*subs)[1].quantity, 3);
  EXPECT_EQ((*subs)[1].friendly_name, "Legacy Azure");
  EXPECT_EQ((*subs)[1].entitlement_id, "c41e8a7f-2d5b-49c6-8e03-b7a9d1f4e652");
  EXPECT_EQ((*subs)[0].entitlement_id, "");
  EXPECT_EQ(http_->requests.at(0).url,
            "https://pc.example/v1/customers/8c3f61a2-4d9b-4e7a-b2c1-95e0d7f3a418/subscriptions");
  EXPECT_EQ(http_->requests.at(0).operation, "pc.list_subscriptions");
}

TEST_F(PartnerCenterClientTest, SubscriptionListFollowsANextLinkAndRefusesARepeatedOne) {
  std::string paged = kSubscriptions;
  paged.replace(paged.rfind("\"attributes\""), 0,
                R"("links":{"next":{"uri":"/customers/c/subscriptions?page=2","method":"GET","headers":[{"key":"MS-ContinuationToken","value":"t2"}]}},)");
  http_->Respond(200, paged);
  http_->Respond(200, kSubscriptions);
  auto subs = Run(client_->ListSubscriptions(ctx_, "c"));
  ASSERT_THAT(subs, IsOk());
  EXPECT_EQ(subs->size(), 4u);
  EXPECT_EQ(http_->requests.at(1).url, "https://pc.example/v1/customers/c/subscriptions?page=2");
  EXPECT_EQ(HeaderValue(http_->requests.at(1), "MS-ContinuationToken"), "t2");

  http_->Respond(200, paged);
  http_->Respond(200, paged);
  EXPECT_THAT(Run(client_->ListSubscriptions(ctx_, "c")), StatusIs(absl::StatusCode::kInternal, HasSubstr("repeated")));
}

TEST_F(PartnerCenterClientTest, GetSubscriptionNotFound) {
  http_->Respond(200, R"({"id":"7F3A2C91-5B8D-4E16-A0C4-9D2E6B1F8A35","status":"active"})");
  auto sub = Run(client_->GetSubscription(ctx_, "c", "7F3A2C91-5B8D-4E16-A0C4-9D2E6B1F8A35"));
  ASSERT_THAT(sub, IsOk());
  EXPECT_EQ(http_->requests.at(0).url,
            "https://pc.example/v1/customers/c/subscriptions/7F3A2C91-5B8D-4E16-A0C4-9D2E6B1F8A35");
  http_->Respond(404, R"({"code":20003,"description":"Subscription with id S not found.","data":[],"source":"PartnerFD"})");
  absl::StatusOr<ops::pc::Subscription> missing = Run(client_->GetSubscription(ctx_, "c", "S"));
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kNotFound, HasSubstr("subscription S of customer c")));
  EXPECT_EQ(ops::GetUpstreamDetails(missing.status()).at("upstreamCode"), "20003");
}

TEST_F(PartnerCenterClientTest, EntitlementsAreParsed) {
  http_->Respond(200, kEntitlements);
  auto ents = Run(client_->ListAzureEntitlements(ctx_, "c", "7F3A2C91-5B8D-4E16-A0C4-9D2E6B1F8A35"));
  ASSERT_THAT(ents, IsOk());
  ASSERT_EQ(ents->size(), 2u);
  EXPECT_EQ((*ents)[1].id, "c41e8a7f-2d5b-49c6-8e03-b7a9d1f4e652");
  EXPECT_EQ((*ents)[1].friendly_name, "Fabrikam Dev/Test");
  EXPECT_EQ((*ents)[1].status, "active");
}

TEST_F(PartnerCenterClientTest, NoRelationshipNamesTheCustomer) {
  http_->Respond(403, R"({"code":20002,"description":"No relationship between caller and account.","data":[],"source":"PartnerFD"})");
  EXPECT_THAT(Run(client_->ListSubscriptions(ctx_, "2e9b7c14")),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("no relationship with customer 2e9b7c14")));
}

TEST_F(PartnerCenterClientTest, MalformedBodiesAreInternalErrorsNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json at all", "not JSON"},
      {R"({"items":[{"id":"x","offerId":"y")", "not JSON"},  // truncated
      {"[]", "not an object"},
      {R"({"items":{}})", "items"},
      {R"({"totalCount":1})", "items"},
      {R"({"items":[42]})", "items[]"},
      {R"({"items":[{"offerId":"y"}]})", "subscription: id"},
      {R"({"items":[{"id":7}]})", "subscription: id"},
      {R"({"items":[{"id":"x","quantity":"many"}]})", "quantity"},
      {R"({"items":[{"id":"x","quantity":1.5}]})", "quantity"},
      {R"({"items":[{"id":"x","creationDate":"yesterday"}]})", "creationDate"},
      {R"({"items":[],"links":{"next":{"uri":5}}})", "links.next.uri"},
  };
  for (const auto& [body, field] : cases) {
    http_->Respond(200, body);
    EXPECT_THAT(Run(client_->ListSubscriptions(ctx_, "c")),
                StatusIs(absl::StatusCode::kInternal, HasSubstr("Partner Center returned a malformed")))
        << body;
    http_->Respond(200, body);
    EXPECT_THAT(Run(client_->ListSubscriptions(ctx_, "c")), StatusIs(absl::StatusCode::kInternal, HasSubstr(field)))
        << body;
  }
  http_->Respond(200, R"({"id":"c","allowDelegatedAccess":"yes"})");
  EXPECT_THAT(Run(client_->GetCustomer(ctx_, "c")),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("customer: allowDelegatedAccess")));
  http_->Respond(200, R"({"id":"c","companyProfile":"Fabrikam"})");
  EXPECT_THAT(Run(client_->GetCustomer(ctx_, "c")),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("customer: companyProfile")));
}

TEST_F(PartnerCenterClientTest, TransportFailurePassesThrough) {
  http_->responses.push_back(absl::UnavailableError("connection reset"));
  EXPECT_THAT(Run(client_->GetCustomer(ctx_, "c")), StatusIs(absl::StatusCode::kUnavailable, "connection reset"));
}

}  // namespace
}  // namespace partner::upstream
