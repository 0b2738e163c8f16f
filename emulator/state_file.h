// What the emulator keeps across restarts with --state-file: the users created through Graph and
// the role assignments that exist, stamped with the seed they were made against (a state file
// means nothing over other seeded data). JSON, replaced atomically on every change.
#ifndef PARTNER_EMULATOR_STATE_FILE_H_
#define PARTNER_EMULATOR_STATE_FILE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "emulator/world.h"

namespace partner::emulator {

struct CreatedUser {
  std::string tenant_id;
  User user;
};

struct PersistedState {
  std::vector<CreatedUser> users;
  std::vector<RoleAssignment> role_assignments;
};

// The error for a state file the emulator will not start with: it names the file and `what` is
// wrong, and says the file is left alone.
absl::Status UnusableStateFile(const std::string& path, const std::string& what);

std::string SerializeState(const SeedOptions& seed, const PersistedState& state);

// The state in `path`; nullopt when there is no such file. An unreadable or malformed file, an
// entry with a missing or ill-typed field, or a file made against other seeded data is an error
// naming the file and what is wrong in it. Whether entries fit the world (known tenants, scopes,
// roles) is the caller's check.
absl::StatusOr<std::optional<PersistedState>> ReadStateFile(const std::string& path, const SeedOptions& seed);

// Replaces `path` with `contents` so that a crash at any moment leaves the old or the new file,
// never a mix: a temporary file in the same directory, written and fsynced, renamed over `path`,
// then the directory fsynced so the rename itself survives.
absl::Status WriteFileAtomically(const std::string& path, const std::string& contents);

}  // namespace partner::emulator

#endif  // PARTNER_EMULATOR_STATE_FILE_H_
