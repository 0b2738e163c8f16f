// partnerctl end to end against a sandbox partner-gateway: the README tour (find the customer,
// list its Azure subscriptions, assign a role, see it, revoke it) in both output modes, every
// subcommand, the documented exit codes and a resumed batch.
#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace partner::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Json = nlohmann::json;

constexpr char kCompany[] = "Fabrikam Toys Ltd";

class PartnerctlTest : public ::testing::Test {
 protected:
  void SetUp() override { StartGateway({"--sandbox", "--listen", "127.0.0.1:0"}); }
  void TearDown() override { StopGateway(); }

  void StartGateway(const std::vector<std::string>& args) {
    StopGateway();
    gateway_ = std::make_unique<Subprocess>(PARTNER_GATEWAY_BINARY, args,
                                            SubprocessOptions{.stderr_file = "/dev/null"});
    const std::string first = gateway_->ReadLine();
    static const std::regex kLine(R"(^partner-gateway: listening on (\S+:\d+) .*$)");
    std::smatch m;
    ASSERT_TRUE(std::regex_match(first, m, kLine)) << first;
    target_ = m[1];
  }

  // SIGTERM, as an operator stops it, so the sandbox removes its files (a SIGKILL would leave them).
  void StopGateway() {
    if (gateway_ == nullptr) return;
    gateway_->Signal(SIGTERM);
    EXPECT_EQ(gateway_->Wait().exit_code, 0);
    gateway_.reset();
  }

  CommandResult Ctl(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), {"--target", target_});
    return RunCommand(PARTNERCTL_BINARY, args, env);
  }

  // Runs a command that must succeed with --output json and returns its document.
  Json CtlJson(std::vector<std::string> args) {
    args.insert(args.begin(), {"--output", "json"});
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Json doc = Json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(doc.is_discarded()) << r.out;
    return doc;
  }

  // The tour's first two steps: the customer by name, then its Azure subscription.
  void FindCustomerAndSubscription() {
    Json customers = CtlJson({"customers", "list", "--name-prefix", kCompany, "--all"});
    ASSERT_EQ(customers["customers"].size(), 1u) << customers.dump();
    customer_ = customers["customers"][0]["customerId"].get<std::string>();
    Json azure = CtlJson({"subscriptions", "azure", "--customer", customer_});
    ASSERT_GE(azure["azureSubscriptions"].size(), 1u) << azure.dump();
    subscription_ = azure["azureSubscriptions"][0]["azureSubscriptionId"].get<std::string>();
  }

  std::vector<std::string> Upns(size_t count) {
    Json users = CtlJson({"users", "list", "--customer", customer_});
    std::vector<std::string> upns;
    for (const Json& u : users["users"]) {
      if (upns.size() < count) upns.push_back(u["userPrincipalName"].get<std::string>());
    }
    EXPECT_EQ(upns.size(), count);
    return upns;
  }

  std::unique_ptr<Subprocess> gateway_;
  std::string target_;
  std::string customer_;
  std::string subscription_;
};

TEST_F(PartnerctlTest, ReadmeTourInJson) {
  ASSERT_NO_FATAL_FAILURE(FindCustomerAndSubscription());
  const std::string upn = Upns(1)[0];
  const std::vector<std::string> scope = {"--customer", customer_, "--subscription", subscription_};
  auto with = [&](std::vector<std::string> head, std::vector<std::string> tail) {
    head.insert(head.end(), scope.begin(), scope.end());
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
  };

  Json assigned = CtlJson(with({"roles", "assign"}, {"--user", upn, "--role", "Reader"}));
  EXPECT_EQ(assigned["alreadyExisted"], false);
  EXPECT_EQ(assigned["roleAssignment"]["roleName"], "Reader");
  const std::string id = assigned["roleAssignment"]["roleAssignmentId"].get<std::string>();
  EXPECT_THAT(id, StartsWith("/subscriptions/" + subscription_));

  Json again = CtlJson(with({"roles", "assign"}, {"--user", upn, "--role", "Reader"}));
  EXPECT_EQ(again["alreadyExisted"], true);
  EXPECT_EQ(again["roleAssignment"]["roleAssignmentId"], id);

  Json listed = CtlJson(with({"roles", "assignments"}, {"--user", upn}));
  ASSERT_EQ(listed["roleAssignments"].size(), 1u) << listed.dump();
  EXPECT_EQ(listed["roleAssignments"][0]["roleAssignmentId"], id);

  Json revoked = CtlJson(with({"roles", "revoke"}, {"--user", upn, "--role", "Reader"}));
  EXPECT_EQ(revoked["alreadyAbsent"], false);
  EXPECT_EQ(revoked["roleAssignment"]["roleAssignmentId"], id);
  Json absent = CtlJson({"roles", "revoke", "--customer", customer_, "--assignment-id", id});
  EXPECT_EQ(absent["alreadyAbsent"], true);

  Json after = CtlJson(with({"roles", "assignments"}, {"--user", upn}));
  EXPECT_TRUE(!after.contains("roleAssignments") || after["roleAssignments"].empty())
      << after.dump();
}

TEST_F(PartnerctlTest, ReadmeTourInTables) {
  ASSERT_NO_FATAL_FAILURE(FindCustomerAndSubscription());
  const std::string upn = Upns(1)[0];

  CommandResult list = Ctl({"customers", "list", "--all"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::vector<std::string> lines;
  for (size_t start = 0, end; (end = list.out.find('\n', start)) != std::string::npos;
       start = end + 1) {
    lines.push_back(list.out.substr(start, end - start));
  }
  ASSERT_GT(lines.size(), 2u);
  EXPECT_THAT(lines[0], StartsWith("CUSTOMER ID  "));
  // Every row has its company name in the column under the header's.
  const size_t column = lines[0].find("COMPANY NAME");
  ASSERT_NE(column, std::string::npos);
  for (const std::string& line : lines) {
    ASSERT_GT(line.size(), column) << line;
    EXPECT_EQ(line[column - 1], ' ') << line;
    EXPECT_NE(line[column], ' ') << line;
  }
  EXPECT_THAT(list.out, HasSubstr(kCompany));

  CommandResult azure = Ctl({"subscriptions", "azure", "--customer", customer_});
  EXPECT_EQ(azure.exit_code, 0) << azure.err;
  EXPECT_THAT(azure.out, HasSubstr(subscription_));

  const std::vector<std::string> args = {"--customer", customer_, "--subscription", subscription_,
                                         "--user",     upn,       "--role",         "Reader"};
  auto roles = [&](const std::string& verb) {
    std::vector<std::string> a = {"roles", verb};
    a.insert(a.end(), args.begin(), args.end());
    return Ctl(a);
  };
  CommandResult assign = roles("assign");
  EXPECT_EQ(assign.exit_code, 0) << assign.err;
  EXPECT_THAT(assign.out, HasSubstr("assigned"));
  CommandResult again = roles("assign");
  EXPECT_THAT(again.out, HasSubstr("already existed"));
  CommandResult seen = Ctl({"roles", "assignments", "--customer", customer_, "--subscription",
                            subscription_, "--user", upn});
  EXPECT_EQ(seen.exit_code, 0) << seen.err;
  EXPECT_THAT(seen.out, HasSubstr("Reader"));
  CommandResult revoke = roles("revoke");
  EXPECT_EQ(revoke.exit_code, 0) << revoke.err;
  EXPECT_THAT(revoke.out, HasSubstr("revoked"));
  CommandResult none = Ctl({"roles", "assignments", "--customer", customer_, "--subscription",
                            subscription_, "--user", upn});
  EXPECT_THAT(none.out, HasSubstr("No role assignments found."));
}

TEST_F(PartnerctlTest, EveryReadSubcommandInJson) {
  ASSERT_NO_FATAL_FAILURE(FindCustomerAndSubscription());
  Json customer = CtlJson({"customers", "get", customer_});
  EXPECT_EQ(customer["customer"]["companyName"], kCompany);

  Json page = CtlJson({"customers", "list", "--page-size", "2"});
  EXPECT_EQ(page["customers"].size(), 2u);
  EXPECT_FALSE(page["nextPageToken"].get<std::string>().empty());
  Json all = CtlJson({"customers", "list", "--all", "--page-size", "7"});
  std::set<std::string> ids;
  for (const Json& c : all["customers"]) ids.insert(c["customerId"].get<std::string>());
  EXPECT_EQ(ids.size(), all["customers"].size()) << "an item was returned twice";
  EXPECT_GT(ids.size(), 7u);

  Json subscriptions = CtlJson({"subscriptions", "list", "--customer", customer_});
  ASSERT_GE(subscriptions["subscriptions"].size(), 1u);
  const std::string sub = subscriptions["subscriptions"][0]["subscriptionId"].get<std::string>();
  Json one = CtlJson({"subscriptions", "get", "--customer", customer_, sub});
  EXPECT_EQ(one["subscription"]["subscriptionId"], sub);

  Json definitions =
      CtlJson({"roles", "definitions", "--customer", customer_, "--subscription", subscription_});
  std::set<std::string> names;
  for (const Json& d : definitions["roleDefinitions"])
    names.insert(d["roleName"].get<std::string>());
  EXPECT_TRUE(names.contains("Reader"));
}

TEST_F(PartnerctlTest, EveryOtherCommandInTables) {
  ASSERT_NO_FATAL_FAILURE(FindCustomerAndSubscription());
  Json subscriptions = CtlJson({"subscriptions", "list", "--customer", customer_});
  ASSERT_GE(subscriptions["subscriptions"].size(), 1u);
  const std::string sub = subscriptions["subscriptions"][0]["subscriptionId"].get<std::string>();
  struct Case {
    std::vector<std::string> args;
    std::string first_line_prefix;
    std::string contains;
  };
  const std::vector<Case> cases = {
      {{"customers", "get", customer_}, "FIELD  ", kCompany},
      {{"subscriptions", "list", "--customer", customer_}, "SUBSCRIPTION ID  ", sub},
      {{"subscriptions", "get", "--customer", customer_, sub}, "FIELD  ", sub},
      {{"roles", "definitions", "--customer", customer_, "--subscription", subscription_},
       "ROLE  ",
       "acdd72a7-3385-48ef-bd42-f606fba81ae7"},
      {{"users", "create", "--customer", customer_, "--upn",
        "ola.berg@fabrikamtoys.onmicrosoft.com", "--display-name", "Ola Berg"},
       "FIELD  ",
       "one-time password"},
      {{"roles", "assign", "--customer", customer_, "--subscription", subscription_, "--user",
        Upns(1)[0], "--role", "Reader", "--dry-run"},
       "FIELD  ",
       "dry run: would assign"},
  };
  for (const Case& c : cases) {
    CommandResult r = Ctl(c.args);
    EXPECT_EQ(r.exit_code, 0) << ::testing::PrintToString(c.args) << r.err;
    EXPECT_THAT(r.out, StartsWith(c.first_line_prefix)) << r.out;
    EXPECT_THAT(r.out, HasSubstr(c.contains)) << r.out;
  }
}

TEST_F(PartnerctlTest, UsersCreateThenListed) {
  ASSERT_NO_FATAL_FAILURE(FindCustomerAndSubscription());
  const std::string upn = "nia.okafor@fabrikamtoys.onmicrosoft.com";
  Json created = CtlJson(
      {"users", "create", "--customer", customer_, "--upn", upn, "--display-name", "Nia Okafor"});
  EXPECT_EQ(created["user"]["userPrincipalName"], upn);
  EXPECT_FALSE(created["oneTimePassword"].get<std::string>().empty());
  CommandResult list = Ctl({"users", "list", "--customer", customer_});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr(upn));
  EXPECT_THAT(list.out, StartsWith("OBJECT ID  "));
}

TEST_F(PartnerctlTest, UsersSearchByPrefixInJsonAndTables) {
  ASSERT_NO_FATAL_FAILURE(FindCustomerAndSubscription());
  const std::string upn = "ciara.obrien@fabrikamtoys.onmicrosoft.com";
  CtlJson({"users", "create", "--customer", customer_, "--upn", upn, "--display-name", "Ciara O'Brien"});
  Json all = CtlJson({"users", "list", "--customer", customer_});
  ASSERT_GT(all["users"].size(), 1u);

  // Display name "Ciara O'Brien", any letter case; a UPN prefix finds the same user.
  for (const std::string& prefix : {std::string("ciara o'B"), std::string("CIARA.OB")}) {
    Json found = CtlJson({"users", "list", "--customer", customer_, "--search", prefix});
    ASSERT_EQ(found["users"].size(), 1u) << prefix << found.dump();
    EXPECT_EQ(found["users"][0]["userPrincipalName"], upn) << prefix;
  }
  // Every user whose UPN starts like the first one's, and nobody else.
  const std::string first = all["users"][0]["userPrincipalName"].get<std::string>();
  const std::string initial = first.substr(0, 1);
  size_t expected = 0;
  for (const Json& u : all["users"]) {
    const std::string name = u["displayName"].get<std::string>();
    const std::string principal = u["userPrincipalName"].get<std::string>();
    if (absl::StartsWithIgnoreCase(name, initial) || absl::StartsWithIgnoreCase(principal, initial)) ++expected;
  }
  CommandResult table = Ctl({"users", "list", "--customer", customer_, "--search", initial});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, StartsWith("OBJECT ID  "));
  EXPECT_THAT(table.out, HasSubstr(first));
  EXPECT_EQ(static_cast<size_t>(std::count(table.out.begin(), table.out.end(), '\n')), expected + 1) << table.out;

  Json none = CtlJson({"users", "list", "--customer", customer_, "--search", "zzz-nobody"});
  EXPECT_TRUE(!none.contains("users") || none["users"].empty()) << none.dump();
  CommandResult bad = Ctl({"users", "list", "--customer", customer_, "--search", std::string(257, 'a')});
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_THAT(bad.err, HasSubstr("search_prefix"));
}

TEST_F(PartnerctlTest, BadArgumentsExitTwo) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"customers"},
      {"users", "list"},
      {"--output", "yaml", "customers", "list"},
      {"--timeout", "soon", "customers", "list"},
      {"customers", "list", "--name-prefix", "A", "--domain-prefix", "b"},
      {"roles", "assign", "--customer", "c", "--subscription", "s", "--role", "Reader"},
      {"roles", "assign", "--customer", "c", "--subscription", "s", "--user", "u", "--object-id",
       "o", "--role", "Reader"},
      {"roles", "revoke", "--customer", "c", "--subscription", "s", "--user", "u"},
      {"roles", "batch-assign", "--file", "/nonexistent/file.csv"},
      {"customers", "get", "not-a-guid"},
  };
  for (const std::vector<std::string>& args : bad) {
    CommandResult r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(args) << "\n" << r.err;
    EXPECT_FALSE(r.err.empty()) << ::testing::PrintToString(args);
    EXPECT_TRUE(r.out.empty()) << ::testing::PrintToString(args) << r.out;
  }
}

TEST_F(PartnerctlTest, UnknownCustomerIsNotFound) {
  CommandResult r = Ctl({"customers", "get", "11111111-2222-3333-4444-555555555555"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));
  EXPECT_THAT(r.err, HasSubstr("reason: ERROR_REASON_NOT_FOUND"));
  EXPECT_THAT(r.err, HasSubstr("correlation id: "));
  EXPECT_TRUE(r.out.empty()) << r.out;
  CommandResult json = Ctl({"-o", "json", "subscriptions", "azure", "--customer",
                            "11111111-2222-3333-4444-555555555555"});
  EXPECT_EQ(json.exit_code, 3);
  EXPECT_THAT(json.err, HasSubstr("NOT_FOUND"));
}

TEST_F(PartnerctlTest, AnotherCustomersSubscriptionIsAFailedPrecondition) {
  ASSERT_NO_FATAL_FAILURE(FindCustomerAndSubscription());
  Json others = CtlJson({"customers", "list", "--name-prefix", "Fabrikam Bikes"});
  ASSERT_EQ(others["customers"].size(), 1u);
  const std::string other = others["customers"][0]["customerId"].get<std::string>();
  CommandResult r =
      Ctl({"roles", "definitions", "--customer", other, "--subscription", subscription_});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(r.err, HasSubstr("reason: ERROR_REASON_SUBSCRIPTION_NOT_OWNED_BY_CUSTOMER"));
}

TEST_F(PartnerctlTest, ArmStateOnlyWithTheFlagInJsonAndTables) {
  ASSERT_NO_FATAL_FAILURE(FindCustomerAndSubscription());
  Json plain = CtlJson({"subscriptions", "azure", "--customer", customer_});
  for (const Json& a : plain["azureSubscriptions"]) EXPECT_EQ(a["armState"], "") << a.dump();
  Json with = CtlJson({"subscriptions", "azure", "--customer", customer_, "--arm-state"});
  ASSERT_EQ(with["azureSubscriptions"].size(), plain["azureSubscriptions"].size()) << with.dump();
  std::map<std::string, std::string> states;
  for (const Json& a : with["azureSubscriptions"]) {
    const std::string state = a["armState"].get<std::string>();
    EXPECT_THAT(state, ::testing::AnyOf("Enabled", "Warned", "PastDue", "Disabled")) << a.dump();
    states[a["azureSubscriptionId"].get<std::string>()] = state;
  }

  CommandResult table = Ctl({"subscriptions", "azure", "--customer", customer_, "--arm-state"});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  std::istringstream lines(table.out);
  std::string header;
  std::getline(lines, header);
  EXPECT_THAT(header, ::testing::EndsWith("ARM STATE"));
  size_t rows = 0;
  for (std::string line; std::getline(lines, line);) {
    const std::string id = line.substr(0, line.find(' '));
    ASSERT_TRUE(states.contains(id)) << line;
    EXPECT_THAT(line, ::testing::EndsWith("  " + states[id]));
    ++rows;
  }
  EXPECT_EQ(rows, states.size());
  CommandResult without = Ctl({"subscriptions", "azure", "--customer", customer_});
  EXPECT_THAT(without.out, ::testing::Not(HasSubstr("ARM STATE")));
}

TEST_F(PartnerctlTest, UnreachableGatewayIsUnavailable) {
  CommandResult r = RunCommand(PARTNERCTL_BINARY,
                               {"--target", "127.0.0.1:1", "--timeout", "2s", "customers", "list"});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_THAT(r.err, ::testing::AnyOf(HasSubstr("UNAVAILABLE"), HasSubstr("DEADLINE_EXCEEDED")));
}

TEST_F(PartnerctlTest, TargetFromEnvironmentAndHelpEverywhere) {
  CommandResult r = RunCommand(PARTNERCTL_BINARY, {"customers", "list", "--page-size", "1"},
                               {"PARTNERCTL_TARGET=" + target_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("CUSTOMER ID"));
  CommandResult help = RunCommand(PARTNERCTL_BINARY, {"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("Exit codes:"));
  CommandResult sub_help = RunCommand(PARTNERCTL_BINARY, {"roles", "assign", "--help"});
  EXPECT_EQ(sub_help.exit_code, 0);
  EXPECT_THAT(sub_help.out, HasSubstr("--role-id"));
  EXPECT_THAT(sub_help.out, HasSubstr("Example"));
}

// The sandbox answers a six-item batch before a killed partnerctl's signal lands, so a batch
// interrupted midway needs a slow upstream: a standalone emulator whose every answer takes 100 ms,
// behind a gateway running one item at a time. Killed as the first item is reported, the batch
// leaves items that were never started.
class PartnerctlSlowUpstreamTest : public PartnerctlTest {
 protected:
  void SetUp() override {
    const std::string& dir = dir_.path();
    ASSERT_FALSE(dir.empty()) << "no temporary directory";
    emulator_ = std::make_unique<Subprocess>(
        PARTNER_EMULATOR_BINARY,
        std::vector<std::string>{"--listen", "127.0.0.1:0", "--https", "--ca_out", dir + "/ca.pem",
                                 "--latency_ms", "100"},
        SubprocessOptions{.stderr_file = "/dev/null"});
    const std::string first = emulator_->ReadLine();
    std::smatch m;
    ASSERT_TRUE(
        std::regex_match(first, m, std::regex(R"(^partner-emulator listening on (\S+) .*$)")))
        << first;
    const std::string url = m[1];
    auto write = [&](const std::string& name, const std::string& content) {
      std::ofstream(dir + "/" + name) << content;
      return dir + "/" + name;
    };
    // The partner tenant, app and secret the emulator accepts (emulator/README.md).
    const std::string config = write(
        "gateway.textproto",
        "listen_addresses: \"127.0.0.1:0\"\nadmin_address: \"127.0.0.1:0\"\n"
        "partner_tenant_id: \"5c1b2a3d-0e9f-4a8b-9c7d-6e5f4a3b2c1d\"\n"
        "app_id: \"0d7e2f4a-91c3-4b6e-8a55-3f1e9c2b7d60\"\n"
        "credential { client_secret_file: \"" +
            write("secret", "sandbox-client-secret\n") + "\" }\npage_token_key_file: \"" +
            write("key", std::string(32, 'k')) + "\"\naudit_log_path: \"" + dir +
            "/audit.jsonl\"\ncallers { allow_unauthenticated: true }\n"
            "upstreams { authority_url: \"" +
            url + "\" partner_center_url: \"" + url + "\" arm_url: \"" + url + "\" graph_url: \"" +
            url + "\" ca_bundle_file: \"" + dir + "/ca.pem\" }\nlimits { batch_concurrency: 1 }\n");
    StartGateway({"--config", config});
  }

  TempDir dir_;
  std::unique_ptr<Subprocess> emulator_;
};

TEST_F(PartnerctlSlowUpstreamTest, BatchInterruptedMidwayThenRerunDoesEveryItemOnce) {
  ASSERT_NO_FATAL_FAILURE(FindCustomerAndSubscription());
  const std::vector<std::string> upns = Upns(3);
  std::string csv = "customer,subscription,user,role\n";
  for (const std::string& upn : upns) {
    for (const char* role : {"Reader", "Contributor"}) {
      csv += customer_ + "," + subscription_ + "," + upn + "," + role + "\n";
    }
  }
  const std::string file = dir_.Write("batch.csv", csv);

  {  // Interrupted as soon as the first item is reported.
    Subprocess first(PARTNERCTL_BINARY, {"--target", target_, "--output", "json", "roles",
                                         "batch-assign", "--file", file});
    EXPECT_THAT(first.ReadLine(), HasSubstr("\"item\""));
    first.Signal(SIGKILL);
    EXPECT_EQ(first.Wait().exit_code, 128 + SIGKILL);
  }

  // The rerun finishes the work: what the first run did already exists, the rest is assigned.
  CommandResult rerun = Ctl({"--output", "json", "roles", "batch-assign", "--file", file});
  EXPECT_EQ(rerun.exit_code, 0) << rerun.out << rerun.err;
  Json rerun_summary;
  std::set<int64_t> indexes;
  for (size_t start = 0, end; (end = rerun.out.find('\n', start)) != std::string::npos;
       start = end + 1) {
    Json line = Json::parse(rerun.out.substr(start, end - start), nullptr, false);
    ASSERT_FALSE(line.is_discarded());
    if (line.contains("item")) {
      indexes.insert(line["item"]["index"].get<int64_t>());
    } else {
      rerun_summary = line["summary"];
    }
  }
  EXPECT_EQ(indexes, (std::set<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_GE(rerun_summary["created"].get<int>(), 1) << "the first run was not interrupted midway";
  EXPECT_GE(rerun_summary["alreadyExisted"].get<int>(), 1) << rerun_summary.dump();
  EXPECT_EQ(rerun_summary["failed"], 0);
  EXPECT_EQ(rerun_summary["notStarted"], 0);

  CommandResult third = Ctl({"roles", "batch-assign", "--file", file});
  EXPECT_EQ(third.exit_code, 0) << third.err;
  EXPECT_THAT(third.out, HasSubstr("Summary: 0 assigned, 6 already existed, 0 failed"));

  for (const std::string& upn : upns) {
    Json listed = CtlJson({"roles", "assignments", "--customer", customer_, "--subscription",
                           subscription_, "--user", upn});
    std::multiset<std::string> roles;
    for (const Json& a : listed["roleAssignments"]) roles.insert(a["roleName"].get<std::string>());
    EXPECT_EQ(roles, (std::multiset<std::string>{"Contributor", "Reader"})) << upn;
  }
}

TEST_F(PartnerctlTest, BatchFromJsonLinesWithAFailedItemExitsSix) {
  ASSERT_NO_FATAL_FAILURE(FindCustomerAndSubscription());
  const std::string upn = Upns(1)[0];
  auto item = [&](const std::string& user) {
    return R"({"customerId":")" + customer_ + R"(","azureSubscriptionId":")" + subscription_ +
           R"(","principal":{"userPrincipalName":")" + user +
           R"("},"role":{"roleName":"Reader"}})" + "\n";
  };
  TempDir temp;
  const std::string file = temp.Write("batch.jsonl", item(upn) + item("ghost@fabrikamtoys.onmicrosoft.com"));
  CommandResult r = Ctl({"roles", "batch-assign", "--file", file});
  EXPECT_EQ(r.exit_code, 6) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("ERROR_REASON_PRINCIPAL_NOT_FOUND"));
  EXPECT_THAT(r.out, HasSubstr("1 assigned, 0 already existed, 1 failed"));
}

// A gateway that authenticates callers (not the sandbox): the token flags and exit code 4.
// Admission comes before any upstream call, so the default upstreams are never reached.
TEST(PartnerctlAuthTest, TokenFlagsAndPermissionErrorsExitFour) {
  TempDir temp;
  const std::string& dir = temp.path();
  ASSERT_FALSE(dir.empty()) << "no temporary directory";
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir + "/" + name) << content;
    return dir + "/" + name;
  };
  const std::string tenant = "0f3e6a51-7c1b-4c53-9b6d-2a4f7e1d9c10";
  // sha256("partnerctl-test-token")
  const std::string digest = "d01eb5d6eca6ad5ad63bf6efd2dbc1cb99674188d070351de53dba646f3b340d";
  const std::string config =
      write("gateway.textproto",
            "listen_addresses: \"127.0.0.1:0\"\nadmin_address: \"127.0.0.1:0\"\n"
            "partner_tenant_id: \"" +
                tenant + "\"\napp_id: \"" + tenant +
                "\"\n"
                "credential { client_secret_file: \"" +
                write("secret", "s3cret\n") +
                "\" }\n"
                "page_token_key_file: \"" +
                write("key", std::string(32, 'k')) +
                "\"\n"
                "audit_log_path: \"" +
                dir +
                "/audit.jsonl\"\n"
                "callers { callers { name: \"reader\" bearer_token_sha256: \"" +
                digest + "\" permissions: \"customers.read\" } }\n");
  Subprocess gateway(PARTNER_GATEWAY_BINARY, {"--config", config}, {.stderr_file = "/dev/null"});
  std::smatch m;
  const std::string first = gateway.ReadLine();
  ASSERT_TRUE(
      std::regex_match(first, m, std::regex(R"(^partner-gateway: listening on (\S+:\d+) .*$)")))
      << first;
  const std::string target = m[1];

  CommandResult anonymous =
      RunCommand(PARTNERCTL_BINARY, {"--target", target, "customers", "get", tenant});
  EXPECT_EQ(anonymous.exit_code, 4) << anonymous.err;
  EXPECT_THAT(anonymous.err, HasSubstr("UNAUTHENTICATED"));

  CommandResult wrong =
      RunCommand(PARTNERCTL_BINARY, {"--target", target, "customers", "get", tenant},
                 {"PARTNERCTL_TOKEN=not-the-token"});
  EXPECT_EQ(wrong.exit_code, 4) << wrong.err;
  EXPECT_THAT(wrong.err, HasSubstr("reason: ERROR_REASON_UNAUTHENTICATED"));

  CommandResult denied =
      RunCommand(PARTNERCTL_BINARY,
                 {"--target", target, "--token", "partnerctl-test-token", "roles", "assign",
                  "--customer", tenant, "--subscription", "e099ec6c-d736-4ca5-85e7-bb0f12278575",
                  "--user", "a@b.com", "--role", "Reader"});
  EXPECT_EQ(denied.exit_code, 4) << denied.err;
  EXPECT_THAT(denied.err, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(denied.err, HasSubstr("reason: ERROR_REASON_CALLER_NOT_PERMITTED"));
}

// Every flag a command's --help documents is offered by the bash completion script.
TEST(PartnerctlCompletionTest, OffersEveryDocumentedFlag) {
  const std::vector<std::pair<std::string, std::string>> commands = {
      {"customers", "list"},      {"customers", "get"},      {"users", "list"},
      {"users", "create"},        {"subscriptions", "list"}, {"subscriptions", "get"},
      {"subscriptions", "azure"}, {"roles", "definitions"},  {"roles", "assign"},
      {"roles", "assignments"},   {"roles", "revoke"},       {"roles", "batch-assign"}};
  // Option lines of the help: "  --flag ..." or "  -o,--flag ...".
  static const std::regex kFlag(R"(^\s+(?:-[a-z],)?(--[a-z][a-z-]*))");
  int flags = 0;
  for (const auto& [group, command] : commands) {
    CommandResult help = RunCommand(PARTNERCTL_BINARY, {group, command, "--help"});
    ASSERT_EQ(help.exit_code, 0) << group << " " << command;
    CommandResult completion = RunCommand(
        "/bin/bash", {"-c", std::string("source ") + PARTNERCTL_COMPLETION +
                                "; COMP_WORDS=(partnerctl " + group + " " + command +
                                " --); COMP_CWORD=3; _partnerctl; echo \" ${COMPREPLY[*]} \""});
    ASSERT_EQ(completion.exit_code, 0) << completion.err;
    std::istringstream lines(help.out);
    for (std::string line; std::getline(lines, line);) {
      std::smatch m;
      if (!std::regex_search(line, m, kFlag) || m[1] == "--help") continue;
      ++flags;
      EXPECT_THAT(completion.out, HasSubstr(" " + std::string(m[1]) + " "))
          << group << " " << command;
    }
  }
  EXPECT_GT(flags, 30);
}

}  // namespace
}  // namespace partner::testing
