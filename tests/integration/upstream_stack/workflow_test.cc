// Every RPC's happy path through the real stack against the emulator, plus what callers rely on
// around it: paging and filters, idempotent re-assign, validate_only, batches, page token
// integrity, caller authentication and authorization.
#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/upstream_stack/stack_harness.h"

namespace partner::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAreArray;

constexpr char kReaderRole[] = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
constexpr char kContributorRole[] = "b24988ac-6180-42a0-ab88-20f7382dd24c";

class WorkflowTest : public StackTest {
 protected:
  // Every page of ListCustomers for `request`, in order.
  std::vector<v1::Customer> WalkCustomers(v1::ListCustomersRequest request) {
    std::vector<v1::Customer> out;
    for (int pages = 0; pages < 100; ++pages) {
      v1::ListCustomersResponse page;
      grpc::Status status = h_->customer_stub->ListCustomers(As(kReaderToken).get(), request, &page);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      EXPECT_LE(page.customers_size(), request.page_size() == 0 ? 100 : request.page_size());
      out.insert(out.end(), page.customers().begin(), page.customers().end());
      if (page.next_page_token().empty()) break;
      request.set_page_token(page.next_page_token());
    }
    return out;
  }

  v1::AssignRoleRequest Assign(const emulator::Customer& c, const emulator::User& user) {
    v1::AssignRoleRequest r;
    r.set_customer_id(c.id);
    r.set_azure_subscription_id(FirstAzure(c));
    r.mutable_principal()->set_user_principal_name(user.user_principal_name);
    r.mutable_role()->set_role_name("reader");
    return r;
  }
};

TEST_F(WorkflowTest, ListCustomersWalksEveryCustomerOnceInPartnerCenterOrder) {
  std::vector<std::string> expected;
  for (const emulator::Customer& c : h_->services().customers()) expected.push_back(c.id);
  v1::ListCustomersRequest request;
  request.set_page_size(7);
  std::vector<std::string> seen;
  for (const v1::Customer& c : WalkCustomers(request)) seen.push_back(Lower(c.customer_id()));
  ASSERT_GE(expected.size(), 2u);
  EXPECT_EQ(seen, expected);
}

TEST_F(WorkflowTest, ListCustomersFiltersByNameAndDomainPrefixIgnoringCase) {
  v1::ListCustomersRequest by_name;
  by_name.set_page_size(2);
  by_name.set_company_name_prefix("fabrikam");
  std::vector<v1::Customer> named = WalkCustomers(by_name);
  std::size_t expected = 0;
  for (const emulator::Customer& c : h_->services().customers()) expected += absl::StartsWith(c.company_name, "Fabrikam");
  ASSERT_GT(expected, 2u);
  EXPECT_EQ(named.size(), expected);
  for (const v1::Customer& c : named) EXPECT_THAT(c.company_name(), ::testing::StartsWith("Fabrikam"));

  v1::ListCustomersRequest by_domain;
  by_domain.set_domain_prefix("NorthWind");
  std::vector<v1::Customer> domains = WalkCustomers(by_domain);
  ASSERT_FALSE(domains.empty());
  for (const v1::Customer& c : domains) EXPECT_THAT(c.domain(), ::testing::StartsWith("northwind"));
}

TEST_F(WorkflowTest, GetCustomerReturnsTheCustomer) {
  const emulator::Customer c = Consented();
  v1::GetCustomerRequest request;
  request.set_customer_id(absl::AsciiStrToUpper(c.id));
  v1::GetCustomerResponse response;
  grpc::Status status = h_->customer_stub->GetCustomer(As(kReaderToken).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Lower(response.customer().customer_id()), c.id);
  EXPECT_EQ(response.customer().company_name(), c.company_name);
  EXPECT_EQ(response.customer().domain(), c.domain);
}

TEST_F(WorkflowTest, ListCustomerUsersPagesThroughEveryUser) {
  const emulator::Customer c = Consented([](const emulator::Customer& x) { return x.users.size() >= 5; });
  std::vector<std::string> expected;
  for (const emulator::User& u : c.users) expected.push_back(u.user_principal_name);
  v1::ListCustomerUsersRequest request;
  request.set_customer_id(c.id);
  request.set_page_size(2);
  std::vector<std::string> seen;
  for (int pages = 0; pages < 20; ++pages) {
    v1::ListCustomerUsersResponse page;
    grpc::Status status = h_->customer_stub->ListCustomerUsers(As(kReaderToken).get(), request, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_LE(page.users_size(), 2);
    for (const v1::CustomerUser& u : page.users()) seen.push_back(u.user_principal_name());
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  EXPECT_THAT(seen, UnorderedElementsAreArray(expected));
}

TEST_F(WorkflowTest, ListCustomerUsersSearchPagesWithinThePrefixAndKeepsTokensBoundToIt) {
  // An initial at least two users share (display names and UPNs both start with the given
  // name), so the search has a second page whose token can be misused.
  auto shared_initial = [](const emulator::Customer& x) {
    std::map<char, int> count;
    for (const emulator::User& u : x.users) {
      if (++count[absl::ascii_tolower(static_cast<unsigned char>(u.given_name[0]))] == 2) return std::string(1, u.given_name[0]);
    }
    return std::string();
  };
  const emulator::Customer c = Consented([&](const emulator::Customer& x) { return !shared_initial(x).empty(); });
  const std::string prefix = absl::AsciiStrToLower(shared_initial(c));
  std::vector<std::string> expected;
  for (const emulator::User& u : c.users) {
    if (absl::StartsWithIgnoreCase(u.display_name, prefix) || absl::StartsWithIgnoreCase(u.user_principal_name, prefix)) {
      expected.push_back(u.user_principal_name);
    }
  }
  v1::ListCustomerUsersRequest request;
  request.set_customer_id(c.id);
  request.set_page_size(1);
  request.set_search_prefix(prefix);
  std::vector<std::string> seen;
  std::string some_token;
  for (int pages = 0; pages < 20; ++pages) {
    v1::ListCustomerUsersResponse page;
    grpc::Status status = h_->customer_stub->ListCustomerUsers(As(kReaderToken).get(), request, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_LE(page.users_size(), 1);
    for (const v1::CustomerUser& u : page.users()) seen.push_back(u.user_principal_name());
    if (page.next_page_token().empty()) break;
    some_token = page.next_page_token();
    request.set_page_token(page.next_page_token());
  }
  ASSERT_GE(expected.size(), 2u);
  EXPECT_EQ(seen, expected);

  v1::ListCustomerUsersRequest everyone;
  everyone.set_customer_id(c.id);
  everyone.set_page_size(1);
  v1::ListCustomerUsersResponse first;
  ASSERT_TRUE(h_->customer_stub->ListCustomerUsers(As(kReaderToken).get(), everyone, &first).ok());
  ASSERT_FALSE(first.next_page_token().empty());
  everyone.set_page_token(first.next_page_token());
  everyone.set_search_prefix(prefix);
  v1::ListCustomerUsersResponse page;
  grpc::Status status = h_->customer_stub->ListCustomerUsers(As(kReaderToken).get(), everyone, &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "a token of the whole list continues no search";
  request.set_page_token(some_token);
  request.set_search_prefix(absl::StrCat(prefix, "x"));
  status = h_->customer_stub->ListCustomerUsers(As(kReaderToken).get(), request, &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "a token of another search";
}

TEST_F(WorkflowTest, CreateCustomerUserReturnsThePasswordOnceThenTheUserIsListed) {
  const emulator::Customer c = Consented();
  v1::CreateCustomerUserRequest request;
  request.set_customer_id(c.id);
  request.set_user_principal_name(absl::StrCat("new.hire@", c.domain));
  request.set_display_name("New Hire");
  request.set_usage_location("GB");
  v1::CreateCustomerUserResponse created;
  grpc::Status status = h_->customer_stub->CreateCustomerUser(As(kAdminToken).get(), request, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(created.user().user_principal_name(), request.user_principal_name());
  EXPECT_FALSE(created.user().object_id().empty());
  const std::string password = created.one_time_password();
  EXPECT_GE(password.size(), 8u);

  v1::ListCustomerUsersRequest list;
  list.set_customer_id(c.id);
  v1::ListCustomerUsersResponse users;
  ASSERT_TRUE(h_->customer_stub->ListCustomerUsers(As(kReaderToken).get(), list, &users).ok());
  std::vector<std::string> upns;
  for (const v1::CustomerUser& u : users.users()) upns.push_back(u.user_principal_name());
  EXPECT_THAT(upns, Contains(request.user_principal_name()));

  // Asking again never hands out a password for the existing user.
  v1::CreateCustomerUserResponse again;
  status = h_->customer_stub->CreateCustomerUser(As(kAdminToken).get(), request, &again);
  EXPECT_TRUE(!status.ok() || again.one_time_password().empty());
  EXPECT_NE(again.one_time_password(), password);

  // The audit log records the creation but never the password.
  std::ifstream audit(h_->audit_path());
  std::string text((std::istreambuf_iterator<char>(audit)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr(request.user_principal_name()));
  EXPECT_THAT(text, Not(HasSubstr(password)));
}

TEST_F(WorkflowTest, ListSubscriptionsNamesEveryKindAndGetSubscriptionFindsEach) {
  const emulator::Customer c = Consented([](const emulator::Customer& x) {
    return std::any_of(x.subscriptions.begin(), x.subscriptions.end(),
                       [](const emulator::PcSubscription& s) { return !s.entitlement_id.empty(); });
  });
  v1::ListSubscriptionsRequest request;
  request.set_customer_id(c.id);
  v1::ListSubscriptionsResponse response;
  grpc::Status status = h_->subscription_stub->ListSubscriptions(As(kReaderToken).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::map<std::string, v1::SubscriptionKind> kinds;
  for (const v1::Subscription& s : response.subscriptions()) kinds[Lower(s.subscription_id())] = s.kind();
  ASSERT_EQ(kinds.size(), c.subscriptions.size());
  for (const emulator::PcSubscription& s : c.subscriptions) {
    const v1::SubscriptionKind want = !s.entitlement_id.empty()         ? v1::SUBSCRIPTION_KIND_LEGACY_AZURE
                                      : !s.azure_subscriptions.empty() ? v1::SUBSCRIPTION_KIND_AZURE_PLAN
                                                                        : v1::SUBSCRIPTION_KIND_LICENSE;
    EXPECT_EQ(kinds[Lower(s.id)], want) << s.offer_name;

    v1::GetSubscriptionRequest get;
    get.set_customer_id(c.id);
    get.set_subscription_id(Lower(s.id));
    v1::GetSubscriptionResponse got;
    status = h_->subscription_stub->GetSubscription(As(kReaderToken).get(), get, &got);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(Lower(got.subscription().subscription_id()), Lower(s.id));
    EXPECT_EQ(got.subscription().offer_id(), s.offer_id);
    EXPECT_EQ(got.subscription().kind(), want);
  }
}

TEST_F(WorkflowTest, ListAzureSubscriptionsCoversThePlanAndLegacySubscriptions) {
  const emulator::Customer c = Consented([](const emulator::Customer& x) {
    return std::any_of(x.subscriptions.begin(), x.subscriptions.end(),
                       [](const emulator::PcSubscription& s) { return !s.entitlement_id.empty(); });
  });
  std::map<std::string, v1::AzureSubscriptionSource> expected;
  for (const emulator::PcSubscription& s : c.subscriptions) {
    for (const std::string& a : s.azure_subscriptions) expected[a] = v1::AZURE_SUBSCRIPTION_SOURCE_AZURE_PLAN;
    if (!s.entitlement_id.empty()) expected[s.entitlement_id] = v1::AZURE_SUBSCRIPTION_SOURCE_LEGACY_AZURE;
  }
  v1::ListAzureSubscriptionsRequest request;
  request.set_customer_id(c.id);
  v1::ListAzureSubscriptionsResponse response;
  grpc::Status status = h_->subscription_stub->ListAzureSubscriptions(As(kReaderToken).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::map<std::string, v1::AzureSubscriptionSource> seen;
  for (const v1::AzureSubscription& a : response.azure_subscriptions()) seen[Lower(a.azure_subscription_id())] = a.source();
  ASSERT_GE(expected.size(), 2u);
  EXPECT_EQ(seen, expected);
}

TEST_F(WorkflowTest, ListRoleDefinitionsHasBuiltInAndCustomRolesAndFiltersByType) {
  const emulator::Customer c = Consented();
  v1::ListRoleDefinitionsRequest request;
  request.set_customer_id(c.id);
  request.set_azure_subscription_id(FirstAzure(c));
  v1::ListRoleDefinitionsResponse all;
  grpc::Status status = h_->access_stub->ListRoleDefinitions(As(kReaderToken).get(), request, &all);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::set<std::string> names;
  for (const v1::RoleDefinition& d : all.role_definitions()) names.insert(d.role_name());
  for (const emulator::RoleDefinition& d : emulator::BuiltInRoles()) EXPECT_TRUE(names.count(d.role_name)) << d.role_name;
  EXPECT_TRUE(names.count("Partner Support Operator"));

  request.set_role_type(v1::ROLE_TYPE_BUILT_IN);
  v1::ListRoleDefinitionsResponse built_in;
  ASSERT_TRUE(h_->access_stub->ListRoleDefinitions(As(kReaderToken).get(), request, &built_in).ok());
  EXPECT_EQ(built_in.role_definitions_size(), static_cast<int>(emulator::BuiltInRoles().size()));
  for (const v1::RoleDefinition& d : built_in.role_definitions()) EXPECT_EQ(d.role_type(), v1::ROLE_TYPE_BUILT_IN);
}

TEST_F(WorkflowTest, AssignListAndRevokeBySubscriptionAndResourceGroup) {
  const emulator::Customer c = Consented([](const emulator::Customer& x) { return x.users.size() >= 2; });
  const std::string azure = FirstAzure(c);
  const emulator::User& alice = c.users[0];

  // By UPN and a built-in role name in another case, at the subscription.
  v1::AssignRoleRequest by_upn = Assign(c, alice);
  by_upn.mutable_role()->set_role_name("rEaDeR");
  v1::AssignRoleResponse reader;
  grpc::Status status = h_->access_stub->AssignRole(As(kAdminToken).get(), by_upn, &reader);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(reader.already_existed());
  EXPECT_EQ(reader.role_assignment().role_name(), "Reader");
  EXPECT_EQ(Lower(reader.role_assignment().principal_id()), alice.id);
  EXPECT_EQ(Lower(reader.role_assignment().scope()), absl::StrCat("/subscriptions/", azure));

  // By object id and role definition id, at a resource group.
  v1::AssignRoleRequest by_id;
  by_id.set_customer_id(c.id);
  by_id.set_azure_subscription_id(absl::AsciiStrToUpper(azure));
  by_id.set_resource_group("rg-web");
  by_id.mutable_principal()->set_object_id(alice.id);
  by_id.mutable_role()->set_role_definition_id(kContributorRole);
  v1::AssignRoleResponse contributor;
  status = h_->access_stub->AssignRole(As(kAdminToken).get(), by_id, &contributor);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(contributor.role_assignment().role_name(), "Contributor");
  EXPECT_THAT(Lower(contributor.role_assignment().scope()), ::testing::EndsWith("/resourcegroups/rg-web"));

  // A custom role, by its exact name.
  v1::AssignRoleRequest custom = Assign(c, c.users[1]);
  custom.mutable_role()->set_role_name("Partner Support Operator");
  v1::AssignRoleResponse operator_role;
  status = h_->access_stub->AssignRole(As(kAdminToken).get(), custom, &operator_role);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(operator_role.role_assignment().role_name(), "Partner Support Operator");

  std::vector<emulator::RoleAssignment> stored = h_->services().role_assignments();
  ASSERT_EQ(stored.size(), 3u);
  std::set<std::string> stored_roles;
  for (const emulator::RoleAssignment& a : stored) stored_roles.insert(a.role_definition_guid);
  EXPECT_TRUE(stored_roles.count(kReaderRole));
  EXPECT_TRUE(stored_roles.count(kContributorRole));

  // One principal at the subscription, then at the resource group.
  v1::ListRoleAssignmentsRequest list;
  list.set_customer_id(c.id);
  list.set_azure_subscription_id(azure);
  list.mutable_principal()->set_user_principal_name(alice.user_principal_name);
  v1::ListRoleAssignmentsResponse at_sub;
  status = h_->access_stub->ListRoleAssignments(As(kReaderToken).get(), list, &at_sub);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::set<std::string> ids;
  for (const v1::RoleAssignment& a : at_sub.role_assignments()) {
    EXPECT_EQ(Lower(a.principal_id()), alice.id);
    ids.insert(Lower(a.role_assignment_id()));
  }
  EXPECT_TRUE(ids.count(Lower(reader.role_assignment().role_assignment_id())));
  list.set_resource_group("rg-web");
  v1::ListRoleAssignmentsResponse at_rg;
  ASSERT_TRUE(h_->access_stub->ListRoleAssignments(As(kReaderToken).get(), list, &at_rg).ok());
  ids.clear();
  for (const v1::RoleAssignment& a : at_rg.role_assignments()) ids.insert(Lower(a.role_assignment_id()));
  EXPECT_TRUE(ids.count(Lower(contributor.role_assignment().role_assignment_id())));

  // Revoke by id, then by triple; a second revoke finds nothing and still succeeds.
  v1::RevokeRoleRequest revoke_id;
  revoke_id.set_customer_id(c.id);
  revoke_id.set_role_assignment_id(reader.role_assignment().role_assignment_id());
  v1::RevokeRoleResponse revoked;
  status = h_->access_stub->RevokeRole(As(kAdminToken).get(), revoke_id, &revoked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(revoked.already_absent());
  ASSERT_TRUE(h_->access_stub->RevokeRole(As(kAdminToken).get(), revoke_id, &revoked).ok());
  EXPECT_TRUE(revoked.already_absent());

  v1::RevokeRoleRequest revoke_triple;
  revoke_triple.set_customer_id(c.id);
  v1::RoleAssignmentTriple& triple = *revoke_triple.mutable_triple();
  triple.set_azure_subscription_id(azure);
  triple.set_resource_group("rg-web");
  triple.mutable_principal()->set_user_principal_name(alice.user_principal_name);
  triple.mutable_role()->set_role_name("contributor");
  status = h_->access_stub->RevokeRole(As(kAdminToken).get(), revoke_triple, &revoked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(revoked.already_absent());
  EXPECT_EQ(Lower(revoked.role_assignment().role_assignment_id()), Lower(contributor.role_assignment().role_assignment_id()));

  stored = h_->services().role_assignments();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].principal_id, c.users[1].id);

  // Three assignments and two revokes, each one audit line naming the customer.
  int audited = 0;
  for (const std::string& line : h_->AuditLines()) {
    if (absl::StrContains(line, c.id) && (absl::StrContains(line, "AssignRole") || absl::StrContains(line, "RevokeRole"))) {
      ++audited;
    }
  }
  EXPECT_GE(audited, 5);
}

TEST_F(WorkflowTest, ReassigningIsIdempotent) {
  const emulator::Customer c = Consented();
  v1::AssignRoleResponse first, again;
  ASSERT_TRUE(h_->access_stub->AssignRole(As(kAdminToken).get(), Assign(c, c.users[0]), &first).ok());
  grpc::Status status = h_->access_stub->AssignRole(As(kAdminToken).get(), Assign(c, c.users[0]), &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(first.already_existed());
  EXPECT_TRUE(again.already_existed());
  EXPECT_EQ(again.role_assignment().role_assignment_id(), first.role_assignment().role_assignment_id());
  EXPECT_EQ(h_->services().role_assignments().size(), 1u);
}

TEST_F(WorkflowTest, ValidateOnlyChangesNothingUpstream) {
  const emulator::Customer c = Consented();
  v1::AssignRoleRequest assign = Assign(c, c.users[0]);
  assign.set_validate_only(true);
  v1::AssignRoleResponse would;
  grpc::Status status = h_->access_stub->AssignRole(As(kAdminToken).get(), assign, &would);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(would.role_assignment().role_assignment_id().empty());
  EXPECT_TRUE(h_->services().role_assignments().empty());

  // The real assignment lands exactly where validate_only said it would.
  assign.set_validate_only(false);
  v1::AssignRoleResponse made;
  ASSERT_TRUE(h_->access_stub->AssignRole(As(kAdminToken).get(), assign, &made).ok());
  EXPECT_EQ(Lower(made.role_assignment().role_assignment_id()), Lower(would.role_assignment().role_assignment_id()));

  v1::RevokeRoleRequest revoke;
  revoke.set_customer_id(c.id);
  revoke.set_role_assignment_id(made.role_assignment().role_assignment_id());
  revoke.set_validate_only(true);
  v1::RevokeRoleResponse revoked;
  status = h_->access_stub->RevokeRole(As(kAdminToken).get(), revoke, &revoked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(revoked.already_absent());
  EXPECT_EQ(h_->services().role_assignments().size(), 1u);

  v1::CreateCustomerUserRequest create;
  create.set_customer_id(c.id);
  create.set_user_principal_name(absl::StrCat("dry.run@", c.domain));
  create.set_display_name("Dry Run");
  create.set_validate_only(true);
  v1::CreateCustomerUserResponse user;
  status = h_->customer_stub->CreateCustomerUser(As(kAdminToken).get(), create, &user);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(user.one_time_password().empty());
  for (const emulator::Customer& now : h_->services().customers()) {
    if (now.id == c.id) {
      EXPECT_EQ(now.users.size(), c.users.size());
    }
  }
}

TEST_F(WorkflowTest, BatchStreamsOneResultPerItemAndASummary) {
  const emulator::Customer c = Consented([](const emulator::Customer& x) { return x.users.size() >= 2; });
  const emulator::Customer other = Consented([&](const emulator::Customer& x) { return x.id != c.id; });
  v1::BatchAssignRolesRequest request;
  *request.add_items() = Assign(c, c.users[0]);                     // 0: created
  *request.add_items() = Assign(other, other.users[0]);             // 1: created, another customer
  v1::AssignRoleRequest not_owned = Assign(c, c.users[1]);
  not_owned.set_azure_subscription_id(FirstAzure(other));
  *request.add_items() = not_owned;                                 // 2: not the customer's
  v1::AssignRoleRequest invalid = Assign(c, c.users[1]);
  invalid.set_resource_group("rg/../../other");
  *request.add_items() = invalid;                                   // 3: invalid
  v1::AssignRoleRequest no_role = Assign(c, c.users[1]);
  no_role.mutable_role()->set_role_name("No Such Role");
  *request.add_items() = no_role;                                   // 4: unknown role
  v1::AssignRoleRequest at_rg = Assign(c, c.users[1]);
  at_rg.set_resource_group("rg-data");
  *request.add_items() = at_rg;                                     // 5: created

  auto context = As(kAdminToken);
  auto reader = h_->access_stub->BatchAssignRoles(context.get(), request);
  v1::BatchAssignRolesResponse message;
  std::map<int, v1::BatchAssignRoleResult> items;
  int summaries = 0;
  v1::BatchAssignRolesSummary summary;
  while (reader->Read(&message)) {
    if (message.has_item()) {
      EXPECT_EQ(items.count(message.item().index()), 0u) << "index " << message.item().index() << " twice";
      items[message.item().index()] = message.item();
    }
    if (message.has_summary()) {
      ++summaries;
      summary = message.summary();
    }
  }
  grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(items.size(), 6u);
  EXPECT_EQ(summaries, 1);
  for (int good : {0, 1, 5}) {
    EXPECT_EQ(items[good].error_code(), 0) << good << ": " << items[good].error_message();
    EXPECT_FALSE(items[good].response().role_assignment().role_assignment_id().empty()) << good;
  }
  EXPECT_EQ(items[2].error_reason(), "ERROR_REASON_SUBSCRIPTION_NOT_OWNED_BY_CUSTOMER");
  EXPECT_EQ(items[3].error_code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(items[3].error_reason(), "ERROR_REASON_INVALID_FIELD");
  EXPECT_EQ(items[4].error_reason(), "ERROR_REASON_ROLE_NOT_FOUND");
  EXPECT_EQ(summary.created(), 3);
  EXPECT_EQ(summary.already_existed(), 0);
  EXPECT_EQ(summary.failed(), 3);
  EXPECT_EQ(summary.not_started(), 0);
  EXPECT_EQ(h_->services().role_assignments().size(), 3u);
}

TEST_F(WorkflowTest, TamperedAndForeignPageTokensAreRefusedWithoutAnUpstreamCall) {
  v1::ListCustomersRequest plain;
  plain.set_page_size(3);
  v1::ListCustomersResponse page;
  ASSERT_TRUE(h_->customer_stub->ListCustomers(As(kReaderToken).get(), plain, &page).ok());
  const std::string token = page.next_page_token();
  ASSERT_GT(token.size(), 4u);
  const std::int64_t before = UpstreamRequests();

  std::vector<std::string> tampered;
  for (std::size_t i = 0; i + 2 < token.size(); i += std::max<std::size_t>(1, token.size() / 16)) {
    std::string t = token;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    tampered.push_back(t);
  }
  tampered.push_back(token.substr(0, token.size() / 2));
  tampered.push_back(token + token);
  tampered.push_back("5");
  for (const std::string& t : tampered) {
    v1::ListCustomersRequest r = plain;
    r.set_page_token(t);
    grpc::Status status = h_->customer_stub->ListCustomers(As(kReaderToken).get(), r, &page);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << t;
    EXPECT_EQ(Details(status).reason, "ERROR_REASON_INVALID_PAGE_TOKEN") << t;
  }

  // A token is bound to its request's filter.
  v1::ListCustomersRequest filtered = plain;
  filtered.set_company_name_prefix("Fabrikam");
  filtered.set_page_token(token);
  grpc::Status status = h_->customer_stub->ListCustomers(As(kReaderToken).get(), filtered, &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Details(status).reason, "ERROR_REASON_INVALID_PAGE_TOKEN");

  // A customers token is no users token.
  v1::ListCustomerUsersRequest users;
  users.set_customer_id(Consented().id);
  users.set_page_token(token);
  v1::ListCustomerUsersResponse listed;
  status = h_->customer_stub->ListCustomerUsers(As(kReaderToken).get(), users, &listed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(UpstreamRequests(), before);
}

TEST_F(WorkflowTest, CallersAreAuthenticatedThenAuthorized) {
  const emulator::Customer c = Consented();
  const std::int64_t before = UpstreamRequests();
  v1::AssignRoleResponse response;
  grpc::Status status = h_->access_stub->AssignRole(As(kStrangerToken).get(), Assign(c, c.users[0]), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  auto anonymous = std::make_unique<grpc::ClientContext>();
  v1::GetCustomerRequest get;
  get.set_customer_id(c.id);
  v1::GetCustomerResponse customer;
  status = h_->customer_stub->GetCustomer(anonymous.get(), get, &customer);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  status = h_->access_stub->AssignRole(As(kReaderToken).get(), Assign(c, c.users[0]), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Details(status).reason, "ERROR_REASON_CALLER_NOT_PERMITTED");
  v1::CreateCustomerUserRequest create;
  create.set_customer_id(c.id);
  create.set_user_principal_name(absl::StrCat("nope@", c.domain));
  create.set_display_name("Nope");
  v1::CreateCustomerUserResponse created;
  status = h_->customer_stub->CreateCustomerUser(As(kReaderToken).get(), create, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(UpstreamRequests(), before);
  EXPECT_TRUE(h_->services().role_assignments().empty());

  // Denied mutations are audited too.
  int denied = 0;
  for (const std::string& line : h_->AuditLines()) {
    if (absl::StrContains(line, "PERMISSION_DENIED") && absl::StrContains(line, "reader")) ++denied;
  }
  EXPECT_EQ(denied, 2);
}

// ARM does not see a user for a while after Graph created it; principalType and retries ride it out.
class ReplicationWindowTest : public WorkflowTest {
 protected:
  HarnessOptions Options() override {
    HarnessOptions options;
    options.emulator.services.principal_replication_delay = absl::Milliseconds(1500);
    options.principal_not_found_backoff_ms = 100;
    return options;
  }
};

TEST_F(ReplicationWindowTest, AUserAssignedRightAfterCreationGetsTheRole) {
  const emulator::Customer c = Consented();
  v1::CreateCustomerUserRequest create;
  create.set_customer_id(c.id);
  create.set_user_principal_name(absl::StrCat("just.hired@", c.domain));
  create.set_display_name("Just Hired");
  v1::CreateCustomerUserResponse created;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(h_->customer_stub->CreateCustomerUser(As(kAdminToken).get(), create, &created).ok());
  v1::AssignRoleRequest assign;
  assign.set_customer_id(c.id);
  assign.set_azure_subscription_id(FirstAzure(c));
  assign.mutable_principal()->set_user_principal_name(create.user_principal_name());
  assign.mutable_role()->set_role_name("Reader");
  v1::AssignRoleResponse assigned;
  grpc::Status status = h_->access_stub->AssignRole(As(kAdminToken).get(), assign, &assigned);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(assigned.role_assignment().principal_id(), created.user().object_id());
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  std::vector<emulator::RoleAssignment> stored = h_->services().role_assignments();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].principal_id, Lower(created.user().object_id()));
  // Declaring the type is what lets ARM accept a principal it cannot see yet (CONTRACTS.md §5.7).
  EXPECT_EQ(stored[0].principal_type, "User");
}

}  // namespace
}  // namespace partner::testing
