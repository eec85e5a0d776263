// Folder names of members that disagree (docs/semantics.md, "Names"): a
// series whose instances carry different SeriesNumbers, a study whose
// instances carry different StudyDates (DCMTK's dcmodify makes them). Two
// ingests in opposite orders and a `dcmfs reindex` show the same `find`
// listing (names, inodes, sizes, mtimes); a later instance that renames a
// folder while mounted keeps its inode and open files.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

// Folders and originals only: derived files' sizes are not what is tested.
std::string Listing(const std::string& mnt) {
  return Shell("cd " + Q(mnt) + " && find patients studies \\( -type d -o -name '*.dcm' \\)" +
               " -printf '%i %s %T@ %y %p\\n' | LC_ALL=C sort")
      .output;
}

class FolderNamingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SyntheticOptions o;
    o.rows = o.columns = 16;
    o.ct_slices = 4;
    o.mr_slices = 3;
    files_ = MakeSynthetic(dir_.Sub("dicom"), o);
    ASSERT_GE(files_.size(), 8u);
    // The first series: its 2nd file says SeriesNumber 1, its 3rd 999 (the
    // lowest, 1, must name it). Its study: the 2nd file says 19990101.
    const std::string series = files_[0].series_uid;
    for (const SyntheticFile& f : files_) {
      if (f.series_uid == series) in_series_.push_back(f.path);
    }
    ASSERT_GE(in_series_.size(), 3u);
    std::sort(in_series_.begin(), in_series_.end());
    for (auto [path, edit] : {std::pair{in_series_[1], "-m '(0020,0011)=1' -m '(0008,0020)=19990101'"},
                              std::pair{in_series_[2], "-m '(0020,0011)=999'"}}) {
      auto r = Shell("dcmodify -nb " + std::string(edit) + " " + Q(path) + " 2>&1");
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
  }

  // Ingests the DICOM files into `archive`, the ones in `first` before the rest.
  void Ingest(const std::string& archive, const std::vector<std::string>& first) {
    for (const std::string& f : first) {
      auto r = Dcmfs("ingest --no-progress " + Q(archive) + " " + Q(f) + " 2>&1");
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    auto r = Dcmfs("ingest --no-progress " + Q(archive) + " " + Q(dir_.Sub("dicom")) + " 2>&1");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  TempDir dir_;
  std::vector<SyntheticFile> files_;
  std::vector<std::string> in_series_;  // the first series' files, sorted
};

TEST_F(FolderNamingTest, IngestOrderAndReindexGiveTheSameListing) {
  ASSERT_NO_FATAL_FAILURE(Ingest(dir_.Sub("a"), {in_series_[2], in_series_[0]}));
  ASSERT_NO_FATAL_FAILURE(Ingest(dir_.Sub("b"), {in_series_[1], in_series_[0], in_series_[2]}));
  auto copy = Shell("cp -a " + Q(dir_.Sub("a")) + " " + Q(dir_.Sub("c")) + " 2>&1");
  ASSERT_EQ(copy.exit_code, 0) << copy.output;
  auto re = Dcmfs("reindex " + Q(dir_.Sub("c")) + " 2>&1");
  ASSERT_EQ(re.exit_code, 0) << re.output;
  std::vector<std::string> listings;
  for (const char* a : {"a", "b", "c"}) {
    MountedArchive m(dir_.Sub(a), dir_.Sub(std::string("mnt_") + a));
    ASSERT_TRUE(m.ok()) << m.log();
    listings.push_back(Listing(m.path()));
  }
  EXPECT_EQ(listings[0], listings[1]);
  EXPECT_EQ(listings[0], listings[2]);
  // Named by the lowest number and the earliest date.
  EXPECT_NE(listings[0].find("/1999-01-01 "), std::string::npos) << listings[0];
  EXPECT_NE(listings[0].find("/1 "), std::string::npos) << listings[0];
  EXPECT_EQ(listings[0].find("/999 "), std::string::npos) << listings[0];
}

TEST_F(FolderNamingTest, RenameWhileMountedKeepsInodeAndOpenFiles) {
  const std::string archive = dir_.Sub("live");
  auto r = Dcmfs("ingest --no-progress " + Q(archive) + " " + Q(in_series_[0]) + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  MountedArchive m(archive, dir_.Sub("mnt"));
  ASSERT_TRUE(m.ok()) << m.log();
  const std::string before = Shell("find " + Q(m.path() + "/patients") +
                                   " -mindepth 3 -maxdepth 3 -type d").output;
  ASSERT_EQ(std::count(before.begin(), before.end(), '\n'), 1) << before;
  const std::string old_folder = before.substr(0, before.size() - 1);
  struct stat old_st;
  ASSERT_EQ(stat(old_folder.c_str(), &old_st), 0);
  const std::string dcm = Shell("find " + Q(old_folder) + " -name '*.dcm'").output;
  const int fd = open(dcm.substr(0, dcm.find('\n')).c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);

  r = Dcmfs("ingest --no-progress " + Q(archive) + " " + Q(in_series_[1]) + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The mount follows the writer within about two seconds (semantics.md).
  std::string after;
  for (int i = 0; i < 100; ++i) {
    after = Shell("find " + Q(m.path() + "/patients") + " -mindepth 3 -maxdepth 3 -type d").output;
    if (after != before) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(std::count(after.begin(), after.end(), '\n'), 1) << after;
  const std::string new_folder = after.substr(0, after.size() - 1);
  EXPECT_NE(new_folder, old_folder);
  EXPECT_NE(new_folder.find("/1999-01-01 "), std::string::npos) << new_folder;
  EXPECT_NE(new_folder.substr(new_folder.rfind('/')).find("/1 "), std::string::npos) << new_folder;
  struct stat new_st;
  ASSERT_EQ(stat(new_folder.c_str(), &new_st), 0);
  EXPECT_EQ(new_st.st_ino, old_st.st_ino);
  // The old name goes once the kernel's 1 s entry cache expires.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  struct stat gone;
  EXPECT_NE(stat(old_folder.c_str(), &gone), 0);
  // The file opened under the old name still reads its bytes.
  char buf[132];
  EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), static_cast<ssize_t>(sizeof(buf)));
  EXPECT_EQ(std::string(buf + 128, 4), "DICM");
  close(fd);
}

}  // namespace
}  // namespace dcmfs::testing
