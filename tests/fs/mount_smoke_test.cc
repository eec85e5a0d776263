// A smoke test through a real FUSE mount: `dcmfs mount` (background mode,
// ready when the command returns), read through the kernel, unmount. The
// thorough mounted suite lives in tests/integration.
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "codecs/sha256.h"
#include "tests/fs/test_archive.h"

namespace dcmfs {
namespace {

using testing::TestArchive;

std::string Tool() {
#ifdef DCMFS_TOOL_PATH
  return DCMFS_TOOL_PATH;
#else
  const char* bin = std::getenv("DCMFS_BINARY_DIR");
  return std::string(bin != nullptr ? bin : ".") + "/tools/dcmfs";
#endif
}

int Shell(const std::string& command) { return std::system(command.c_str()); }

TEST(MountSmokeTest, MountReadUnmount) {
  TestArchive archive;
  const std::string bytes = "DICM-ish bytes " + std::string(200000, 'z');
  archive.Add(TestArchive::Meta("1.2.3.4", 1), bytes);
  const std::string mnt = archive.dir().Sub("mnt");
  std::filesystem::create_directories(mnt);

  ASSERT_EQ(Shell("'" + Tool() + "' mount '" + archive.root() + "' '" + mnt + "'"), 0);
  const std::string series = mnt + "/patients/Doe John (12)/2024-01-02 Chest (A7)/3 CT Axial";
  EXPECT_EQ(testing::ReadFileOrEmpty(series + "/0001.dcm"), bytes);
  EXPECT_EQ(testing::ReadFileOrEmpty(series + "/SHA256SUMS"),
            ToHex(Sha256(bytes)) + "  0001.dcm\n");
  struct stat st {};
  ASSERT_EQ(stat((series + "/0001.dcm").c_str(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), bytes.size());
  EXPECT_EQ(st.st_nlink, 2u);
  char value[64] = {};
  ssize_t n = getxattr((series + "/0001.dcm").c_str(), "user.dicom.Modality", value, sizeof value);
  EXPECT_EQ(std::string(value, n > 0 ? n : 0), "CT");
  EXPECT_EQ(getxattr((series + "/0001.dcm").c_str(), "user.dicom.Nope", value, sizeof value), -1);
  EXPECT_EQ(errno, ENODATA);
  // Read-only.
  EXPECT_NE(Shell("touch '" + series + "/new' 2>/dev/null"), 0);
  EXPECT_EQ(Shell("fusermount3 -u '" + mnt + "'"), 0);
  EXPECT_TRUE(std::filesystem::is_empty(mnt));
}

}  // namespace
}  // namespace dcmfs
