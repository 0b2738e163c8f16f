#include "emulator/state_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "emulator/services.h"
#include "nlohmann/json.hpp"

namespace partner::emulator {
namespace {

using nlohmann::json;

constexpr char kFormat[] = "partner-emulator-state";
constexpr int kVersion = 1;

std::string Rfc3339(absl::Time t) { return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone()); }

json SeedJson(const SeedOptions& seed) {
  return {{"seed", seed.seed},
          {"customers", seed.customers},
          {"partnerTenantId", seed.partner_tenant_id},
          {"unconsentedCustomers", seed.unconsented_customers}};
}

// Reads the fields of one entry of the file; the first problem is kept, named by the entry's path
// ("users[2].id"), and later reads are no-ops.
class EntryReader {
 public:
  EntryReader(const json& entry, std::string where, std::string* problem)
      : entry_(entry), where_(std::move(where)), problem_(problem) {
    if (problem_->empty() && !entry_.is_object()) *problem_ = absl::StrCat(where_, ": expected an object");
  }

  std::string Text(const char* field, bool required = true) {
    if (!problem_->empty()) return "";
    auto it = entry_.find(field);
    if (it == entry_.end() && !required) return "";
    if (it == entry_.end() || !it->is_string()) {
      *problem_ = absl::StrCat(where_, ".", field, ": expected a string");
      return "";
    }
    return it->get<std::string>();
  }

  std::string Guid(const char* field) {
    std::string value = Text(field);
    if (problem_->empty() && !IsGuid(value)) *problem_ = absl::StrCat(where_, ".", field, ": expected a GUID, got '", value, "'");
    return value;
  }

  bool Boolean(const char* field) {
    if (!problem_->empty()) return false;
    auto it = entry_.find(field);
    if (it == entry_.end() || !it->is_boolean()) {
      *problem_ = absl::StrCat(where_, ".", field, ": expected true or false");
      return false;
    }
    return it->get<bool>();
  }

  absl::Time Time(const char* field) {
    const std::string text = Text(field);
    absl::Time t;
    std::string error;
    if (problem_->empty() && !absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
      *problem_ = absl::StrCat(where_, ".", field, ": expected an RFC 3339 time, got '", text, "' (", error, ")");
    }
    return t;
  }

 private:
  const json& entry_;
  const std::string where_;
  std::string* problem_;
};

// The list under `field`, or why it is not one.
const json* List(const json& root, const char* field, std::string* problem) {
  auto it = root.find(field);
  if (it == root.end() || !it->is_array()) {
    *problem = absl::StrCat("'", field, "': expected a list");
    return nullptr;
  }
  return &*it;
}

absl::Status ErrnoError(const std::string& what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat("cannot ", what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

absl::Status UnusableStateFile(const std::string& path, const std::string& what) {
  return absl::DataLossError(absl::StrCat("state file ", path, " is not usable: ", what,
                                          " (fix or remove it; the emulator never replaces it on its own)"));
}

std::string SerializeState(const SeedOptions& seed, const PersistedState& state) {
  json users = json::array();
  for (const CreatedUser& created : state.users) {
    const User& u = created.user;
    users.push_back({{"tenantId", created.tenant_id},
                     {"id", u.id},
                     {"userPrincipalName", u.user_principal_name},
                     {"displayName", u.display_name},
                     {"givenName", u.given_name},
                     {"surname", u.surname},
                     {"mail", u.mail},
                     {"usageLocation", u.usage_location},
                     {"accountEnabled", u.account_enabled},
                     {"created", Rfc3339(u.created)}});
  }
  json assignments = json::array();
  for (const RoleAssignment& a : state.role_assignments) {
    assignments.push_back({{"name", a.name},
                           {"scope", a.scope},
                           {"roleDefinitionGuid", a.role_definition_guid},
                           {"principalId", a.principal_id},
                           {"principalType", a.principal_type},
                           {"description", a.description},
                           {"created", Rfc3339(a.created)}});
  }
  return json{{"format", kFormat},
              {"version", kVersion},
              {"seededWith", SeedJson(seed)},
              {"users", users},
              {"roleAssignments", assignments}}
      .dump(1);
}

absl::StatusOr<std::optional<PersistedState>> ReadStateFile(const std::string& path, const SeedOptions& seed) {
  auto bad = [&path](const std::string& what) { return UnusableStateFile(path, what); };
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) return std::nullopt;
  if (ec) return bad(ec.message());
  if (status.type() != std::filesystem::file_type::regular) return bad("not a regular file");
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return bad("cannot be read");

  const json root = json::parse(text.str(), nullptr, false);
  if (root.is_discarded()) return bad("not valid JSON");
  if (!root.is_object() || !root.contains("format") || root["format"] != kFormat) {
    return bad(absl::StrCat("not a partner-emulator state file (no \"format\": \"", kFormat, "\")"));
  }
  if (!root.contains("version") || root["version"] != kVersion) {
    return bad(absl::StrCat("version ", root.value("version", json()).dump(), ", this emulator reads version ", kVersion));
  }
  const json want = SeedJson(seed);
  if (!root.contains("seededWith") || root["seededWith"] != want) {
    return absl::FailedPreconditionError(
        absl::StrCat("state file ", path, " was made against other seeded data (", root.value("seededWith", json()).dump(),
                     ") than this emulator's (", want.dump(),
                     "); start the emulator with the same --seed and --customers, or give another --state_file"));
  }

  std::string problem;
  PersistedState state;
  const json* users = List(root, "users", &problem);
  const json* assignments = problem.empty() ? List(root, "roleAssignments", &problem) : nullptr;
  for (std::size_t i = 0; problem.empty() && i < users->size(); ++i) {
    EntryReader entry((*users)[i], absl::StrCat("users[", i, "]"), &problem);
    CreatedUser created;
    created.tenant_id = entry.Guid("tenantId");
    created.user.id = entry.Guid("id");
    created.user.user_principal_name = entry.Text("userPrincipalName");
    created.user.display_name = entry.Text("displayName");
    created.user.given_name = entry.Text("givenName", false);
    created.user.surname = entry.Text("surname", false);
    created.user.mail = entry.Text("mail", false);
    created.user.usage_location = entry.Text("usageLocation", false);
    created.user.account_enabled = entry.Boolean("accountEnabled");
    created.user.created = entry.Time("created");
    state.users.push_back(std::move(created));
  }
  for (std::size_t i = 0; problem.empty() && i < assignments->size(); ++i) {
    EntryReader entry((*assignments)[i], absl::StrCat("roleAssignments[", i, "]"), &problem);
    RoleAssignment a;
    a.name = entry.Guid("name");
    a.scope = entry.Text("scope");
    a.role_definition_guid = entry.Guid("roleDefinitionGuid");
    a.principal_id = entry.Guid("principalId");
    a.principal_type = entry.Text("principalType");
    a.description = entry.Text("description", false);
    a.created = entry.Time("created");
    state.role_assignments.push_back(std::move(a));
  }
  if (!problem.empty()) return bad(problem);
  return state;
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  std::string temp = absl::StrCat(path, ".tmp.XXXXXX");
  const int fd = mkstemp(temp.data());
  if (fd < 0) return ErrnoError("create a temporary file next to", path);
  auto fail = [&](const std::string& what) {
    absl::Status status = ErrnoError(what, temp);
    close(fd);
    unlink(temp.c_str());
    return status;
  };
  for (std::size_t written = 0; written < contents.size();) {
    const ssize_t n = write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("write");
    written += static_cast<std::size_t>(n);
  }
  if (fsync(fd) != 0) return fail("fsync");
  if (close(fd) != 0) {
    absl::Status status = ErrnoError("close", temp);
    unlink(temp.c_str());
    return status;
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    absl::Status status = ErrnoError(absl::StrCat("rename ", temp, " to"), path);
    unlink(temp.c_str());
    return status;
  }
  std::string directory = std::filesystem::path(path).parent_path().string();
  if (directory.empty()) directory = ".";
  const int dir_fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd < 0) return ErrnoError("open the directory", directory);
  const bool synced = fsync(dir_fd) == 0;
  absl::Status status = synced ? absl::OkStatus() : ErrnoError("fsync the directory", directory);
  close(dir_fd);
  return status;
}

}  // namespace partner::emulator
