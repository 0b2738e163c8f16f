// partnerctl's pieces without a gateway: batch files, tables, labels, timeouts, exit codes and
// usage errors.
#include <map>
#include <sstream>
#include <string>

#include "client/cli/app.h"
#include "client/cli/batch_file.h"
#include "client/cli/output.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "partner/client/error_details.h"
#include "tests/testing/status_matchers.h"

namespace partner::cli {
namespace {

using ::partner::testing::IsOk;
using ::partner::testing::StatusIs;
using ::testing::HasSubstr;

TEST(BatchFileTest, CsvWithHeaderInAnyOrderQuotesAndAliases) {
  auto items = ParseBatch(
      "Role,UPN,customer_id,subscription,resource_group,description,principal_type\n"
      "Reader,mila@f.com,C1,S1,,\"first, with comma\",user\n"
      "\n"
      "# a comment\n"
      "Contributor,kai@f.com,C2,S2,rg-1,\"say \"\"hi\"\"\",group\n");
  ASSERT_THAT(items.status(), IsOk());
  ASSERT_EQ(items->size(), 2u);
  const v1::AssignRoleRequest& first = (*items)[0];
  EXPECT_EQ(first.customer_id(), "C1");
  EXPECT_EQ(first.azure_subscription_id(), "S1");
  EXPECT_EQ(first.principal().user_principal_name(), "mila@f.com");
  EXPECT_EQ(first.role().role_name(), "Reader");
  EXPECT_EQ(first.description(), "first, with comma");
  EXPECT_EQ(first.principal_type(), v1::PRINCIPAL_TYPE_USER);
  EXPECT_EQ((*items)[1].resource_group(), "rg-1");
  EXPECT_EQ((*items)[1].description(), "say \"hi\"");
  EXPECT_EQ((*items)[1].principal_type(), v1::PRINCIPAL_TYPE_GROUP);
}

TEST(BatchFileTest, CsvByObjectIdAndRoleId) {
  auto items = ParseBatch("customer,subscription,object_id,role_id\nC,S,OID,RID\n");
  ASSERT_THAT(items.status(), IsOk());
  EXPECT_EQ((*items)[0].principal().object_id(), "OID");
  EXPECT_EQ((*items)[0].role().role_definition_id(), "RID");
}

TEST(BatchFileTest, JsonLines) {
  auto items = ParseBatch(
      R"({"customerId":"C","azureSubscriptionId":"S","principal":{"objectId":"O"},"role":{"roleName":"Reader"}})"
      "\n"
      R"({"customerId":"D","azureSubscriptionId":"T","principal":{"userPrincipalName":"u@x"},"role":{"roleDefinitionId":"R"}})"
      "\n");
  ASSERT_THAT(items.status(), IsOk());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].principal().object_id(), "O");
  EXPECT_EQ((*items)[1].role().role_definition_id(), "R");
}

TEST(BatchFileTest, ErrorsNameTheLine) {
  EXPECT_THAT(ParseBatch("customer,subscription,user,role\nC,S,U\n").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2")));
  EXPECT_THAT(ParseBatch("customer,subscription,user,object_id,role\nC,S,U,O,R\n").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exactly one of user")));
  EXPECT_THAT(ParseBatch("customer,subscription,user\nC,S,U\n").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exactly one of role")));
  EXPECT_THAT(ParseBatch("customer,colour\n").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown column \"colour\"")));
  EXPECT_THAT(ParseBatch("{\"customerId\":\"C\"}\n{not json\n").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2")));
  EXPECT_THAT(ParseBatch("customer,subscription,user,role\n").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no items")));
  EXPECT_THAT(
      ParseBatch("customer,subscription,user,role,principal_type\nC,S,U,R,robot\n").status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("robot")));
}

TEST(TableTest, ColumnsAlignOnTheWidestCellCountingCodePoints) {
  Table table({"ID", "NAME", "X"});
  table.AddRow({"1", "Zürich AG", "a"});
  table.AddRow({"22", "Bo", "b"});
  std::ostringstream out;
  table.Print(out, "things");
  EXPECT_EQ(out.str(),
            "ID  NAME       X\n"
            "1   Zürich AG  a\n"
            "22  Bo         b\n");
  std::ostringstream empty;
  Table({"ID"}).Print(empty, "things");
  EXPECT_EQ(empty.str(), "No things found.\n");
}

TEST(OutputTest, EnumLabels) {
  EXPECT_EQ(EnumLabel("SUBSCRIPTION_KIND_AZURE_PLAN", "SUBSCRIPTION_KIND_"), "azure-plan");
  EXPECT_EQ(EnumLabel("ROLE_TYPE_UNSPECIFIED", "ROLE_TYPE_"), "-");
}

TEST(OutputTest, JsonIsTheProto3MappingWithEveryField) {
  v1::AssignRoleResponse response;
  response.mutable_role_assignment()->set_role_name("Reader");
  const std::string json = ToJson(response, false);
  EXPECT_THAT(json, HasSubstr("\"roleName\":\"Reader\""));
  EXPECT_THAT(json, HasSubstr("\"alreadyExisted\":false"));
  EXPECT_EQ(json.find('\n'), std::string::npos);
}

TEST(TimeoutTest, Durations) {
  EXPECT_EQ(*ParseTimeout("30s"), std::chrono::seconds(30));
  EXPECT_EQ(*ParseTimeout("2m"), std::chrono::minutes(2));
  EXPECT_EQ(*ParseTimeout("1m30s"), std::chrono::seconds(90));
  EXPECT_EQ(*ParseTimeout("250ms"), std::chrono::milliseconds(250));
  EXPECT_FALSE(ParseTimeout("30").ok());
  EXPECT_FALSE(ParseTimeout("-1s").ok());
  EXPECT_FALSE(ParseTimeout("0s").ok());
}

TEST(ExitCodeTest, DocumentedCodes) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), 0);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("")), 2);
  EXPECT_EQ(ExitCodeFor(absl::NotFoundError("")), 3);
  EXPECT_EQ(ExitCodeFor(absl::PermissionDeniedError("")), 4);
  EXPECT_EQ(ExitCodeFor(absl::UnauthenticatedError("")), 4);
  EXPECT_EQ(ExitCodeFor(absl::UnavailableError("")), 5);
  EXPECT_EQ(ExitCodeFor(absl::DeadlineExceededError("")), 5);
  EXPECT_EQ(ExitCodeFor(absl::ResourceExhaustedError("")), 5);
  EXPECT_EQ(ExitCodeFor(absl::FailedPreconditionError("")), 1);
  EXPECT_EQ(ExitCodeFor(absl::InternalError("")), 1);
}

// `status` with the gateway's error details: an ErrorInfo of `reason` and `metadata`.
absl::Status WithErrorInfo(absl::Status status, const std::string& reason,
                           const std::map<std::string, std::string>& metadata) {
  google::rpc::ErrorInfo info;
  info.set_reason(reason);
  for (const auto& [key, value] : metadata) (*info.mutable_metadata())[key] = value;
  google::rpc::Status details;
  details.add_details()->PackFrom(info);
  status.SetPayload(client::kStatusDetailsPayload, absl::Cord(details.SerializeAsString()));
  return status;
}

std::string Printed(const absl::Status& status) {
  std::ostringstream err;
  PrintError(err, status);
  return err.str();
}

TEST(PrintErrorTest, CodeMessageAndDetails) {
  EXPECT_EQ(Printed(WithErrorInfo(absl::NotFoundError("customer x was not found"), "ERROR_REASON_NOT_FOUND",
                                  {{"correlationId", "corr-1"}, {"upstreamCode", "1000"}})),
            "partnerctl: NOT_FOUND: customer x was not found\n"
            "  reason: ERROR_REASON_NOT_FOUND\n"
            "  correlation id: corr-1\n"
            "  upstream code: 1000\n");
}

TEST(PrintErrorTest, AConflictNamesTheExistingAssignment) {
  EXPECT_EQ(Printed(WithErrorInfo(absl::AlreadyExistsError("The role assignment already exists."),
                                  "ERROR_REASON_CONFLICT",
                                  {{"upstreamCode", "RoleAssignmentExists"},
                                   {"existingAssignmentId", "5d1f0c9a-2e7b-48a6-b3c4-e1f0a9d8c7b2"}})),
            "partnerctl: ALREADY_EXISTS: The role assignment already exists.\n"
            "  reason: ERROR_REASON_CONFLICT\n"
            "  upstream code: RoleAssignmentExists\n"
            "  existing assignment: 5d1f0c9a-2e7b-48a6-b3c4-e1f0a9d8c7b2\n");
}

int Partnerctl(const std::vector<std::string>& args, std::string* out, std::string* err) {
  std::ostringstream o, e;
  const int code = RunPartnerctl(args, o, e);
  *out = o.str();
  *err = e.str();
  return code;
}

TEST(PartnerctlArgsTest, UsageErrorsExitTwoBeforeAnyCall) {
  std::string out, err;
  EXPECT_EQ(Partnerctl({"roles", "revoke", "--customer", "C"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("--assignment-id"));
  EXPECT_EQ(Partnerctl({"roles", "revoke", "--customer", "C", "--assignment-id", "I",
                        "--subscription", "S"},
                       &out, &err),
            2);
  EXPECT_EQ(Partnerctl({"customers", "list", "--page-size", "0"}, &out, &err), 2);
  EXPECT_EQ(Partnerctl({"roles", "assign", "--customer", "C", "--subscription", "S", "--user", "U",
                        "--role", "Reader", "--principal-type", "robot"},
                       &out, &err),
            2);
  EXPECT_TRUE(out.empty()) << out;
}

TEST(PartnerctlArgsTest, HelpAtEveryLevelExitsZero) {
  std::string out, err;
  EXPECT_EQ(Partnerctl({"--help"}, &out, &err), 0);
  EXPECT_THAT(out, HasSubstr("Exit codes:"));
  EXPECT_EQ(Partnerctl({"roles", "--help"}, &out, &err), 0);
  EXPECT_THAT(out, HasSubstr("batch-assign"));
  EXPECT_EQ(Partnerctl({"roles", "batch-assign", "--help"}, &out, &err), 0);
  EXPECT_THAT(out, HasSubstr("CSV columns"));
}

TEST(PartnerctlArgsTest, HelpOfEveryGroupAndCommandShowsAnExample) {
  const std::vector<std::vector<std::string>> levels = {
      {},
      {"customers"},
      {"customers", "list"},
      {"customers", "get"},
      {"users"},
      {"users", "list"},
      {"users", "create"},
      {"subscriptions"},
      {"subscriptions", "list"},
      {"subscriptions", "get"},
      {"subscriptions", "azure"},
      {"roles"},
      {"roles", "definitions"},
      {"roles", "assign"},
      {"roles", "assignments"},
      {"roles", "revoke"},
      {"roles", "batch-assign"},
  };
  for (std::vector<std::string> args : levels) {
    const std::string level = ::testing::PrintToString(args);
    args.push_back("--help");
    std::string out, err;
    EXPECT_EQ(Partnerctl(args, &out, &err), 0) << level;
    EXPECT_THAT(out, HasSubstr("Example")) << level;
    // A group's or command's examples use that group.
    if (args.size() > 1) {
      EXPECT_THAT(out, HasSubstr("  partnerctl " + args.front())) << level;
    }
  }
}

}  // namespace
}  // namespace partner::cli
