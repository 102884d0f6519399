#include "memory/cgroup.hpp"

#include <gtest/gtest.h>

#include "fake_tree.hpp"
#include "memory/byte_size.hpp"

namespace pensieve::memory {
namespace {

using testing::FakeTree;

// A hybrid host (v1 controllers plus a unified cgroup2 mount), as on Debian 10-era systems.
constexpr const char* kHybridMountinfo =
    "22 1 0:21 / / rw,relatime - ext4 /dev/vda rw\n"
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

constexpr const char* kHybridCgroup =
    "9:name=systemd:/\n"
    "8:pids:/\n"
    "4:memory:/process_api/89b0\n"
    "1:cpu:/\n"
    "0::/\n";

TEST(CgroupDiscovery, ParsesMemoryAndUnifiedMounts) {
  auto mounts = parse_cgroup_mounts(kHybridMountinfo);
  ASSERT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts[0].version, CgroupVersion::kV1);
  EXPECT_EQ(mounts[0].mount_point, "/sys/fs/cgroup/memory");
  EXPECT_EQ(mounts[0].root, "/");
  EXPECT_EQ(mounts[1].version, CgroupVersion::kV2);
  EXPECT_EQ(mounts[1].mount_point, "/sys/fs/cgroup/unified");
}

TEST(CgroupDiscovery, UnescapesMountPoints) {
  auto mounts = parse_cgroup_mounts("40 30 0:37 /a\\040b /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw\n");
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0].mount_point, "/sys/fs/my cgroup");
  EXPECT_EQ(mounts[0].root, "/a b");
}

TEST(CgroupDiscovery, ParsesMemberships) {
  auto members = parse_cgroup_memberships(kHybridCgroup);
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].version, CgroupVersion::kV1);
  EXPECT_EQ(members[0].path, "/process_api/89b0");
  EXPECT_EQ(members[1].version, CgroupVersion::kV2);
  EXPECT_EQ(members[1].path, "/");
  // Controllers listed together on one v1 line, and a path containing ':'.
  auto joint = parse_cgroup_memberships("3:cpu,memory:/a:b\n");
  ASSERT_EQ(joint.size(), 1u);
  EXPECT_EQ(joint[0].path, "/a:b");
}

TEST(CgroupLimit, ParsesMaxSentinelsAndNumbers) {
  EXPECT_FALSE(parse_cgroup_limit("max\n")->has_value());
  EXPECT_FALSE(parse_cgroup_limit("9223372036854771712\n")->has_value());  // v1 "unlimited"
  EXPECT_FALSE(parse_cgroup_limit("-1\n")->has_value());
  EXPECT_EQ(parse_cgroup_limit("4294967296\n")->value(), 4294967296u);
  EXPECT_FALSE(parse_cgroup_limit("12ab\n").ok());
  EXPECT_FALSE(parse_cgroup_limit("").ok());
  EXPECT_FALSE(parse_cgroup_limit("maximum").ok());
}

// cgroup v2, three levels below the root: the root has no memory.max (as on a real host).
class CgroupV2Tree : public ::testing::Test {
 protected:
  void SetUp() override {
    tree.mkdir("sys/fs/cgroup");
    tree.write("sys/fs/cgroup/memory.stat", "anon 0\n");
    tree.write("sys/fs/cgroup/user.slice/memory.max", std::to_string(8 * kGiB) + "\n");
    tree.write("sys/fs/cgroup/user.slice/memory.current", std::to_string(3 * kGiB) + "\n");
    tree.write("sys/fs/cgroup/user.slice/app.scope/memory.max", "max\n");
    tree.write("sys/fs/cgroup/user.slice/app.scope/memory.current", std::to_string(1 * kGiB) + "\n");
    tree.write("sys/fs/cgroup/user.slice/app.scope/pensieve/memory.max", std::to_string(2 * kGiB) + "\n");
    tree.write("sys/fs/cgroup/user.slice/app.scope/pensieve/memory.current",
               std::to_string(1536 * kMiB) + "\n");
  }
  std::vector<CgroupLevel> levels(std::vector<std::string>& warnings) {
    return resolve_cgroup_levels({{CgroupVersion::kV2, "/sys/fs/cgroup", "/"}},
                                 {{CgroupVersion::kV2, "/user.slice/app.scope/pensieve"}}, tree.root(),
                                 warnings);
  }
  FakeTree tree;
  std::string scratch;
};

TEST_F(CgroupV2Tree, WalksFromTheProcessUpToTheRoot) {
  std::vector<std::string> warnings;
  auto lv = levels(warnings);
  EXPECT_TRUE(warnings.empty());
  ASSERT_EQ(lv.size(), 4u);
  EXPECT_EQ(lv[0].dir, tree.path("sys/fs/cgroup/user.slice/app.scope/pensieve"));
  EXPECT_EQ(lv[3].dir, tree.path("sys/fs/cgroup"));
}

TEST_F(CgroupV2Tree, TightestHeadroomWinsAtAnyLevel) {
  std::vector<std::string> warnings;
  auto lv = levels(warnings);
  auto reading = read_cgroup_levels(lv, scratch);
  ASSERT_TRUE(reading.ok()) << reading.error().message;
  EXPECT_EQ(reading->tightest_limit_bytes, 2 * kGiB);
  EXPECT_EQ(reading->tightest_headroom_bytes, 512 * kMiB);  // 2 GiB − 1.5 GiB at the innermost
  EXPECT_EQ(reading->limiting_dir, tree.path("sys/fs/cgroup/user.slice/app.scope/pensieve"));
  ASSERT_EQ(reading->levels.size(), 4u);
  EXPECT_FALSE(reading->levels[1].limit_bytes.has_value());  // "max"
  EXPECT_FALSE(reading->levels[3].limit_bytes.has_value());  // root: no file

  // The slice fills up: its 8 GiB limit now leaves 256 MiB, less than the inner cgroup's room.
  tree.write("sys/fs/cgroup/user.slice/memory.current", std::to_string(8 * kGiB - 256 * kMiB) + "\n");
  reading = read_cgroup_levels(lv, scratch);
  ASSERT_TRUE(reading.ok());
  EXPECT_EQ(reading->tightest_headroom_bytes, 256 * kMiB);
  EXPECT_EQ(reading->tightest_limit_bytes, 2 * kGiB);
  EXPECT_EQ(reading->limiting_dir, tree.path("sys/fs/cgroup/user.slice"));
}

TEST_F(CgroupV2Tree, UsageAboveLimitMeansNoHeadroom) {
  tree.write("sys/fs/cgroup/user.slice/app.scope/pensieve/memory.current", std::to_string(3 * kGiB) + "\n");
  std::vector<std::string> warnings;
  auto lv = levels(warnings);
  auto reading = read_cgroup_levels(lv, scratch);
  ASSERT_TRUE(reading.ok());
  EXPECT_EQ(reading->tightest_headroom_bytes, 0u);
}

TEST_F(CgroupV2Tree, LimitWithoutUsageIsAnError) {
  tree.remove("sys/fs/cgroup/user.slice/memory.current");
  std::vector<std::string> warnings;
  auto lv = levels(warnings);
  auto reading = read_cgroup_levels(lv, scratch);
  ASSERT_FALSE(reading.ok());
  EXPECT_NE(reading.error().message.find("user.slice/memory.max"), std::string::npos);
}

TEST_F(CgroupV2Tree, GarbledLimitIsAnError) {
  tree.write("sys/fs/cgroup/user.slice/app.scope/memory.max", "lots\n");
  std::vector<std::string> warnings;
  auto lv = levels(warnings);
  EXPECT_FALSE(read_cgroup_levels(lv, scratch).ok());
}

TEST_F(CgroupV2Tree, MissingControllerFilesMeanNoLimitThere) {
  tree.remove("sys/fs/cgroup/user.slice/app.scope/pensieve/memory.max");
  tree.remove("sys/fs/cgroup/user.slice/app.scope/pensieve/memory.current");
  std::vector<std::string> warnings;
  auto lv = levels(warnings);
  auto reading = read_cgroup_levels(lv, scratch);
  ASSERT_TRUE(reading.ok());
  EXPECT_EQ(reading->tightest_limit_bytes, 8 * kGiB);
  EXPECT_EQ(reading->tightest_headroom_bytes, 5 * kGiB);
}

TEST_F(CgroupV2Tree, MissingDirectoryWarnsAndContributesNothing) {
  std::vector<std::string> warnings;
  auto lv = resolve_cgroup_levels({{CgroupVersion::kV2, "/sys/fs/cgroup", "/"}},
                                  {{CgroupVersion::kV2, "/gone.slice/x"}}, tree.root(), warnings);
  EXPECT_TRUE(lv.empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("gone.slice/x"), std::string::npos);
}

TEST(CgroupNamespaces, MountedRootIsStrippedFromThePath) {
  FakeTree tree;
  tree.write("sys/fs/cgroup/memory.max", std::to_string(kGiB) + "\n");
  tree.write("sys/fs/cgroup/memory.current", std::to_string(kGiB / 4) + "\n");
  std::vector<std::string> warnings;
  // Docker without a cgroup namespace: the container's cgroup is what is mounted.
  auto lv = resolve_cgroup_levels({{CgroupVersion::kV2, "/sys/fs/cgroup", "/docker/abc"}},
                                  {{CgroupVersion::kV2, "/docker/abc"}}, tree.root(), warnings);
  ASSERT_EQ(lv.size(), 1u);
  EXPECT_TRUE(warnings.empty());
  std::string scratch;
  auto reading = read_cgroup_levels(lv, scratch);
  ASSERT_TRUE(reading.ok());
  EXPECT_EQ(reading->tightest_headroom_bytes, 3 * kGiB / 4);
  // A path outside the mounted root cannot be seen.
  lv = resolve_cgroup_levels({{CgroupVersion::kV2, "/sys/fs/cgroup", "/docker/abc"}},
                             {{CgroupVersion::kV2, "/other"}}, tree.root(), warnings);
  EXPECT_TRUE(lv.empty());
  EXPECT_EQ(warnings.size(), 1u);
}

TEST(CgroupV1, ReadsLimitAndUsageUpTheHierarchy) {
  FakeTree tree;
  const std::string base = "sys/fs/cgroup/memory";
  tree.write(base + "/memory.limit_in_bytes", "9223372036854771712\n");
  tree.write(base + "/memory.usage_in_bytes", std::to_string(6 * kGiB) + "\n");
  tree.write(base + "/process_api/memory.limit_in_bytes", std::to_string(4 * kGiB) + "\n");
  tree.write(base + "/process_api/memory.usage_in_bytes", std::to_string(3 * kGiB) + "\n");
  tree.write(base + "/process_api/89b0/memory.limit_in_bytes", "9223372036854771712\n");
  tree.write(base + "/process_api/89b0/memory.usage_in_bytes", std::to_string(kGiB) + "\n");
  std::vector<std::string> warnings;
  auto lv = resolve_cgroup_levels(parse_cgroup_mounts(kHybridMountinfo),
                                  parse_cgroup_memberships(kHybridCgroup), tree.root(), warnings);
  // v1 memory: 3 levels. The unified mount directory does not exist in this tree: one warning.
  ASSERT_EQ(lv.size(), 3u);
  EXPECT_EQ(lv[0].version, CgroupVersion::kV1);
  EXPECT_EQ(lv[0].dir, tree.path(base + "/process_api/89b0"));
  ASSERT_EQ(warnings.size(), 1u);
  std::string scratch;
  auto reading = read_cgroup_levels(lv, scratch);
  ASSERT_TRUE(reading.ok()) << reading.error().message;
  EXPECT_EQ(reading->tightest_limit_bytes, 4 * kGiB);
  EXPECT_EQ(reading->tightest_headroom_bytes, 1 * kGiB);
  EXPECT_EQ(reading->limiting_dir, tree.path(base + "/process_api"));
}

TEST(CgroupV1, NoLimitsAnywhereMeansNoCgroupFigure) {
  FakeTree tree;
  tree.write("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
  tree.write("sys/fs/cgroup/memory/memory.usage_in_bytes", "1000\n");
  std::vector<std::string> warnings;
  auto lv = resolve_cgroup_levels({{CgroupVersion::kV1, "/sys/fs/cgroup/memory", "/"}},
                                  {{CgroupVersion::kV1, "/"}}, tree.root(), warnings);
  ASSERT_EQ(lv.size(), 1u);
  std::string scratch;
  auto reading = read_cgroup_levels(lv, scratch);
  ASSERT_TRUE(reading.ok());
  EXPECT_FALSE(reading->tightest_limit_bytes.has_value());
  EXPECT_FALSE(reading->tightest_headroom_bytes.has_value());
}

}  // namespace
}  // namespace pensieve::memory
