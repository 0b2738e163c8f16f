// How many CPUs the gateway may use, for the defaults that scale with them. A container with a CPU
// limit sees every core of its node in std::thread::hardware_concurrency(); the limit is a cgroup
// quota, and taskset or a cpuset narrows the affinity mask instead. Both count here.
#ifndef PARTNER_SERVER_CONFIG_USABLE_CPUS_H_
#define PARTNER_SERVER_CONFIG_USABLE_CPUS_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace partner::config {

// The whole CPUs a cgroup v2 `cpu.max` grants ("QUOTA PERIOD", both in microseconds), at least 1;
// nullopt for "max" (no limit) or text of another form.
std::optional<unsigned> CpusOfCgroupV2Max(absl::string_view cpu_max);

// The same for cgroup v1's `cpu.cfs_quota_us` and `cpu.cfs_period_us`; a quota of -1 is no limit.
std::optional<unsigned> CpusOfCgroupV1Quota(absl::string_view quota_us, absl::string_view period_us);

// `affinity_cpus`, lowered by the CPU quotas found for the cgroups that `proc_self_cgroup` (the
// text of /proc/self/cgroup) names under `cgroup_root`: the mount root itself, which is the
// container's own cgroup when it runs in a cgroup namespace, and the named path with each of its
// ancestors. Missing or unreadable files are no limit.
unsigned CpusAllowedBy(absl::string_view proc_self_cgroup, const std::string& cgroup_root, unsigned affinity_cpus);

// CpusAllowedBy for this process: its affinity mask, /proc/self/cgroup and /sys/fs/cgroup. At least 1.
unsigned UsableCpus();

}  // namespace partner::config

#endif  // PARTNER_SERVER_CONFIG_USABLE_CPUS_H_
