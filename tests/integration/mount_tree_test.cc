// The mounted tree read with real tools: every instance once, bit-identical,
// one inode in both views, exact sizes, random reads, mmap, concurrency,
// xattrs, SHA256SUMS, find/du, and stability across remounts.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <random>
#include <thread>

#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

class MountTreeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    files_ = new std::vector<SyntheticFile>(MakeSynthetic(dir_->Sub("dicom")));
    CommandResult r = Dcmfs("ingest " + Q(dir_->Sub("archive")) + " " + Q(dir_->Sub("dicom")));
    mount_ = new MountedArchive(dir_->Sub("archive"), dir_->Sub("mnt"));
    // Not ASSERTs: gtest would then skip every test, and ctest counts
    // skipped as passed. Each test fails in SetUp() instead.
    if (r.exit_code != 0) *setup_error_ = "ingest: " + r.output;
    else if (!mount_->ok()) *setup_error_ = "mount: " + mount_->log();
  }
  void SetUp() override { ASSERT_EQ(*setup_error_, "") << "suite set-up failed"; }
  static inline std::string* setup_error_ = new std::string();
  static void TearDownTestSuite() {
    delete mount_;
    delete files_;
    delete dir_;
  }
  static std::string Mnt() { return mount_->path(); }

  static TempDir* dir_;
  static std::vector<SyntheticFile>* files_;
  static MountedArchive* mount_;
};
TempDir* MountTreeTest::dir_ = nullptr;
std::vector<SyntheticFile>* MountTreeTest::files_ = nullptr;
MountedArchive* MountTreeTest::mount_ = nullptr;

TEST_F(MountTreeTest, UidPathResolvesBeforeAnyListing) {
  ASSERT_FALSE(files_->empty());
  // The first thing this test suite does to the mount: no folder was listed yet.
  struct stat st;
  ASSERT_EQ(stat(StudiesPath(Mnt(), files_->back()).c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(MountTreeTest, EveryInstanceAppearsOnceInEachView) {
  for (const char* view : {"patients", "studies"}) {
    std::string count =
        Shell("find " + Q(Mnt() + "/" + view) + " -type f -name '*.dcm' | wc -l").output;
    EXPECT_EQ(std::stoul(count), files_->size()) << view;
  }
}

TEST_F(MountTreeTest, EveryFileIsCmpIdenticalToItsSource) {
  std::string script;
  for (const SyntheticFile& f : *files_) {
    script += "cmp " + Q(f.path) + " " + Q(StudiesPath(Mnt(), f)) + " || exit 1\n";
  }
  WriteFileOrDie(dir_->Sub("cmp.sh"), script);
  CommandResult r = Shell("sh " + Q(dir_->Sub("cmp.sh")));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // The /patients view holds the same bytes: compare the multisets of hashes.
  std::multiset<std::string> source, patients;
  for (const SyntheticFile& f : *files_) source.insert(HexOfFile(f.path));
  for (const std::string& p : FilesBelow(Mnt() + "/patients")) {
    if (p.ends_with(".dcm")) patients.insert(HexOfFile(p));
  }
  EXPECT_EQ(source, patients);
}

TEST_F(MountTreeTest, OneInodeWithTwoLinksAndExactSizes) {
  std::map<ino_t, std::string> studies_inodes;
  for (const SyntheticFile& f : *files_) {
    struct stat st;
    ASSERT_EQ(stat(StudiesPath(Mnt(), f).c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 2u);
    EXPECT_EQ(static_cast<uint64_t>(st.st_size), std::filesystem::file_size(f.path));
    EXPECT_EQ(st.st_blocks, (st.st_size + 511) / 512);
    studies_inodes[st.st_ino] = f.path;
  }
  size_t matched = 0;
  for (const std::string& p : FilesBelow(Mnt() + "/patients")) {
    struct stat st;
    ASSERT_EQ(stat(p.c_str(), &st), 0);
    if (!p.ends_with(".dcm")) continue;
    auto it = studies_inodes.find(st.st_ino);
    ASSERT_NE(it, studies_inodes.end()) << p;
    EXPECT_EQ(ReadFileOrEmpty(p).size(), static_cast<size_t>(st.st_size)) << p;
    ++matched;
  }
  EXPECT_EQ(matched, files_->size());
}

TEST_F(MountTreeTest, RandomOffsetReadsAndMmapMatchSource) {
  std::mt19937_64 rng(7);
  for (size_t i = 0; i < files_->size(); i += 7) {
    const SyntheticFile& f = (*files_)[i];
    std::string want = ReadFileOrEmpty(f.path);
    int fd = open(StudiesPath(Mnt(), f).c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    for (int k = 0; k < 50; ++k) {
      size_t off = rng() % (want.size() + 10);
      size_t len = 1 + rng() % 70000;
      std::string got(len, '\0');
      ssize_t n = pread(fd, got.data(), len, static_cast<off_t>(off));
      ASSERT_GE(n, 0);
      std::string expect = off < want.size() ? want.substr(off, len) : "";
      ASSERT_EQ(got.substr(0, static_cast<size_t>(n)), expect) << f.path << " @" << off;
    }
    void* map = mmap(nullptr, want.size(), PROT_READ, MAP_PRIVATE, fd, 0);
    ASSERT_NE(map, MAP_FAILED);
    EXPECT_EQ(std::string(static_cast<const char*>(map), want.size()), want);
    munmap(map, want.size());
    close(fd);
  }
}

TEST_F(MountTreeTest, ManyConcurrentReaders) {
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < files_->size(); i += 2) {
        const SyntheticFile& f = (*files_)[i];
        if (ReadFileOrEmpty(StudiesPath(Mnt(), f)) != ReadFileOrEmpty(f.path)) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST_F(MountTreeTest, ExtendedAttributesCarryDicomFields) {
  const SyntheticFile& f = files_->front();
  std::string file = StudiesPath(Mnt(), f);
  auto value = [](const std::string& path, const std::string& name) {
    return Shell("getfattr --absolute-names --only-values -n " + name + " " + Q(path)).output;
  };
  EXPECT_EQ(value(file, "user.dicom.SOPInstanceUID"), f.sop_uid);
  EXPECT_EQ(value(file, "user.dicom.SeriesInstanceUID"), f.series_uid);
  std::string series_dir = Mnt() + "/studies/" + f.study_uid + "/" + f.series_uid;
  EXPECT_EQ(value(series_dir, "user.dicom.SeriesInstanceUID"), f.series_uid);
  EXPECT_EQ(value(series_dir, "user.dicom.StudyInstanceUID"), f.study_uid);
  CommandResult all = Shell("getfattr -d " + Q(file));
  EXPECT_NE(all.output.find("user.dicom.Modality"), std::string::npos) << all.output;
  EXPECT_NE(Shell("getfattr -n user.dicom.NoSuchField " + Q(file)).exit_code, 0);
}

TEST_F(MountTreeTest, Sha256SumsVerifiesEverySeriesFolder) {
  std::vector<std::string> folders = SeriesFolders(Mnt());
  ASSERT_FALSE(folders.empty());
  size_t lines = 0;
  for (const std::string& dir : folders) {
    CommandResult r = Shell("cd " + Q(dir) + " && sha256sum -c --strict SHA256SUMS");
    EXPECT_EQ(r.exit_code, 0) << dir << "\n" << r.output;
    std::string dcm = Shell("ls " + Q(dir) + " | grep -c '\\.dcm$'").output;
    std::string sums = Shell("wc -l < " + Q(dir + "/SHA256SUMS")).output;
    EXPECT_EQ(std::stoul(dcm), std::stoul(sums)) << dir;
    lines += std::stoul(sums);
  }
  EXPECT_EQ(lines, 2 * files_->size());  // both views
}

TEST_F(MountTreeTest, NamesAreSafeAndKeepNonAscii) {
  std::string names = Shell("cd " + Q(Mnt()) + " && find . -printf '%f\\n'").output;
  bool non_ascii = false;
  for (unsigned char c : names) {
    if (c >= 0x80) non_ascii = true;
    EXPECT_TRUE(c == '\n' || c >= 0x20) << "control character in a name";
  }
  EXPECT_TRUE(non_ascii) << "the synthetic set has non-ASCII names";
  // Valid UTF-8 throughout: iconv refuses anything else.
  WriteFileOrDie(dir_->Sub("names.txt"), names);
  EXPECT_EQ(Shell("iconv -f UTF-8 -t UTF-8 " + Q(dir_->Sub("names.txt")) + " >/dev/null").exit_code, 0);
}

TEST_F(MountTreeTest, FindAndDuCountHardLinksOnce) {
  CommandResult find = Shell("find " + Q(Mnt()) + " >/dev/null");
  EXPECT_EQ(find.exit_code, 0) << find.output;
  uint64_t source_bytes = 0;
  for (const SyntheticFile& f : *files_) source_bytes += std::filesystem::file_size(f.path);
  EXPECT_EQ(Shell("du -sb " + Q(Mnt()) + " >/dev/null").exit_code, 0);
  // The identified trees: each instance is one inode with two names there.
  // (/anonymized holds different, de-identified bytes and is not counted;
  // neither are derived files such as series.nii, which are not instances.)
  CommandResult du = Shell("find " + Q(Mnt() + "/patients") + " " + Q(Mnt() + "/studies") +
                           " -name '*.dcm' -print0 | du -cb --files0-from=- | tail -n 1 | cut -f1");
  ASSERT_EQ(du.exit_code, 0) << du.output;
  uint64_t du_bytes = std::stoull(du.output);
  EXPECT_GE(du_bytes, source_bytes);
  EXPECT_LT(du_bytes, source_bytes * 3 / 2) << "instances under both views counted twice";
}

TEST_F(MountTreeTest, InodesAndMtimesStableAcrossRemount) {
  std::string before = StableListing(Mnt());
  ASSERT_TRUE(mount_->Unmount()) << mount_->log();
  delete mount_;
  mount_ = new MountedArchive(dir_->Sub("archive"), dir_->Sub("mnt"));
  ASSERT_TRUE(mount_->ok()) << mount_->log();
  EXPECT_EQ(before, StableListing(Mnt()));
}

}  // namespace
}  // namespace dcmfs::testing
