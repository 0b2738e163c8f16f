// --state-file: users created through Graph and role assignments made or removed through ARM
// survive a restart of the emulator; a file that is missing starts fresh, one that is corrupt,
// holds an entry that does not fit, or was made against other seeded data stops the start with an
// error naming it and is left as it was.
#include <stdio.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "emulator/emulator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/emulator/emulator_client.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace partner::testing {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kContributor[] = "b24988ac-6180-42a0-ab88-20f7382dd24c";
constexpr char kFirstName[] = "4f8a2d6c-b1e3-47a9-9c05-e2d7b3f18a64";
constexpr char kSecondName[] = "5d1f0c9a-2e7b-48a6-b3c4-e1f0a9d8c7b2";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class StateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty()) << "no temporary directory";
    path_ = dir_.Path("state.json");
  }

  emulator::EmulatorOptions Options(std::uint64_t seed = 1, int customers = 60) const {
    emulator::EmulatorOptions options;
    options.services.seed.seed = seed;
    options.services.seed.customers = customers;
    options.services.state_file = path_;
    return options;
  }
  // Stops the running emulator (if any) and starts another with `options`.
  absl::Status Restart(emulator::EmulatorOptions options) {
    emu_.reset();
    absl::StatusOr<std::unique_ptr<emulator::Emulator>> started = emulator::Emulator::Start(std::move(options));
    if (!started.ok()) return started.status();
    emu_ = *std::move(started);
    customer_ = emu_->services().customers().front();
    subscription_ = customer_.subscriptions.front().azure_subscriptions.front();
    return absl::OkStatus();
  }
  std::string Url(const std::string& path) const { return absl::StrCat(emu_->base_url(), path); }
  std::string AssignmentUrl(const std::string& name) const {
    return Url(absl::StrCat("/subscriptions/", subscription_, "/providers/Microsoft.Authorization/roleAssignments/", name,
                            "?api-version=2022-04-01"));
  }
  std::vector<std::string> ArmHeaders() { return {Bearer(Token(*emu_, customer_.id, kArm)), "Content-Type: application/json"}; }
  Reply PutAssignment(const std::string& name, const std::string& role, const std::string& principal) {
    const nlohmann::json body = {
        {"properties",
         {{"roleDefinitionId", absl::StrCat("/subscriptions/", subscription_, "/providers/Microsoft.Authorization/roleDefinitions/", role)},
          {"principalId", principal},
          {"principalType", "User"}}}};
    return Fetch("PUT", AssignmentUrl(name), ArmHeaders(), body.dump());
  }
  // Creates a user through Graph; its id.
  std::string CreateUser(const std::string& nickname) {
    Reply created = Fetch("POST", Url("/v1.0/users"), {Bearer(Token(*emu_, customer_.id, kGraph)), "Content-Type: application/json"},
                          nlohmann::json{{"accountEnabled", true},
                                         {"displayName", nickname},
                                         {"mailNickname", nickname},
                                         {"userPrincipalName", absl::StrCat(nickname, "@", customer_.domain)},
                                         {"passwordProfile", {{"password", "Vq3#nT8!kLw2"}}}}
                              .dump());
    EXPECT_EQ(created.status, 201) << created.body;
    return created.Json().value("id", "");
  }
  Reply GetUser(const std::string& id_or_upn) {
    return Fetch("GET", Url(absl::StrCat("/v1.0/users/", FormEncode(id_or_upn))), {Bearer(Token(*emu_, customer_.id, kGraph))});
  }
  std::vector<std::string> DirectoryEntries() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) names.push_back(entry.path().filename().string());
    return names;
  }
  // A state file holding one created user and one assignment, as JSON to damage.
  nlohmann::json ValidFile() {
    EXPECT_THAT(Restart(Options()), IsOk());
    const std::string user = CreateUser("lena.hart");
    EXPECT_EQ(PutAssignment(kFirstName, kReader, user).status, 201);
    emu_.reset();
    return nlohmann::json::parse(ReadFile(path_));
  }
  void WriteFile(const std::string& contents) const { std::ofstream(path_, std::ios::binary) << contents; }

  // Declared before emu_, so that it is removed after the emulator that writes into it has stopped.
  TempDir dir_;
  std::string path_;
  std::unique_ptr<emulator::Emulator> emu_;
  emulator::Customer customer_;
  std::string subscription_;
};

TEST_F(StateFileTest, CreatedUsersAndAssignmentsSurviveARestartAndSoDoesADeletion) {
  ASSERT_THAT(Restart(Options()), IsOk());
  const std::string user = CreateUser("noor.quinn");
  ASSERT_FALSE(user.empty());
  ASSERT_EQ(PutAssignment(kFirstName, kReader, user).status, 201);
  ASSERT_EQ(PutAssignment(kSecondName, kContributor, user).status, 201);

  ASSERT_THAT(Restart(Options()), IsOk());
  Reply by_id = GetUser(user);
  ASSERT_EQ(by_id.status, 200) << by_id.body;
  EXPECT_EQ(by_id.Json()["userPrincipalName"], absl::StrCat("noor.quinn@", customer_.domain));
  EXPECT_EQ(GetUser(absl::StrCat("noor.quinn@", customer_.domain)).status, 200);
  Reply first = Fetch("GET", AssignmentUrl(kFirstName), ArmHeaders());
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.Json()["properties"]["principalId"], user);
  EXPECT_THAT(first.Json()["properties"]["roleDefinitionId"].get<std::string>(), HasSubstr(kReader));
  EXPECT_EQ(PutAssignment(kFirstName, kReader, user).status, 200) << "the same PUT again is the existing assignment";
  EXPECT_EQ(Fetch("DELETE", AssignmentUrl(kSecondName), ArmHeaders()).status, 200);
  Reply duplicate = Fetch("POST", Url("/v1.0/users"), {Bearer(Token(*emu_, customer_.id, kGraph)), "Content-Type: application/json"},
                          nlohmann::json{{"accountEnabled", true},
                                         {"displayName", "Noor Quinn"},
                                         {"mailNickname", "noor.quinn"},
                                         {"userPrincipalName", absl::StrCat("noor.quinn@", customer_.domain)},
                                         {"passwordProfile", {{"password", "Vq3#nT8!kLw2"}}}}
                              .dump());
  EXPECT_EQ(duplicate.status, 400) << "the restored user's name is taken";

  ASSERT_THAT(Restart(Options()), IsOk());
  EXPECT_EQ(Fetch("GET", AssignmentUrl(kSecondName), ArmHeaders()).status, 404) << "the deletion persisted";
  EXPECT_EQ(Fetch("GET", AssignmentUrl(kFirstName), ArmHeaders()).status, 200);
  EXPECT_EQ(GetUser(user).status, 200);
  EXPECT_EQ(emu_->services().role_assignments().size(), 1u);
}

TEST_F(StateFileTest, AnAssignmentMadeElsewhereIsKeptToo) {
  ASSERT_THAT(Restart(Options()), IsOk());
  emu_->services().AddRoleAssignment({kSecondName, absl::StrCat("/subscriptions/", subscription_, "/resourceGroups/rg-web"), kReader,
                                      customer_.users.front().id, "User", "made in the portal", absl::Now()});
  ASSERT_THAT(Restart(Options()), IsOk());
  const std::vector<emulator::RoleAssignment> kept = emu_->services().role_assignments();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].name, kSecondName);
  EXPECT_EQ(kept[0].scope, absl::StrCat("/subscriptions/", subscription_, "/resourceGroups/rg-web"));
  EXPECT_EQ(kept[0].description, "made in the portal");
}

TEST_F(StateFileTest, AMissingFileStartsFreshAndIsWrittenAtOnce) {
  ASSERT_FALSE(std::filesystem::exists(path_));
  ASSERT_THAT(Restart(Options()), IsOk());
  EXPECT_TRUE(emu_->services().role_assignments().empty());
  const nlohmann::json written = nlohmann::json::parse(ReadFile(path_), nullptr, false);
  ASSERT_TRUE(written.is_object()) << ReadFile(path_);
  EXPECT_EQ(written["users"], nlohmann::json::array());
  EXPECT_EQ(written["roleAssignments"], nlohmann::json::array());
  EXPECT_EQ(written["seededWith"]["seed"], 1);
  EXPECT_EQ(written["seededWith"]["customers"], 60);
}

TEST_F(StateFileTest, AnUnwritablePathStopsTheStart) {
  path_ = dir_.Path("no-such-directory/state.json");
  absl::Status started = Restart(Options());
  EXPECT_FALSE(started.ok());
  EXPECT_THAT(std::string(started.message()), HasSubstr(path_));
}

TEST_F(StateFileTest, NoTemporaryFileIsLeftBehind) {
  ASSERT_THAT(Restart(Options()), IsOk());
  const std::string user = CreateUser("ivo.brandt");
  ASSERT_EQ(PutAssignment(kFirstName, kReader, user).status, 201);
  ASSERT_EQ(PutAssignment(kSecondName, kContributor, user).status, 201);
  ASSERT_EQ(Fetch("DELETE", AssignmentUrl(kFirstName), ArmHeaders()).status, 200);
  EXPECT_THAT(DirectoryEntries(), ElementsAre("state.json"));
  emu_.reset();
  EXPECT_THAT(DirectoryEntries(), ElementsAre("state.json"));
}

struct Damage {
  std::string name;
  std::function<std::string(nlohmann::json)> apply;  // the file's new contents
  std::string expected;                               // in the error, after the file's path
};

void PrintTo(const Damage& damage, std::ostream* out) { *out << damage.name; }

class DamagedStateFileTest : public StateFileTest, public ::testing::WithParamInterface<Damage> {};

TEST_P(DamagedStateFileTest, IsRefusedWithAnErrorNamingTheFileAndLeftAlone) {
  const std::string damaged = GetParam().apply(ValidFile());
  WriteFile(damaged);
  absl::Status started = Restart(Options());
  ASSERT_FALSE(started.ok()) << "started with: " << damaged;
  EXPECT_EQ(started.code(), absl::StatusCode::kDataLoss) << started;
  EXPECT_THAT(std::string(started.message()), AllOf(HasSubstr(absl::StrCat("state file ", path_)), HasSubstr(GetParam().expected)));
  EXPECT_EQ(ReadFile(path_), damaged) << "never replaced";
  EXPECT_THAT(DirectoryEntries(), ElementsAre("state.json"));
}

INSTANTIATE_TEST_SUITE_P(
    Damages, DamagedStateFileTest,
    ::testing::Values(
        Damage{"Empty", [](nlohmann::json) { return std::string(); }, "not valid JSON"},
        Damage{"CutShort", [](nlohmann::json j) { std::string text = j.dump(); return text.substr(0, text.size() / 2); },
               "not valid JSON"},
        Damage{"NotOurs", [](nlohmann::json) { return std::string(R"({"users":[]})"); }, "not a partner-emulator state file"},
        Damage{"LaterVersion", [](nlohmann::json j) { j["version"] = 2; return j.dump(); }, "version 2"},
        Damage{"UsersNotAList", [](nlohmann::json j) { j["users"] = "none"; return j.dump(); }, "'users': expected a list"},
        Damage{"UserIdNotAGuid", [](nlohmann::json j) { j["users"][0]["id"] = "lena"; return j.dump(); },
               "users[0].id: expected a GUID, got 'lena'"},
        Damage{"UserMissingCreated", [](nlohmann::json j) { j["users"][0].erase("created"); return j.dump(); },
               "users[0].created: expected a string"},
        Damage{"UserCreatedNotATime", [](nlohmann::json j) { j["users"][0]["created"] = "yesterday"; return j.dump(); },
               "users[0].created: expected an RFC 3339 time"},
        Damage{"UserInAnUnknownTenant",
               [](nlohmann::json j) { j["users"][0]["tenantId"] = "0badc0de-0000-4000-8000-000000000404"; return j.dump(); },
               "users[0].tenantId: no customer tenant 0badc0de-0000-4000-8000-000000000404"},
        Damage{"UserTwice", [](nlohmann::json j) { j["users"].push_back(j["users"][0]); return j.dump(); }, "users[1]: a user with id"},
        Damage{"AssignmentAtAnUnknownScope",
               [](nlohmann::json j) { j["roleAssignments"][0]["scope"] = "/subscriptions/0badc0de-0000-4000-8000-000000000404"; return j.dump(); },
               "roleAssignments[0].scope: '/subscriptions/0badc0de-0000-4000-8000-000000000404' is not a seeded"},
        Damage{"AssignmentOfAnUnknownRole",
               [](nlohmann::json j) { j["roleAssignments"][0]["roleDefinitionGuid"] = "0badc0de-0000-4000-8000-000000000404"; return j.dump(); },
               "roleAssignments[0].roleDefinitionGuid: no role"},
        Damage{"AssignmentNotAnObject", [](nlohmann::json j) { j["roleAssignments"][0] = 7; return j.dump(); },
               "roleAssignments[0]: expected an object"},
        Damage{"AssignmentTwice", [](nlohmann::json j) { j["roleAssignments"].push_back(j["roleAssignments"][0]); return j.dump(); },
               "roleAssignments[1].name: 4f8a2d6c-b1e3-47a9-9c05-e2d7b3f18a64 appears twice"}),
    [](const ::testing::TestParamInfo<Damage>& info) { return info.param.name; });

TEST_F(StateFileTest, AFileMadeAgainstOtherSeededDataIsRefused) {
  const std::string valid = ValidFile().dump();
  WriteFile(valid);
  for (const auto& [seed, customers] : std::vector<std::pair<std::uint64_t, int>>{{2, 60}, {1, 61}}) {
    absl::Status started = Restart(Options(seed, customers));
    ASSERT_FALSE(started.ok()) << "seed " << seed << ", " << customers << " customers";
    EXPECT_EQ(started.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(started.message()),
                AllOf(HasSubstr(absl::StrCat("state file ", path_)), HasSubstr("other seeded data"), HasSubstr("--seed")));
    EXPECT_EQ(ReadFile(path_), valid);
  }
  EXPECT_THAT(Restart(Options()), IsOk()) << "the seed it was made with still loads it";
}

TEST_F(StateFileTest, TheBinaryExitsNonZeroNamingACorruptFile) {
  WriteFile("{\"format\": \"partner-emulator-state\",");
  const std::string command = absl::StrCat(PARTNER_EMULATOR_BINARY, " --state_file ", path_, " 2>&1");
  FILE* child = popen(command.c_str(), "r");
  ASSERT_NE(child, nullptr);
  std::string output;
  char buffer[512];
  while (std::size_t n = fread(buffer, 1, sizeof(buffer), child)) output.append(buffer, n);
  const int status = pclose(child);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_NE(WEXITSTATUS(status), 0) << output;
  EXPECT_THAT(output, AllOf(HasSubstr(path_), HasSubstr("not valid JSON")));
  EXPECT_EQ(ReadFile(path_), "{\"format\": \"partner-emulator-state\",");
}

}  // namespace
}  // namespace partner::testing
