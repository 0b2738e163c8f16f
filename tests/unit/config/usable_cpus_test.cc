#include "server/config/usable_cpus.h"

#include <filesystem>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace partner::config {
namespace {

using ::partner::testing::TempDir;

// Writes `content` to ROOT/RELATIVE, making the folders on the way.
void WriteUnder(const TempDir& root, const std::string& relative, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(root.Path(relative)).parent_path());
  root.Write(relative, content);
}

TEST(UsableCpusTest, CgroupV2MaxGivesWholeCpusRoundedDownAndAtLeastOne) {
  EXPECT_EQ(CpusOfCgroupV2Max("200000 100000\n"), 2u);
  EXPECT_EQ(CpusOfCgroupV2Max("150000 100000"), 1u);
  EXPECT_EQ(CpusOfCgroupV2Max("50000 100000"), 1u);
  EXPECT_EQ(CpusOfCgroupV2Max("max 100000\n"), std::nullopt);
}

TEST(UsableCpusTest, MalformedQuotasAreNoLimit) {
  EXPECT_EQ(CpusOfCgroupV2Max(""), std::nullopt);
  EXPECT_EQ(CpusOfCgroupV2Max("100000"), std::nullopt);
  EXPECT_EQ(CpusOfCgroupV2Max("100000 100000 5"), std::nullopt);
  EXPECT_EQ(CpusOfCgroupV2Max("100000 0"), std::nullopt);
  EXPECT_EQ(CpusOfCgroupV1Quota("-1\n", "100000\n"), std::nullopt);
  EXPECT_EQ(CpusOfCgroupV1Quota("lots", "100000"), std::nullopt);
  EXPECT_EQ(CpusOfCgroupV1Quota("300000\n", "100000\n"), 3u);
}

TEST(UsableCpusTest, ACgroupV2LimitOfTheContainerLowersTheAffinityCount) {
  TempDir root;
  WriteUnder(root, "cpu.max", "100000 100000\n");
  EXPECT_EQ(CpusAllowedBy("0::/\n", root.path(), 16), 1u);
}

TEST(UsableCpusTest, ACgroupV2LimitOnAnAncestorCountsAndTheLowestWins) {
  TempDir root;
  WriteUnder(root, "cpu.max", "max 100000\n");
  WriteUnder(root, "kubepods.slice/cpu.max", "300000 100000\n");
  WriteUnder(root, "kubepods.slice/pod1/cpu.max", "max 100000\n");
  EXPECT_EQ(CpusAllowedBy("0::/kubepods.slice/pod1\n", root.path(), 16), 3u);
  EXPECT_EQ(CpusAllowedBy("0::/kubepods.slice/pod1\n", root.path(), 2), 2u) << "the affinity mask is lower";
}

TEST(UsableCpusTest, ACgroupV1QuotaInTheCpuHierarchyCounts) {
  TempDir root;
  WriteUnder(root, "cpu,cpuacct/cpu.cfs_quota_us", "200000\n");
  WriteUnder(root, "cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  WriteUnder(root, "memory/cpu.cfs_quota_us", "100000\n");
  WriteUnder(root, "memory/cpu.cfs_period_us", "100000\n");
  const std::string proc_self_cgroup = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n";
  EXPECT_EQ(CpusAllowedBy(proc_self_cgroup, root.path(), 8), 2u) << "only the cpu hierarchy's quota";
}

TEST(UsableCpusTest, NoCgroupFilesOrUnreadableTextLeaveTheAffinityCount) {
  TempDir root;
  EXPECT_EQ(CpusAllowedBy("0::/\n", root.path(), 6), 6u);
  EXPECT_EQ(CpusAllowedBy("not a cgroup line", root.path(), 6), 6u);
  EXPECT_EQ(CpusAllowedBy("", root.path(), 0), 1u) << "never below one";
}

TEST(UsableCpusTest, ThisProcessMayUseAtLeastOneCpuAndNoMoreThanAreOnline) {
  const unsigned cpus = UsableCpus();
  EXPECT_GE(cpus, 1u);
  EXPECT_LE(cpus, std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace
}  // namespace partner::config
