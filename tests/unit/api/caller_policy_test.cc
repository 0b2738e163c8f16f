#include "server/auth/caller/caller_policy.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/ops/error_reason.h"
#include "tests/testing/status_matchers.h"

namespace partner::auth {
namespace {

using ::partner::testing::IsOk;
using ::partner::testing::StatusIs;

constexpr char kCustomer[] = "3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f";

std::shared_ptr<const CallerPolicy> MakePolicy(bool xfcc = false, bool anonymous = false) {
  config::v1::CallerPolicy config;
  config.set_trust_forwarded_client_cert(xfcc);
  config.set_allow_unauthenticated(anonymous);
  config::v1::Caller* reader = config.add_callers();
  reader->set_name("reporting");
  reader->add_identities("spiffe://example.org/ns/r/sa/reporting");
  reader->add_permissions("customers.read");
  reader->add_bearer_token_sha256(Sha256Hex("reporting-token"));
  reader->add_customer_allowlist("3F2C1D4E-5A6B-4C7D-8E9F-0A1B2C3D4E5F");
  config::v1::Caller* admin = config.add_callers();
  admin->set_name("admin");
  admin->add_identities("admin.example.org");
  admin->add_permissions("*");
  absl::StatusOr<std::shared_ptr<const CallerPolicy>> policy = CallerPolicy::Create(config);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *policy;
}

TEST(CallerPolicyTest, CertificateTokenAndForwardedIdentities) {
  auto policy = MakePolicy(/*xfcc=*/true);
  absl::StatusOr<CallerIdentity> c =
      policy->Authenticate({.certificate_identities = {"spiffe://example.org/ns/r/sa/reporting"}});
  ASSERT_THAT(c.status(), IsOk());
  EXPECT_EQ(c->name, "reporting");
  c = policy->Authenticate({.authorization = "Bearer reporting-token"});
  ASSERT_THAT(c.status(), IsOk());
  EXPECT_EQ(c->name, "reporting");
  c = policy->Authenticate({.forwarded_client_cert =
                                "By=spiffe://gw;Hash=abc;Subject=\"CN=x,O=y\";URI=spiffe://other,"
                                "By=spiffe://gw;Hash=def;DNS=admin.example.org"});
  ASSERT_THAT(c.status(), IsOk());
  EXPECT_EQ(c->name, "admin");
}

// A caller controls everything before the element its sidecar appends, and a certificate's
// subject is quoted text inside that element: neither may name the identity.
TEST(CallerPolicyTest, ForwardedIdentityComesOnlyFromTheSidecarsOwnElement) {
  auto policy = MakePolicy(/*xfcc=*/true);
  const std::string sidecar =
      "By=spiffe://gw;Hash=def;Subject=\"\";URI=spiffe://example.org/ns/r/sa/reporting";
  for (const std::string& header : std::vector<std::string>{
           "DNS=admin.example.org," + sidecar,
           "By=spiffe://gw;Hash=def;Subject=\"CN=x;DNS=admin.example.org;O=y\";"
           "URI=spiffe://example.org/ns/r/sa/reporting",
           "By=spiffe://gw;Hash=def;Subject=\"CN=\\\"a,DNS=admin.example.org\\\"\";"
           "URI=spiffe://example.org/ns/r/sa/reporting"}) {
    absl::StatusOr<CallerIdentity> c = policy->Authenticate({.forwarded_client_cert = header});
    ASSERT_THAT(c.status(), IsOk()) << header;
    EXPECT_EQ(c->name, "reporting") << header;
  }
  // A stray quote in the caller's part would swallow the comma before the sidecar's element: the
  // whole header is refused rather than guessed at.
  absl::StatusOr<CallerIdentity> c = policy->Authenticate(
      {.forwarded_client_cert = "DNS=admin.example.org;Subject=\"," + sidecar});
  EXPECT_THAT(c, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(ParseForwardedClientCert("URI=spiffe://a;Subject=\"CN=\\"), ::testing::IsEmpty());
}

TEST(CallerPolicyTest, UnknownOrMissingCredentialsAreUnauthenticated) {
  auto policy = MakePolicy();
  for (const PresentedCredentials& p :
       {PresentedCredentials{}, PresentedCredentials{.authorization = "Bearer wrong"},
        PresentedCredentials{.authorization = "Basic abc"},
        PresentedCredentials{.certificate_identities = {"spiffe://unknown"}},
        // Without trust_forwarded_client_cert the header is ignored.
        PresentedCredentials{.forwarded_client_cert = "DNS=admin.example.org"}}) {
    absl::StatusOr<CallerIdentity> c = policy->Authenticate(p);
    EXPECT_THAT(c, StatusIs(absl::StatusCode::kUnauthenticated));
    EXPECT_EQ(ops::GetReason(c.status()), v1::ERROR_REASON_UNAUTHENTICATED);
  }
}

TEST(CallerPolicyTest, AnonymousOnlyWhenConfigured) {
  absl::StatusOr<CallerIdentity> c = MakePolicy(false, true)->Authenticate({});
  ASSERT_THAT(c.status(), IsOk());
  EXPECT_THAT(CallerPolicy::Authorize(*c, Permission::kAccessWrite, kCustomer), IsOk());
}

TEST(CallerPolicyTest, PermissionsAndAllowlists) {
  auto policy = MakePolicy();
  CallerIdentity reporting = *policy->Authenticate({.authorization = "Bearer reporting-token"});
  EXPECT_THAT(CallerPolicy::Authorize(reporting, Permission::kCustomersRead, kCustomer), IsOk());
  absl::Status denied = CallerPolicy::Authorize(reporting, Permission::kAccessWrite, kCustomer);
  EXPECT_THAT(denied, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(ops::GetReason(denied), v1::ERROR_REASON_CALLER_NOT_PERMITTED);
  EXPECT_THAT(CallerPolicy::Authorize(reporting, Permission::kCustomersRead,
                                      "00000000-0000-0000-0000-000000000001"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  CallerIdentity admin = *policy->Authenticate({.certificate_identities = {"admin.example.org"}});
  EXPECT_THAT(CallerPolicy::Authorize(admin, Permission::kUsersWrite, kCustomer), IsOk());
}

}  // namespace
}  // namespace partner::auth
