// What backup jobs do to the mount: rsync twice (the second copies nothing),
// rsync -H, and tar with no warnings and an identical extraction.
#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

class CopyToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = MakeSynthetic(dir_.Sub("dicom"));
    CommandResult r = Dcmfs("ingest " + Q(dir_.Sub("archive")) + " " + Q(dir_.Sub("dicom")));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    mount_ = std::make_unique<MountedArchive>(dir_.Sub("archive"), dir_.Sub("mnt"));
    ASSERT_TRUE(mount_->ok()) << mount_->log();
  }
  std::string Mnt() const { return mount_->path(); }

  TempDir dir_;
  std::vector<SyntheticFile> files_;
  std::unique_ptr<MountedArchive> mount_;
};

// rsync --stats prints "Number of regular files transferred: N".
uint64_t FilesTransferred(const std::string& stats) {
  const std::string key = "Number of regular files transferred: ";
  size_t at = stats.find(key);
  if (at == std::string::npos) return ~0ull;
  std::string digits;
  for (size_t i = at + key.size(); i < stats.size() && stats[i] != '\n'; ++i) {
    if (std::isdigit(static_cast<unsigned char>(stats[i]))) digits += stats[i];
  }
  return std::stoull(digits);
}

TEST_F(CopyToolsTest, SecondRsyncCopiesNothing) {
  std::string dest = dir_.Sub("copy");
  CommandResult first = Shell("rsync -a --stats " + Q(Mnt() + "/") + " " + Q(dest + "/"));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_GE(FilesTransferred(first.output), 2 * files_.size());
  CommandResult second = Shell("rsync -a --stats " + Q(Mnt() + "/") + " " + Q(dest + "/"));
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(FilesTransferred(second.output), 0u) << second.output;
  CommandResult diff = Shell("diff -r " + Q(Mnt()) + " " + Q(dest));
  EXPECT_EQ(diff.exit_code, 0) << diff.output;
}

TEST_F(CopyToolsTest, RsyncHardLinksKeepsOneCopyPerInstance) {
  std::string dest = dir_.Sub("copyH");
  CommandResult r = Shell("rsync -aH " + Q(Mnt() + "/") + " " + Q(dest + "/"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string links = Shell("find " + Q(dest + "/studies") + " -name '*.dcm' -links 2 | wc -l").output;
  EXPECT_EQ(std::stoul(links), files_.size());
}

TEST_F(CopyToolsTest, TarHasNoWarningsAndExtractsIdentically) {
  std::string tar = dir_.Sub("mount.tar");
  CommandResult r = Shell("tar -C " + Q(Mnt()) + " -cf " + Q(tar) + " .");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "") << "tar warned";
  std::string out = dir_.Sub("untar");
  std::filesystem::create_directories(out);
  CommandResult x = Shell("tar -C " + Q(out) + " -xf " + Q(tar));
  ASSERT_EQ(x.exit_code, 0) << x.output;
  CommandResult diff = Shell("diff -r " + Q(Mnt()) + " " + Q(out));
  EXPECT_EQ(diff.exit_code, 0) << diff.output;
  // Hard links: tar stores the second name as a link, not a second copy.
  std::string listing = Shell("tar -tvf " + Q(tar) + " | grep -c '^h'").output;
  EXPECT_EQ(std::stoul(listing), files_.size());
}

}  // namespace
}  // namespace dcmfs::testing
