// Hostile input, black box (issue 7 point 5): a seeded random run of malformed requests across
// every RPC. Each must come back INVALID_ARGUMENT (a batch item: its own INVALID_ARGUMENT
// result), the gateway must keep serving, and the emulator must see no request at all.
#include <google/protobuf/descriptor.h>

#include <functional>
#include <random>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/upstream_stack/stack_harness.h"

namespace partner::testing {
namespace {

// What a field holds decides which corruptions are certainly invalid for it (a role name may
// hold '@' and any valid UTF-8; a display name may hold '/').
enum class Kind {
  kGuid,
  kResourceGroup,
  kUpn,
  kRoleName,
  kRoleAssignmentId,
  kNamePrefix,
  kDomainPrefix,
  kDisplayName,
  kDescription,
  kUsageLocation,
};

const std::vector<std::string>& PathHazards() {
  static const auto* v = new std::vector<std::string>{
      "/", "..", "%2F", "%2e%2e", "?", "?api-version=1", "#", "#frag", "\r\n", "\r\nX-Injected: 1", "\n", "\r",
      std::string(1, '\0'), "\\", "&", "&$filter=x", "\t", "/../../"};
  return *v;
}
const std::vector<std::string>& NonAscii() {  // valid UTF-8: é, RLO, an emoji, a fullwidth solidus
  static const auto* v = new std::vector<std::string>{"\xC3\xA9", "\xE2\x80\xAE", "\xF0\x9F\x98\x80", "\xEF\xBC\x8F"};
  return *v;
}
const std::vector<std::string>& BadUtf8() {  // an overlong '/', a lone surrogate, 0xFF, a cut sequence
  static const auto* v = new std::vector<std::string>{"\xC0\xAF", "\xED\xA0\x80", "\xFF", "\xE2\x82"};
  return *v;
}
const std::vector<std::string>& Controls() {
  static const auto* v = new std::vector<std::string>{"\r\n", "\n", "\r", std::string(1, '\0'), "\t", "\x1b[31m", "\x7f"};
  return *v;
}

// Insertions that make any value of `kind` invalid wherever they land.
std::vector<std::string> HazardsFor(Kind kind) {
  std::vector<std::string> out;
  auto add = [&out](const std::vector<std::string>& v) { out.insert(out.end(), v.begin(), v.end()); };
  switch (kind) {
    case Kind::kDisplayName:
    case Kind::kDescription:
      add(Controls());
      return out;
    case Kind::kRoleName:
    case Kind::kNamePrefix:
      add(PathHazards());
      if (kind == Kind::kNamePrefix) out.push_back("'");
      return out;
    default:
      add(PathHazards());
      add(NonAscii());
      out.push_back("@");
      return out;
  }
}

std::size_t MaxLength(Kind kind) {
  switch (kind) {
    case Kind::kGuid: return 36;
    case Kind::kResourceGroup: return 90;
    case Kind::kUpn: return 256;
    case Kind::kRoleName: return 512;
    case Kind::kRoleAssignmentId: return 400;
    case Kind::kNamePrefix:
    case Kind::kDomainPrefix:
    case Kind::kDisplayName: return 256;
    case Kind::kDescription: return 1024;
    case Kind::kUsageLocation: return 2;
  }
  return 0;
}

class Corrupter {
 public:
  // `bad_utf8`: every corruption is an invalid UTF-8 sequence, which proto3 refuses to parse.
  Corrupter(std::uint64_t seed, bool bad_utf8, std::map<Kind, std::vector<std::string>> wrong_kinds)
      : random_(seed), bad_utf8_(bad_utf8), wrong_kinds_(std::move(wrong_kinds)) {}

  std::size_t Below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random_); }
  // A position in `s` that does not split a UTF-8 sequence (so only bad_utf8 runs send bad UTF-8).
  std::size_t Boundary(const std::string& s) {
    std::size_t at = Below(s.size() + 1);
    while (at > 0 && at < s.size() && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) --at;
    return at;
  }
  template <class T>
  const T& Pick(const std::vector<T>& v) { return v[Below(v.size())]; }

  // A value of `kind` derived from `valid` that the gateway must refuse.
  std::string Corrupt(Kind kind, const std::string& valid) {
    if (bad_utf8_) {
      std::string out = valid;
      out.insert(Boundary(out), Pick(BadUtf8()));
      return out;
    }
    const std::vector<std::string> hazards = HazardsFor(kind);
    switch (Below(4)) {
      case 0: {  // one to three hazards anywhere
        std::string out = valid;
        for (std::size_t n = 1 + Below(3); n > 0; --n) out.insert(Boundary(out), Pick(hazards));
        return out;
      }
      case 1: {  // over-long
        std::string out = valid;
        const std::size_t target = MaxLength(kind) + 1 + Below(kind == Kind::kGuid ? 5000 : 600);
        const std::string pad = kind == Kind::kUpn ? "a" : valid.empty() ? "a" : valid;
        while (out.size() < target) out.insert(kind == Kind::kUpn ? 0 : out.size(), pad);
        return out;
      }
      case 2: {  // a well-formed value of another kind, or a near miss of this one
        auto it = wrong_kinds_.find(kind);
        if (it != wrong_kinds_.end() && !it->second.empty()) return Pick(it->second);
        return Corrupt(kind, valid);
      }
      default: {  // a hazard as the whole value, wrapped around the valid one
        return absl::StrCat(Pick(hazards), valid, Pick(hazards));
      }
    }
  }

 private:
  std::mt19937_64 random_;
  const bool bad_utf8_;
  std::map<Kind, std::vector<std::string>> wrong_kinds_;
};

std::string Printable(const std::string& s) {
  return s.size() > 120 ? absl::StrCat(absl::CHexEscape(s.substr(0, 120)), "...(", s.size(), " bytes)") : absl::CHexEscape(s);
}

// A page token made unusable: altered, cut, extended, or garbage.
std::string TamperToken(Corrupter& c, const std::string& token) {
  std::string t = token;
  switch (c.Below(5)) {
    case 0: {  // one character changed away from both ends, so the decoded bytes differ
      if (t.size() < 4) return t + "A";
      const std::size_t i = 1 + c.Below(t.size() - 3);
      t[i] = t[i] == 'A' ? 'B' : 'A';
      return t;
    }
    case 1: return t.substr(0, c.Below(t.size()));
    case 2: {  // whitespace alone is the separate PageTokensWithWhitespaceAreRefused
      std::string extra;
      while (absl::StripAsciiWhitespace(extra).empty()) extra = c.Pick(HazardsFor(Kind::kGuid));
      return absl::StrCat(t, extra);
    }
    case 3: return std::string(4097 + c.Below(2000), 'A');
    default: return absl::StrCat(c.Pick(PathHazards()), c.Below(1000));
  }
}

class HostileInputTest : public StackTest {
 protected:
  struct Result {
    std::map<grpc::StatusCode, int> codes;
    std::map<std::string, int> per_rpc;
    std::vector<std::string> not_invalid_argument;  // the first few, for the failure message
    absl::Duration took;
    std::int64_t upstream_requests = 0;  // made while the run lasted
    std::int64_t tokens_issued = 0;
    bool still_serving = false;
  };
  // `requests` malformed requests, drawn with `seed` across every RPC.
  void Run(std::uint64_t seed, int requests, bool bad_utf8, Result* out);
};

void HostileInputTest::Run(std::uint64_t seed, int requests, bool bad_utf8, Result* out) {
  const emulator::Customer c = Consented([](const emulator::Customer& x) { return x.users.size() >= 3; });
  const emulator::Customer other = Consented([&](const emulator::Customer& x) { return x.id != c.id && x.users.size() >= 3; });
  const std::string azure = FirstAzure(c);
  const std::string upn = c.users[0].user_principal_name;
  const std::string object_id = c.users[0].id;
  const std::string pc_subscription = c.subscriptions[0].id;
  const std::string assignment_id =
      absl::StrCat("/subscriptions/", azure, "/providers/Microsoft.Authorization/roleAssignments/", object_id);

  // Real page tokens, so that tampered and foreign ones are tampered and foreign, not just garbage.
  v1::ListCustomersRequest customers_request;
  customers_request.set_page_size(3);
  v1::ListCustomersResponse customers_page;
  ASSERT_TRUE(h_->customer_stub->ListCustomers(As(kReaderToken).get(), customers_request, &customers_page).ok());
  const std::string customers_token = customers_page.next_page_token();
  v1::ListCustomerUsersRequest users_request;
  users_request.set_customer_id(c.id);
  users_request.set_page_size(1);
  v1::ListCustomerUsersResponse users_page;
  ASSERT_TRUE(h_->customer_stub->ListCustomerUsers(As(kReaderToken).get(), users_request, &users_page).ok());
  const std::string users_token = users_page.next_page_token();
  ASSERT_FALSE(customers_token.empty());
  ASSERT_FALSE(users_token.empty());

  const std::string guid_no_dashes = absl::StrReplaceAll(object_id, {{"-", ""}});
  Corrupter corrupt(seed, bad_utf8, {
      {Kind::kGuid, {upn, "rg-web", assignment_id, "Reader", guid_no_dashes, absl::StrCat("{", object_id, "}"),
                     absl::StrCat("g", object_id.substr(1)), object_id.substr(0, 35), ""}},
      {Kind::kUpn, {object_id, "rg-web", assignment_id, "Reader", "mila.berg", absl::StrCat("@", c.domain), "mila@",
                    "mila@localhost", "mila@x..com", "mila@-x.com", ".mila@x.com", "mi..la@x.com", ""}},
      {Kind::kResourceGroup, {upn, assignment_id, "rg-web.", "rg web", "rg..web", "rg:web"}},
      {Kind::kRoleAssignmentId, {object_id, upn, absl::StrCat("/subscriptions/", azure), assignment_id.substr(1),
                                 absl::StrReplaceAll(assignment_id, {{"roleAssignments", "roleDefinitions"}}),
                                 absl::StrCat("/subscriptions/", azure, "/providers/Microsoft.Authorization/roleAssignments/reader"),
                                 absl::StrCat("/subscriptions/", azure, "/resourceGroups/rg..x/providers/Microsoft.Authorization/roleAssignments/", object_id),
                                 ""}},
      {Kind::kRoleName, {""}},
      {Kind::kNamePrefix, {""}},
      {Kind::kDomainPrefix, {"", "north wind", "north_wind", "north'wind"}},
      {Kind::kDisplayName, {""}},
      {Kind::kUsageLocation, {"G", "GBR", "G1", "12", "\xC3\xA9\xC3\xA9"}},
  });
  auto bad = [&corrupt](Kind kind, const std::string& valid) { return corrupt.Corrupt(kind, valid); };

  auto valid_assign = [&] {
    v1::AssignRoleRequest r;
    r.set_customer_id(c.id);
    r.set_azure_subscription_id(azure);
    r.mutable_principal()->set_user_principal_name(upn);
    r.mutable_role()->set_role_name("Reader");
    r.set_description("Granted by the helpdesk");
    return r;
  };
  // One AssignRole request with exactly one thing wrong.
  auto bad_assign = [&]() {
    v1::AssignRoleRequest r = valid_assign();
    switch (corrupt.Below(12)) {
      case 0: r.set_customer_id(bad(Kind::kGuid, c.id)); break;
      case 1: r.set_azure_subscription_id(bad(Kind::kGuid, azure)); break;
      case 2: r.set_resource_group(bad(Kind::kResourceGroup, "rg-web")); break;
      case 3: r.mutable_principal()->set_user_principal_name(bad(Kind::kUpn, upn)); break;
      case 4: r.mutable_principal()->set_object_id(bad(Kind::kGuid, object_id)); break;
      case 5: r.mutable_role()->set_role_name(bad(Kind::kRoleName, "Reader")); break;
      case 6: r.mutable_role()->set_role_definition_id(bad(Kind::kGuid, object_id)); break;
      case 7: r.set_description(bad(Kind::kDescription, r.description())); break;
      case 8: r.set_principal_type(static_cast<v1::PrincipalType>(5 + corrupt.Below(100))); break;
      case 9: r.set_principal_type(corrupt.Below(2) ? v1::PRINCIPAL_TYPE_GROUP : v1::PRINCIPAL_TYPE_SERVICE_PRINCIPAL); break;
      case 10: r.clear_principal(); break;
      default: r.clear_role(); break;
    }
    return r;
  };

  struct Case {
    std::string rpc;
    std::function<grpc::Status(std::string* sent)> run;
  };
  auto admin = [] { return As(kAdminToken); };
  std::vector<Case> cases;
  cases.push_back({"ListCustomers", [&](std::string* sent) {
    v1::ListCustomersRequest r;
    switch (corrupt.Below(5)) {
      case 0: r.set_company_name_prefix(bad(Kind::kNamePrefix, "Fabrikam")); *sent = r.company_name_prefix(); break;
      case 1: r.set_domain_prefix(bad(Kind::kDomainPrefix, "northwind")); *sent = r.domain_prefix(); break;
      case 2: r.set_page_size(corrupt.Below(2) ? -1 - static_cast<int>(corrupt.Below(1000)) : 501 + static_cast<int>(corrupt.Below(100000))); break;
      case 3: r.set_page_size(3); r.set_page_token(TamperToken(corrupt, customers_token)); *sent = r.page_token(); break;
      default: r.set_page_size(3); r.set_company_name_prefix("Fabrikam"); r.set_page_token(customers_token); break;  // another filter's
    }
    v1::ListCustomersResponse response;
    return h_->customer_stub->ListCustomers(admin().get(), r, &response);
  }});
  cases.push_back({"GetCustomer", [&](std::string* sent) {
    v1::GetCustomerRequest r;
    r.set_customer_id(bad(Kind::kGuid, c.id));
    *sent = r.customer_id();
    v1::GetCustomerResponse response;
    return h_->customer_stub->GetCustomer(admin().get(), r, &response);
  }});
  cases.push_back({"ListCustomerUsers", [&](std::string* sent) {
    v1::ListCustomerUsersRequest r;
    r.set_customer_id(c.id);
    r.set_page_size(1);
    switch (corrupt.Below(4)) {
      case 0: r.set_customer_id(bad(Kind::kGuid, c.id)); *sent = r.customer_id(); break;
      case 1: r.set_page_size(corrupt.Below(2) ? -5 : 100000); break;
      case 2: r.set_page_token(TamperToken(corrupt, users_token)); *sent = r.page_token(); break;
      default: r.set_page_token(corrupt.Below(2) ? customers_token : users_token); r.set_customer_id(other.id); break;
    }
    v1::ListCustomerUsersResponse response;
    return h_->customer_stub->ListCustomerUsers(admin().get(), r, &response);
  }});
  cases.push_back({"CreateCustomerUser", [&](std::string* sent) {
    v1::CreateCustomerUserRequest r;
    r.set_customer_id(c.id);
    r.set_user_principal_name(absl::StrCat("new.user@", c.domain));
    r.set_display_name("New User");
    r.set_usage_location("GB");
    switch (corrupt.Below(5)) {
      case 0: r.set_customer_id(bad(Kind::kGuid, c.id)); *sent = r.customer_id(); break;
      case 1: r.set_user_principal_name(bad(Kind::kUpn, r.user_principal_name())); *sent = r.user_principal_name(); break;
      case 2: r.set_display_name(bad(Kind::kDisplayName, r.display_name())); *sent = r.display_name(); break;
      case 3: r.set_usage_location(bad(Kind::kUsageLocation, "GB")); *sent = r.usage_location(); break;
      default: r.set_user_principal_name(absl::StrCat("guest_fabrikam.com#EXT#@", c.domain)); break;
    }
    v1::CreateCustomerUserResponse response;
    return h_->customer_stub->CreateCustomerUser(admin().get(), r, &response);
  }});
  cases.push_back({"ListSubscriptions", [&](std::string* sent) {
    v1::ListSubscriptionsRequest r;
    r.set_customer_id(bad(Kind::kGuid, c.id));
    *sent = r.customer_id();
    v1::ListSubscriptionsResponse response;
    return h_->subscription_stub->ListSubscriptions(admin().get(), r, &response);
  }});
  cases.push_back({"GetSubscription", [&](std::string* sent) {
    v1::GetSubscriptionRequest r;
    r.set_customer_id(c.id);
    r.set_subscription_id(pc_subscription);
    if (corrupt.Below(2)) r.set_customer_id(bad(Kind::kGuid, c.id));
    else r.set_subscription_id(bad(Kind::kGuid, pc_subscription));
    *sent = absl::StrCat(r.customer_id(), " ", r.subscription_id());
    v1::GetSubscriptionResponse response;
    return h_->subscription_stub->GetSubscription(admin().get(), r, &response);
  }});
  cases.push_back({"ListAzureSubscriptions", [&](std::string* sent) {
    v1::ListAzureSubscriptionsRequest r;
    r.set_customer_id(bad(Kind::kGuid, c.id));
    *sent = r.customer_id();
    v1::ListAzureSubscriptionsResponse response;
    return h_->subscription_stub->ListAzureSubscriptions(admin().get(), r, &response);
  }});
  cases.push_back({"ListRoleDefinitions", [&](std::string* sent) {
    v1::ListRoleDefinitionsRequest r;
    r.set_customer_id(c.id);
    r.set_azure_subscription_id(azure);
    switch (corrupt.Below(3)) {
      case 0: r.set_customer_id(bad(Kind::kGuid, c.id)); break;
      case 1: r.set_azure_subscription_id(bad(Kind::kGuid, azure)); break;
      default: r.set_role_type(static_cast<v1::RoleType>(3 + corrupt.Below(1000))); break;
    }
    *sent = absl::StrCat(r.customer_id(), " ", r.azure_subscription_id(), " ", r.role_type());
    v1::ListRoleDefinitionsResponse response;
    return h_->access_stub->ListRoleDefinitions(admin().get(), r, &response);
  }});
  cases.push_back({"AssignRole", [&](std::string* sent) {
    v1::AssignRoleRequest r = bad_assign();
    r.set_validate_only(corrupt.Below(2) == 0);
    *sent = r.ShortDebugString();
    v1::AssignRoleResponse response;
    return h_->access_stub->AssignRole(admin().get(), r, &response);
  }});
  cases.push_back({"ListRoleAssignments", [&](std::string* sent) {
    v1::ListRoleAssignmentsRequest r;
    r.set_customer_id(c.id);
    r.set_azure_subscription_id(azure);
    switch (corrupt.Below(7)) {
      case 0: r.set_customer_id(bad(Kind::kGuid, c.id)); break;
      case 1: r.set_azure_subscription_id(bad(Kind::kGuid, azure)); break;
      case 2: r.set_resource_group(bad(Kind::kResourceGroup, "rg-data")); break;
      case 3: r.mutable_principal()->set_user_principal_name(bad(Kind::kUpn, upn)); break;
      case 4: r.mutable_principal()->set_object_id(bad(Kind::kGuid, object_id)); break;
      case 5: r.set_page_size(-1 - static_cast<int>(corrupt.Below(100))); break;
      default: r.set_page_token(corrupt.Below(2) ? customers_token : TamperToken(corrupt, users_token)); break;
    }
    *sent = r.ShortDebugString();
    v1::ListRoleAssignmentsResponse response;
    return h_->access_stub->ListRoleAssignments(admin().get(), r, &response);
  }});
  cases.push_back({"RevokeRole", [&](std::string* sent) {
    v1::RevokeRoleRequest r;
    r.set_customer_id(c.id);
    r.set_validate_only(corrupt.Below(2) == 0);
    v1::RoleAssignmentTriple triple;
    triple.set_azure_subscription_id(azure);
    triple.mutable_principal()->set_user_principal_name(upn);
    triple.mutable_role()->set_role_name("Reader");
    switch (corrupt.Below(9)) {
      case 0: r.set_customer_id(bad(Kind::kGuid, c.id)); r.set_role_assignment_id(assignment_id); break;
      case 1: r.set_role_assignment_id(bad(Kind::kRoleAssignmentId, assignment_id)); break;
      case 2: triple.set_azure_subscription_id(bad(Kind::kGuid, azure)); *r.mutable_triple() = triple; break;
      case 3: triple.set_resource_group(bad(Kind::kResourceGroup, "rg-web")); *r.mutable_triple() = triple; break;
      case 4: triple.mutable_principal()->set_user_principal_name(bad(Kind::kUpn, upn)); *r.mutable_triple() = triple; break;
      case 5: triple.mutable_role()->set_role_name(bad(Kind::kRoleName, "Reader")); *r.mutable_triple() = triple; break;
      case 6: triple.mutable_role()->set_role_definition_id(bad(Kind::kGuid, object_id)); *r.mutable_triple() = triple; break;
      case 7: triple.clear_principal(); *r.mutable_triple() = triple; break;
      default: break;  // no target at all
    }
    *sent = r.ShortDebugString();
    v1::RevokeRoleResponse response;
    return h_->access_stub->RevokeRole(admin().get(), r, &response);
  }});
  cases.push_back({"BatchAssignRoles", [&](std::string* sent) {
    v1::BatchAssignRolesRequest r;
    const std::size_t n = corrupt.Below(8) == 0 ? 0 : 1 + corrupt.Below(3);
    for (std::size_t i = 0; i < n; ++i) *r.add_items() = bad_assign();
    *sent = r.ShortDebugString();
    auto context = admin();
    auto reader = h_->access_stub->BatchAssignRoles(context.get(), r);
    v1::BatchAssignRolesResponse message;
    std::size_t invalid_items = 0;
    std::size_t other_items = 0;
    int failed = -1;
    while (reader->Read(&message)) {
      if (message.has_item()) {
        (message.item().error_code() == static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT) ? invalid_items : other_items)++;
      }
      if (message.has_summary()) failed = message.summary().failed();
    }
    grpc::Status status = reader->Finish();
    if (n == 0 || !status.ok()) return status;
    // Each item failed alone with INVALID_ARGUMENT: the batch's verdict for this run.
    if (invalid_items == n && other_items == 0 && failed == static_cast<int>(n)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "every item invalid");
    }
    return grpc::Status(grpc::StatusCode::UNKNOWN, absl::StrCat(invalid_items, " of ", n, " items invalid, ", other_items,
                                                                " otherwise, summary failed=", failed));
  }});

  const emulator::Counters before = h_->services().counters();
  const absl::Time start = absl::Now();
  for (int i = 0; i < requests; ++i) {
    const Case& one = corrupt.Pick(cases);
    std::string sent;
    grpc::Status status = one.run(&sent);
    ++out->per_rpc[one.rpc];
    ++out->codes[status.error_code()];
    if (status.error_code() != grpc::StatusCode::INVALID_ARGUMENT && out->not_invalid_argument.size() < 20) {
      out->not_invalid_argument.push_back(absl::StrCat(one.rpc, " #", i, " -> ", status.error_code(), " ",
                                                       status.error_message(), "\n  sent: ", Printable(sent)));
    }
  }
  out->took = absl::Now() - start;
  const emulator::Counters after = h_->services().counters();
  out->upstream_requests = after.upstream_requests - before.upstream_requests;
  out->tokens_issued = after.tokens_issued - before.tokens_issued;
  EXPECT_EQ(out->per_rpc.size(), cases.size());

  v1::GetCustomerRequest get;
  get.set_customer_id(c.id);
  v1::GetCustomerResponse customer;
  out->still_serving = h_->customer_stub->GetCustomer(As(kReaderToken).get(), get, &customer).ok();
}

TEST_F(HostileInputTest, TenThousandMalformedRequestsAreInvalidArgumentWithNoUpstreamCall) {
  Result result;
  Run(20261128, 10000, /*bad_utf8=*/false, &result);
  EXPECT_EQ(result.codes[grpc::StatusCode::INVALID_ARGUMENT], 10000) << absl::StrJoin(result.not_invalid_argument, "\n");
  EXPECT_EQ(result.upstream_requests, 0);
  EXPECT_EQ(result.tokens_issued, 0);
  EXPECT_TRUE(result.still_serving);
  EXPECT_TRUE(h_->services().role_assignments().empty());
  EXPECT_LT(result.took, absl::Seconds(30));
  std::cerr << "hostile input: 10000 requests in " << result.took << "\n";
}

// proto3 cannot parse a request whose string field holds invalid UTF-8; the gateway parses its
// requests itself (server/api/parsing_service.h) so that such a call is INVALID_ARGUMENT too,
// where grpc++ 1.51's callback API alone would answer UNIMPLEMENTED with no message.
TEST_F(HostileInputTest, InvalidUtf8IsInvalidArgumentWithNoUpstreamCall) {
  Result result;
  Run(7, 500, /*bad_utf8=*/true, &result);
  EXPECT_EQ(result.codes[grpc::StatusCode::INVALID_ARGUMENT], 500) << absl::StrJoin(result.not_invalid_argument, "\n");
  EXPECT_EQ(result.upstream_requests, 0);
  EXPECT_EQ(result.tokens_issued, 0);
  EXPECT_TRUE(result.still_serving);
  EXPECT_TRUE(h_->services().role_assignments().empty());
}

TEST_F(HostileInputTest, InvalidUtf8IsNamedOnEveryRpc) {
  const emulator::Customer c = Consented([](const emulator::Customer& x) { return !x.users.empty(); });
  const std::string azure = FirstAzure(c);
  const std::string upn = c.users[0].user_principal_name;
  auto admin = [] { return As(kAdminToken); };
  auto assign = [&](const std::string& role_name) {
    v1::AssignRoleRequest r;
    r.set_customer_id(c.id);
    r.set_azure_subscription_id(azure);
    r.mutable_principal()->set_user_principal_name(upn);
    r.mutable_role()->set_role_name(role_name);
    return r;
  };
  struct Case {
    std::string rpc;
    std::string field;  // the one holding invalid UTF-8
    std::function<grpc::Status()> run;
  };
  const std::vector<Case> cases = {
      {"ListCustomers", "company_name_prefix", [&] {
         v1::ListCustomersRequest r;
         r.set_company_name_prefix("Fabri\xC0\xAF");
         v1::ListCustomersResponse out;
         return h_->customer_stub->ListCustomers(admin().get(), r, &out);
       }},
      {"GetCustomer", "customer_id", [&] {
         v1::GetCustomerRequest r;
         r.set_customer_id(c.id + "\xFF");
         v1::GetCustomerResponse out;
         return h_->customer_stub->GetCustomer(admin().get(), r, &out);
       }},
      {"ListCustomerUsers", "page_token", [&] {
         v1::ListCustomerUsersRequest r;
         r.set_customer_id(c.id);
         r.set_page_token("\xED\xA0\x80");
         v1::ListCustomerUsersResponse out;
         return h_->customer_stub->ListCustomerUsers(admin().get(), r, &out);
       }},
      {"CreateCustomerUser", "display_name", [&] {
         v1::CreateCustomerUserRequest r;
         r.set_customer_id(c.id);
         r.set_user_principal_name(absl::StrCat("new.user@", c.domain));
         r.set_display_name("New \xE2\x82");
         r.set_usage_location("GB");
         v1::CreateCustomerUserResponse out;
         return h_->customer_stub->CreateCustomerUser(admin().get(), r, &out);
       }},
      {"ListSubscriptions", "customer_id", [&] {
         v1::ListSubscriptionsRequest r;
         r.set_customer_id("\xFF" + c.id);
         v1::ListSubscriptionsResponse out;
         return h_->subscription_stub->ListSubscriptions(admin().get(), r, &out);
       }},
      {"GetSubscription", "subscription_id", [&] {
         v1::GetSubscriptionRequest r;
         r.set_customer_id(c.id);
         r.set_subscription_id(c.subscriptions[0].id + "\xC0\xAF");
         v1::GetSubscriptionResponse out;
         return h_->subscription_stub->GetSubscription(admin().get(), r, &out);
       }},
      {"ListAzureSubscriptions", "customer_id", [&] {
         v1::ListAzureSubscriptionsRequest r;
         r.set_customer_id(c.id + "\xED\xA0\x80");
         v1::ListAzureSubscriptionsResponse out;
         return h_->subscription_stub->ListAzureSubscriptions(admin().get(), r, &out);
       }},
      {"ListRoleDefinitions", "azure_subscription_id", [&] {
         v1::ListRoleDefinitionsRequest r;
         r.set_customer_id(c.id);
         r.set_azure_subscription_id(azure + "\xFF");
         v1::ListRoleDefinitionsResponse out;
         return h_->access_stub->ListRoleDefinitions(admin().get(), r, &out);
       }},
      {"AssignRole", "principal.user_principal_name", [&] {
         v1::AssignRoleRequest r = assign("Reader");
         r.mutable_principal()->set_user_principal_name("\xC0\xAF" + upn);
         v1::AssignRoleResponse out;
         return h_->access_stub->AssignRole(admin().get(), r, &out);
       }},
      {"ListRoleAssignments", "resource_group", [&] {
         v1::ListRoleAssignmentsRequest r;
         r.set_customer_id(c.id);
         r.set_azure_subscription_id(azure);
         r.set_resource_group("rg-\xFF");
         v1::ListRoleAssignmentsResponse out;
         return h_->access_stub->ListRoleAssignments(admin().get(), r, &out);
       }},
      {"RevokeRole", "triple.role.role_name", [&] {
         v1::RevokeRoleRequest r;
         r.set_customer_id(c.id);
         r.mutable_triple()->set_azure_subscription_id(azure);
         r.mutable_triple()->mutable_principal()->set_user_principal_name(upn);
         r.mutable_triple()->mutable_role()->set_role_name("Rea\xE2\x82");
         v1::RevokeRoleResponse out;
         return h_->access_stub->RevokeRole(admin().get(), r, &out);
       }},
      {"BatchAssignRoles", "items[1].role.role_name", [&] {
         v1::BatchAssignRolesRequest r;
         *r.add_items() = assign("Reader");
         *r.add_items() = assign("Reader\xED\xA0\x80");
         auto context = admin();
         auto reader = h_->access_stub->BatchAssignRoles(context.get(), r);
         v1::BatchAssignRolesResponse message;
         int streamed = 0;
         while (reader->Read(&message)) ++streamed;
         grpc::Status status = reader->Finish();
         if (streamed != 0) return grpc::Status(grpc::StatusCode::UNKNOWN, absl::StrCat(streamed, " messages streamed"));
         return status;
       }},
  };

  std::set<std::string> every_rpc;
  for (const char* service : {"partner.v1.CustomerService", "partner.v1.SubscriptionService", "partner.v1.AccessService"}) {
    const google::protobuf::ServiceDescriptor* d =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
    ASSERT_NE(d, nullptr) << service;
    for (int i = 0; i < d->method_count(); ++i) every_rpc.insert(d->method(i)->name());
  }
  std::set<std::string> covered;
  for (const Case& one : cases) covered.insert(one.rpc);
  EXPECT_EQ(covered, every_rpc);

  const emulator::Counters before = h_->services().counters();
  for (const Case& one : cases) {
    grpc::Status status = one.run();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << one.rpc << ": " << status.error_message();
    EXPECT_EQ(status.error_message(), absl::StrCat(one.field, ": not valid UTF-8")) << one.rpc;
    EXPECT_EQ(Details(status).metadata["field"], one.field) << one.rpc;
  }
  const emulator::Counters after = h_->services().counters();
  EXPECT_EQ(after.upstream_requests, before.upstream_requests);
  EXPECT_EQ(after.tokens_issued, before.tokens_issued);
  EXPECT_TRUE(h_->services().role_assignments().empty());
}

TEST_F(HostileInputTest, PageTokensWithWhitespaceAreRefused) {
  v1::ListCustomersRequest request;
  request.set_page_size(3);
  v1::ListCustomersResponse page;
  ASSERT_TRUE(h_->customer_stub->ListCustomers(As(kReaderToken).get(), request, &page).ok());
  const std::string token = page.next_page_token();
  ASSERT_FALSE(token.empty());
  const std::int64_t before = UpstreamRequests();
  for (const char* extra : {"\r\n", "\n", "\t", " "}) {
    request.set_page_token(absl::StrCat(token, extra));
    grpc::Status status = h_->customer_stub->ListCustomers(As(kReaderToken).get(), request, &page);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << absl::CHexEscape(extra);
  }
  EXPECT_EQ(UpstreamRequests(), before);
}

}  // namespace
}  // namespace partner::testing
