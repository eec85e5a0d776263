// reindex rebuilds the same tree from blobs alone; verify finds a flipped
// byte and names the blob and the instance; ingest while mounted shows up
// within 2 seconds.
#include <chrono>
#include <iostream>
#include <thread>

#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

class ArchiveMaintenanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = MakeSynthetic(dir_.Sub("dicom"));
    ASSERT_FALSE(files_.empty());
    CommandResult r = Dcmfs("ingest " + Q(Archive()) + " " + Q(dir_.Sub("dicom")));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  std::string Archive() const { return dir_.Sub("archive"); }

  TempDir dir_;
  std::vector<SyntheticFile> files_;
};

TEST_F(ArchiveMaintenanceTest, ReindexFromBlobsAloneGivesTheSameTree) {
  std::string before;
  {
    MountedArchive mount(Archive(), dir_.Sub("mnt"));
    ASSERT_TRUE(mount.ok()) << mount.log();
    before = StableListing(mount.path());
  }
  std::filesystem::remove_all(Archive() + "/index");
  // Without an index, verify still checks every blob and says what is wrong.
  CommandResult v = Dcmfs("verify " + Q(Archive()));
  EXPECT_EQ(v.exit_code, 1) << v.output;
  EXPECT_NE(v.output.find("index missing"), std::string::npos) << v.output;
  EXPECT_NE(v.output.find("blobs checked: " + std::to_string(files_.size())), std::string::npos)
      << v.output;
  CommandResult r = Dcmfs("reindex " + Q(Archive()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  MountedArchive mount(Archive(), dir_.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  EXPECT_EQ(before, StableListing(mount.path()));
  EXPECT_EQ(Dcmfs("verify " + Q(Archive())).exit_code, 0);
}

TEST_F(ArchiveMaintenanceTest, VerifyNamesAFlippedBlobAndItsInstance) {
  CommandResult clean = Dcmfs("verify " + Q(Archive()));
  ASSERT_EQ(clean.exit_code, 0) << clean.output;
  // Flip one byte in the middle of the blob holding the first synthetic file.
  std::string hex = HexOfFile(files_.front().path);
  std::string blob = BlobPath(Archive(), hex);
  std::string bytes = ReadFileOrEmpty(blob);
  ASSERT_FALSE(bytes.empty()) << blob;
  bytes[bytes.size() / 2] ^= 0x40;
  WriteFileOrDie(blob, bytes);
  CommandResult bad = Dcmfs("verify " + Q(Archive()));
  EXPECT_NE(bad.exit_code, 0) << bad.output;
  EXPECT_NE(bad.output.find(hex), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find(files_.front().sop_uid), std::string::npos) << bad.output;
}

TEST_F(ArchiveMaintenanceTest, ReindexWithADamagedBlobIndexesTheRestAndSaysWhich) {
  std::string hex = HexOfFile(files_.front().path);
  std::string blob = BlobPath(Archive(), hex);
  std::string bytes = ReadFileOrEmpty(blob);
  bytes[bytes.size() / 2] ^= 0x40;
  WriteFileOrDie(blob, bytes);
  std::filesystem::remove_all(Archive() + "/index");
  CommandResult r = Dcmfs("reindex " + Q(Archive()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(hex), std::string::npos) << r.output;
  MountedArchive mount(Archive(), dir_.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  struct stat st;
  EXPECT_NE(stat(StudiesPath(mount.path(), files_.front()).c_str(), &st), 0);
  for (size_t i = 1; i < files_.size(); ++i) {
    EXPECT_EQ(ReadFileOrEmpty(StudiesPath(mount.path(), files_[i])), ReadFileOrEmpty(files_[i].path));
  }
}

TEST_F(ArchiveMaintenanceTest, DamagedBlobReadsAsEioAndTheMountKeepsServing) {
  std::string hex = HexOfFile(files_.front().path);
  std::string blob = BlobPath(Archive(), hex);
  std::string bytes = ReadFileOrEmpty(blob);
  ASSERT_GT(bytes.size(), 100u);
  bytes[bytes.size() / 3] ^= 0x11;
  WriteFileOrDie(blob, bytes);
  MountedArchive mount(Archive(), dir_.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  CommandResult bad = Shell("cat " + Q(StudiesPath(mount.path(), files_.front())) + " >/dev/null");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("Input/output error"), std::string::npos) << bad.output;
  // Everything else is still served, bit-identical.
  for (size_t i = 1; i < files_.size(); ++i) {
    EXPECT_EQ(ReadFileOrEmpty(StudiesPath(mount.path(), files_[i])), ReadFileOrEmpty(files_[i].path));
  }
  EXPECT_TRUE(IsMountPoint(mount.path()));
}

TEST_F(ArchiveMaintenanceTest, IngestWhileMountedAppearsWithinTwoSeconds) {
  MountedArchive mount(Archive(), dir_.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  SyntheticOptions more;
  more.seed = 99;  // different pixel noise: new bytes under the same UIDs (conflicts, both kept)
  std::vector<SyntheticFile> extra = MakeSynthetic(dir_.Sub("more"), more);
  ASSERT_FALSE(extra.empty());
  // What the mount should show, worked out before the clock starts: hashing
  // every file after the ingest used to eat the product's two seconds.
  std::set<std::string> digests;
  for (const auto& f : files_) digests.insert(HexOfFile(f.path));
  for (const auto& f : extra) digests.insert(HexOfFile(f.path));
  const size_t want = digests.size();
  CommandResult r = Dcmfs("ingest " + Q(Archive()) + " " + Q(dir_.Sub("more")));
  const auto done = std::chrono::steady_clock::now();
  ASSERT_LE(r.exit_code, 2) << r.output;
  // Every new set of bytes must be visible within about 2 s (semantics.md: a
  // catch-up every second, then the 1 s folder timeouts): count .dcm files.
  // Seen here at load 7: at once (caught up during the ingest) up to 1.5 s.
  // 4 s is the promise on a machine twice as slow; a mount that stopped
  // following the writer, or polls several times slower than promised, still
  // fails. A pass (a `find` through the mount) that starts before it counts.
  const auto limit = std::chrono::milliseconds(4000);
  size_t seen = 0;
  std::chrono::steady_clock::duration took{};
  for (;;) {
    const auto pass = std::chrono::steady_clock::now();
    seen = std::stoul(Shell("find " + Q(mount.path() + "/studies") + " -name '*.dcm' | wc -l").output);
    took = pass - done;
    if (seen == want || took >= limit) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(seen, want) << "after " << std::chrono::duration<double>(took).count() << " s";
  std::cout << "visible " << std::chrono::duration<double>(took).count()
            << " s after the ingest returned\n";
}

// A first ingest killed while RocksDB was adding its column families one by
// one used to leave a catalog no reader could open (CI caught it in
// SigkillAtAnyMomentLosesNothing). Such a catalog, made here by dropping one
// column family with RocksDB's own ldb, is refused by readers with a message
// naming the column family and the fix, and reindex rebuilds it.
TEST_F(ArchiveMaintenanceTest, ACatalogMissingAColumnFamilyIsNamedAndRebuiltByReindex) {
  if (Shell("command -v ldb").exit_code != 0) GTEST_FAIL() << "ldb missing (rocksdb-tools)";
  const std::string index = Archive() + "/index";
  CommandResult drop = Shell("ldb --db=" + Q(index) + " drop_column_family names 2>&1");
  ASSERT_EQ(drop.exit_code, 0) << drop.output;
  CommandResult status = Dcmfs("status " + Q(Archive()));
  EXPECT_NE(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("lacks column family 'names'"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("dcmfs reindex"), std::string::npos) << status.output;
  // reindex rebuilds the catalog whole, names included.
  ASSERT_EQ(Dcmfs("reindex " + Q(Archive())).exit_code, 0);
  CommandResult v = Dcmfs("verify " + Q(Archive()));
  EXPECT_EQ(v.exit_code, 0) << v.output;
  MountedArchive mount(Archive(), dir_.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  for (const SyntheticFile& f : files_) {
    EXPECT_EQ(ReadFileOrEmpty(StudiesPath(mount.path(), f)), ReadFileOrEmpty(f.path)) << f.path;
  }
}

// A new catalog is built beside its place and renamed in, so what a killed
// first ingest leaves (a staging folder, an index folder without CURRENT) is
// never taken for a catalog and is swept by the next ingest.
TEST_F(ArchiveMaintenanceTest, LeftoversOfAnInterruptedCatalogCreationAreSwept) {
  const std::string fresh = dir_.Sub("fresh");
  std::filesystem::create_directories(fresh + "/blobs");
  std::filesystem::create_directories(fresh + "/index.creating");
  WriteFileOrDie(fresh + "/index.creating/000003.log", "half a write-ahead log");
  std::filesystem::create_directories(fresh + "/index");
  WriteFileOrDie(fresh + "/index/OPTIONS-000005", "no CURRENT beside me");
  CommandResult v = Dcmfs("verify " + Q(fresh));
  EXPECT_NE(v.output.find("index missing"), std::string::npos) << v.output;
  CommandResult r = Dcmfs("ingest " + Q(fresh) + " " + Q(dir_.Sub("dicom")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(std::filesystem::exists(fresh + "/index.creating"));
  CommandResult ok = Dcmfs("verify " + Q(fresh));
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
}

}  // namespace
}  // namespace dcmfs::testing
