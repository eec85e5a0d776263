// The image header records ingest keeps in the catalog (index/internal/
// image_headers.h) give exactly the volumes that reading each blob's header
// gives: an archive is copied, the copy's records are deleted with RocksDB's
// own `ldb`, and every series*.nii / series*.json of both mounts must be the
// same bytes. The records are really used: with every blob file taken away,
// the sidecars (which need only the plan) still read, and equal. `dcmfs
// reindex` writes the records again.
#include <map>

#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

// `ldb` on the `meta` column family of ARCHIVE/index.
CommandResult Ldb(const std::string& archive, const std::string& args) {
  return Shell("ldb --db=" + Q(archive + "/index") + " --column_family=meta " + args + " 2>&1");
}

// Header records ("ih/" series '\0' digest) in an archive's catalog.
int RecordCount(const std::string& archive) {
  CommandResult r = Ldb(archive, "--hex scan --no_value --from=0x69682F --to=0x696830");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  int n = 0;
  for (char c : r.output) n += c == '\n';
  return n;
}

// sha256sum of every series*.nii / series*.json below /studies, by path.
std::map<std::string, std::string> VolumeHashes(const std::string& mnt, const char* pattern) {
  std::string out = Shell("cd " + Q(mnt + "/studies") + " && find . -name " + Q(pattern) +
                          " -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum")
                        .output;
  std::map<std::string, std::string> hashes;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    const std::string line = out.substr(start, end - start);
    if (line.size() > 66) hashes[line.substr(66)] = line.substr(0, 64);
    start = end + 1;
  }
  return hashes;
}

class HeaderRecordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Shell("command -v ldb").exit_code != 0) GTEST_FAIL() << "ldb missing (rocksdb-tools)";
    SyntheticOptions o;
    o.ct_slices = 12;
    o.mr_slices = 6;
    files_ = MakeSynthetic(dir_.Sub("in"), o);
    CommandResult r = Dcmfs("ingest " + Q(dir_.Sub("a")) + " " + Q(dir_.Sub("in")));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    // Copies made before any mount: their derived caches are empty too.
    ASSERT_EQ(Shell("cp -a " + Q(dir_.Sub("a")) + " " + Q(dir_.Sub("b"))).exit_code, 0);
    ASSERT_EQ(Shell("cp -a " + Q(dir_.Sub("a")) + " " + Q(dir_.Sub("c"))).exit_code, 0);
  }
  TempDir dir_;
  std::vector<SyntheticFile> files_;
};

TEST_F(HeaderRecordsTest, PlanIsTheSameWithAndWithoutRecords) {
  const int records = RecordCount(dir_.Sub("a"));
  EXPECT_GE(records, static_cast<int>(files_.size()) - 2);  // every image instance
  CommandResult del = Ldb(dir_.Sub("b"), "deleterange ih/ ih0");
  ASSERT_EQ(del.exit_code, 0) << del.output;
  ASSERT_EQ(RecordCount(dir_.Sub("b")), 0);

  std::map<std::string, std::string> with, without, with_json, without_json;
  {
    MountedArchive mount(dir_.Sub("a"), dir_.Sub("mnt"));
    ASSERT_TRUE(mount.ok()) << mount.log();
    with = VolumeHashes(mount.path(), "series*.nii");
    with_json = VolumeHashes(mount.path(), "series*.json");
  }
  {
    MountedArchive mount(dir_.Sub("b"), dir_.Sub("mnt"));
    ASSERT_TRUE(mount.ok()) << mount.log();
    without = VolumeHashes(mount.path(), "series*.nii");
    without_json = VolumeHashes(mount.path(), "series*.json");
  }
  EXPECT_GE(with.size(), 5u);
  EXPECT_EQ(with, without);
  EXPECT_EQ(with_json, without_json);
  EXPECT_EQ(with.size(), with_json.size());

  // `dcmfs reindex` (from the blobs) records the headers again.
  CommandResult re = Dcmfs("reindex " + Q(dir_.Sub("b")));
  ASSERT_EQ(re.exit_code, 0) << re.output;
  EXPECT_EQ(RecordCount(dir_.Sub("b")), records);
}

TEST_F(HeaderRecordsTest, PlanNeedsNoBlobWhenRecordsExist) {
  std::map<std::string, std::string> reference;
  {
    MountedArchive mount(dir_.Sub("a"), dir_.Sub("mnt"));
    ASSERT_TRUE(mount.ok()) << mount.log();
    reference = VolumeHashes(mount.path(), "series*.json");
  }
  ASSERT_GE(reference.size(), 5u);
  // Archive c without a single blob file (the folders stay).
  ASSERT_EQ(Shell("find " + Q(dir_.Sub("c") + "/blobs") + " -type f -delete").exit_code, 0);
  MountedArchive mount(dir_.Sub("c"), dir_.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  EXPECT_EQ(VolumeHashes(mount.path(), "series*.json"), reference);
}

}  // namespace
}  // namespace dcmfs::testing
