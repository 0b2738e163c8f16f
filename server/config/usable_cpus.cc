#include "server/config/usable_cpus.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/config/load_config.h"

namespace partner::config {
namespace {

// Both cgroup versions state a quota as two decimal numbers of microseconds; "max" or -1 is none.
std::optional<unsigned> WholeCpus(absl::string_view quota_us, absl::string_view period_us) {
  double quota = 0;
  double period = 0;
  if (!absl::SimpleAtod(absl::StripAsciiWhitespace(quota_us), &quota) ||
      !absl::SimpleAtod(absl::StripAsciiWhitespace(period_us), &period) || quota <= 0 || period <= 0) {
    return std::nullopt;
  }
  // Rounded down: under a quota of 1.5 CPUs, two busy threads are throttled a quarter of each period.
  return std::max(1u, static_cast<unsigned>(std::floor(quota / period)));
}

// The cgroup itself and each ancestor up to the root, as paths below the mount.
std::vector<std::string> SelfAndAncestors(absl::string_view path) {
  std::vector<std::string> paths = {""};
  std::string prefix;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    absl::StrAppend(&prefix, "/", part);
    paths.push_back(prefix);
  }
  return paths;
}

}  // namespace

std::optional<unsigned> CpusOfCgroupV2Max(absl::string_view cpu_max) {
  std::vector<absl::string_view> fields = absl::StrSplit(absl::StripAsciiWhitespace(cpu_max), ' ', absl::SkipEmpty());
  if (fields.size() != 2) return std::nullopt;
  return WholeCpus(fields[0], fields[1]);
}

std::optional<unsigned> CpusOfCgroupV1Quota(absl::string_view quota_us, absl::string_view period_us) {
  return WholeCpus(quota_us, period_us);
}

unsigned CpusAllowedBy(absl::string_view proc_self_cgroup, const std::string& cgroup_root, unsigned affinity_cpus) {
  unsigned cpus = std::max(1u, affinity_cpus);
  auto lower_to = [&cpus](std::optional<unsigned> limit) {
    if (limit.has_value()) cpus = std::min(cpus, *limit);
  };
  // Lines are "ID:CONTROLLERS:PATH": cgroup v2's one line is "0::PATH"; v1 has a line per
  // hierarchy, and its CPU quota lives in the one whose controllers include "cpu".
  for (absl::string_view line : absl::StrSplit(proc_self_cgroup, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3) continue;
    if (fields[0] == "0" && fields[1].empty()) {
      for (const std::string& path : SelfAndAncestors(fields[2])) {
        if (absl::StatusOr<std::string> max = ReadFileToString(cgroup_root + path + "/cpu.max"); max.ok()) {
          lower_to(CpusOfCgroupV2Max(*max));
        }
      }
      continue;
    }
    std::vector<absl::string_view> controllers = absl::StrSplit(fields[1], ',');
    if (std::find(controllers.begin(), controllers.end(), "cpu") == controllers.end()) continue;
    const std::string mount = cgroup_root + "/" + std::string(fields[1]);
    for (const std::string& path : SelfAndAncestors(fields[2])) {
      absl::StatusOr<std::string> quota = ReadFileToString(mount + path + "/cpu.cfs_quota_us");
      absl::StatusOr<std::string> period = ReadFileToString(mount + path + "/cpu.cfs_period_us");
      if (quota.ok() && period.ok()) lower_to(CpusOfCgroupV1Quota(*quota, *period));
    }
  }
  return cpus;
}

unsigned UsableCpus() {
  unsigned affinity_cpus = std::thread::hardware_concurrency();
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof(mask), &mask) == 0) affinity_cpus = static_cast<unsigned>(CPU_COUNT(&mask));
  return CpusAllowedBy(ReadFileToString("/proc/self/cgroup").value_or(""), "/sys/fs/cgroup", affinity_cpus);
}

}  // namespace partner::config
