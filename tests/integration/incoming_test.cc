// The writable /incoming, driven by real copy tools: `cp -r` and `rsync -r`
// of a multi-series set land under /patients byte for byte and leave no
// staged file behind; a non-DICOM file and a truncated DICOM file are
// quarantined and listed in REJECTED.txt; writes elsewhere fail; `-o ro`
// has no /incoming; and the mount's SCP and /incoming share one writer.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/integration/dicom_net.h"
#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

using Clock = std::chrono::steady_clock;

class IncomingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.Sub("empty"));
    CommandResult r = Dcmfs("ingest --no-progress " + Q(Archive()) + " " + Q(dir_.Sub("empty")));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  std::string Archive() const { return dir_.Sub("archive"); }

  // Waits until every file is readable in the mount; returns how many are.
  static size_t WaitVisible(const std::string& mnt, const std::vector<SyntheticFile>& files,
                            std::chrono::seconds limit) {
    const Clock::time_point until = Clock::now() + limit;
    size_t visible = 0;
    while (true) {
      visible = 0;
      for (const SyntheticFile& f : files) {
        struct stat st;
        if (stat(StudiesPath(mnt, f).c_str(), &st) == 0) ++visible;
      }
      if (visible == files.size() || Clock::now() > until) return visible;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  // Files and folders left in ARCHIVE/incoming/{staged,claimed}.
  size_t StagedLeft() const {
    size_t n = 0;
    for (const char* sub : {"/incoming/staged", "/incoming/claimed"}) {
      std::error_code ec;
      for (auto it = std::filesystem::recursive_directory_iterator(Archive() + sub, ec);
           !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        ++n;
      }
    }
    return n;
  }
  bool WaitNoStaged(std::chrono::seconds limit) const {
    const Clock::time_point until = Clock::now() + limit;
    while (StagedLeft() != 0 && Clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return StagedLeft() == 0;
  }
  static std::string Differing(const std::string& mnt, const std::vector<SyntheticFile>& files) {
    std::string out;
    for (const SyntheticFile& f : files) {
      if (Shell("cmp -s " + Q(f.path) + " " + Q(StudiesPath(mnt, f))).exit_code != 0) {
        out += f.path + "\n";
      }
    }
    return out;
  }

  TempDir dir_;
};

TEST_F(IncomingTest, CpDashRStudyAppearsUnderPatientsByteForByte) {
  std::vector<SyntheticFile> files = MakeSynthetic(dir_.Sub("dicom"));
  ASSERT_GE(files.size(), 20u);
  MountedArchive mount(Archive(), dir_.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  CommandResult cp = Shell("cp -r " + Q(dir_.Sub("dicom")) + " " + Q(mount.path() + "/incoming/"));
  ASSERT_EQ(cp.exit_code, 0) << cp.output << mount.log();
  EXPECT_EQ(WaitVisible(mount.path(), files, std::chrono::seconds(20)), files.size())
      << mount.log();
  EXPECT_EQ(Differing(mount.path(), files), "");
  // Under /patients too (the same inode as /studies).
  EXPECT_EQ(Shell("find " + Q(mount.path() + "/patients") + " -name '*.dcm' | wc -l").output,
            std::to_string(files.size()) + "\n");
  EXPECT_TRUE(WaitNoStaged(std::chrono::seconds(20)))
      << Shell("find " + Q(Archive() + "/incoming")).output;
  EXPECT_EQ(Shell("ls -A " + Q(mount.path() + "/incoming")).output, "REJECTED.txt\n");
  ASSERT_TRUE(mount.Unmount()) << mount.log();
  CommandResult verify = Dcmfs("verify " + Q(Archive()));
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

TEST_F(IncomingTest, RsyncTempFileAndRenameIsIngested) {
  std::vector<SyntheticFile> files = MakeSynthetic(dir_.Sub("dicom"));
  MountedArchive mount(Archive(), dir_.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  CommandResult rs = Shell("rsync -r " + Q(dir_.Sub("dicom") + "/") + " " +
                           Q(mount.path() + "/incoming/from-rsync/") + " 2>&1");
  ASSERT_EQ(rs.exit_code, 0) << rs.output << mount.log();
  EXPECT_EQ(WaitVisible(mount.path(), files, std::chrono::seconds(20)), files.size())
      << mount.log();
  EXPECT_EQ(Differing(mount.path(), files), "");
  EXPECT_TRUE(WaitNoStaged(std::chrono::seconds(20)));
  EXPECT_EQ(ReadFileOrEmpty(mount.path() + "/incoming/REJECTED.txt"), "");
}

TEST_F(IncomingTest, NonDicomAndTruncatedFilesAreQuarantinedAndListed) {
  std::vector<SyntheticFile> files = MakeSynthetic(dir_.Sub("dicom"));
  ASSERT_FALSE(files.empty());
  std::filesystem::create_directories(dir_.Sub("bad"));
  WriteFileOrDie(dir_.Sub("bad/notes.txt"), "not a DICOM file at all\n");
  const std::string whole = ReadFileOrEmpty(files[0].path);
  WriteFileOrDie(dir_.Sub("bad/cut.dcm"), whole.substr(0, whole.size() / 2));
  MountedArchive mount(Archive(), dir_.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  CommandResult cp = Shell("cp -r " + Q(dir_.Sub("bad")) + " " + Q(mount.path() + "/incoming/"));
  ASSERT_EQ(cp.exit_code, 0) << cp.output;
  const std::string rejected = mount.path() + "/incoming/REJECTED.txt";
  std::string text;
  for (Clock::time_point until = Clock::now() + std::chrono::seconds(20); Clock::now() < until;
       std::this_thread::sleep_for(std::chrono::milliseconds(200))) {
    text = ReadFileOrEmpty(rejected);
    if (text.find("cut.dcm") != std::string::npos && text.find("notes.txt") != std::string::npos) break;
  }
  EXPECT_NE(text.find("/incoming/bad/notes.txt\t"), std::string::npos) << text << mount.log();
  EXPECT_NE(text.find("/incoming/bad/cut.dcm\t"), std::string::npos) << text;
  EXPECT_NE(text.find("\tquarantine/"), std::string::npos) << text;
  // st_size is exact: stat agrees with what read returns.
  struct stat st;
  ASSERT_EQ(stat(rejected.c_str(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), text.size());
  // Kept byte for byte in the quarantine, not indexed.
  EXPECT_EQ(Shell("cat " + Q(Archive()) + "/quarantine/*.bin | grep -c 'not a DICOM file'").output,
            "1\n");
  EXPECT_EQ(Shell("ls " + Q(mount.path() + "/patients") + " | wc -l").output, "0\n");
  // The mount keeps serving, and good files still go in.
  CommandResult cp2 = Shell("cp " + Q(files[0].path) + " " + Q(mount.path() + "/incoming/"));
  ASSERT_EQ(cp2.exit_code, 0) << cp2.output;
  EXPECT_EQ(WaitVisible(mount.path(), {files[0]}, std::chrono::seconds(20)), 1u) << mount.log();
  ASSERT_TRUE(mount.Unmount());
  // REJECTED.txt survives a remount.
  MountedArchive again(Archive(), dir_.Sub("mnt"));
  ASSERT_TRUE(again.ok()) << again.log();
  EXPECT_EQ(ReadFileOrEmpty(again.path() + "/incoming/REJECTED.txt"), text);
}

TEST_F(IncomingTest, WritesOutsideIncomingFailAndReadOnlyMountHasNoIncoming) {
  std::vector<SyntheticFile> files = MakeSynthetic(dir_.Sub("dicom"));
  ASSERT_EQ(Dcmfs("ingest --no-progress " + Q(Archive()) + " " + Q(dir_.Sub("dicom"))).exit_code, 0);
  {
    MountedArchive mount(Archive(), dir_.Sub("mnt"));
    ASSERT_TRUE(mount.ok()) << mount.log();
    const std::string m = mount.path();
    for (const std::string& cmd :
         {"touch " + Q(m + "/x"), "touch " + Q(m + "/patients/x"), "mkdir " + Q(m + "/studies/y"),
          "sh -c 'echo > " + m + "/anonymized/z'", "sh -c 'echo >> " + StudiesPath(m, files[0]) + "'",
          "rm -f " + Q(StudiesPath(m, files[0])), "rm -f " + Q(m + "/incoming/REJECTED.txt")}) {
      CommandResult r = Shell(cmd + " 2>&1");
      EXPECT_NE(r.exit_code, 0) << cmd;
      EXPECT_TRUE(r.output.find("Read-only file system") != std::string::npos ||
                  r.output.find("Permission denied") != std::string::npos ||
                  r.output.find("Operation not permitted") != std::string::npos)
          << cmd << ": " << r.output;
    }
    // Inside /incoming: the usual folder operations work.
    EXPECT_EQ(Shell("cd " + Q(m + "/incoming") + " && mkdir -p a/b && echo hi > a/b/f.tmp && "
                    "mv a/b/f.tmp a/g && rm a/g && rmdir a/b a").exit_code, 0);
  }
  MountedArchive ro(Archive(), dir_.Sub("mnt"), std::vector<std::string>{"-o", "ro"});
  ASSERT_TRUE(ro.ok()) << ro.log();
  struct stat st;
  EXPECT_NE(stat((ro.path() + "/incoming").c_str(), &st), 0);
  CommandResult touch = Shell("touch " + Q(ro.path() + "/incoming/x") + " 2>&1");
  EXPECT_NE(touch.exit_code, 0);
  EXPECT_EQ(Shell("ls " + Q(ro.path())).output, "anonymized\nbagit\npatients\nstudies\n");
}

TEST_F(IncomingTest, ScpAndIncomingShareTheWriter) {
  std::vector<SyntheticFile> files = MakeSynthetic(dir_.Sub("dicom"));
  const std::string port = std::to_string(FreePort());
  MountedArchive mount(Archive(), dir_.Sub("mnt"),
                       std::vector<std::string>{"--scp-port", port, "--aet", "DCMFS"});
  ASSERT_TRUE(mount.ok()) << mount.log();
  ASSERT_TRUE(WaitForScpEcho(port, "MODALITY")) << mount.log();  // its SCP listens
  std::vector<std::string> patients;
  for (const auto& e : std::filesystem::directory_iterator(dir_.Sub("dicom"))) {
    patients.push_back(e.path().string());
  }
  std::sort(patients.begin(), patients.end());
  ASSERT_GE(patients.size(), 2u);
  // One patient over the network while the others are copied into /incoming.
  std::string cmd = StorescuCommand(dir_.path(), "MODALITY", port) + " " + Q(patients[0]) +
                    " > " + Q(dir_.Sub("storescu.log")) + " 2>&1 & cp -r";
  for (size_t i = 1; i < patients.size(); ++i) cmd += " " + Q(patients[i]);
  cmd += " " + Q(mount.path() + "/incoming/") + "; c=$?; wait -n; s=$?; exit $((c + s))";
  CommandResult both = Shell("bash -c " + Q(cmd));
  ASSERT_EQ(both.exit_code, 0) << both.output << ReadFileOrEmpty(dir_.Sub("storescu.log"))
                               << mount.log();
  EXPECT_EQ(WaitVisible(mount.path(), files, std::chrono::seconds(20)), files.size())
      << mount.log();
  EXPECT_TRUE(WaitNoStaged(std::chrono::seconds(20)));
  // The SCP is still the one writer: it keeps receiving afterwards.
  CommandResult again = Shell(StorescuCommand(dir_.path(), "MODALITY", port) + " " + Q(patients[0]));
  EXPECT_EQ(again.exit_code, 0) << again.output;
  ASSERT_TRUE(mount.Unmount());
  CommandResult verify = Dcmfs("verify " + Q(Archive()));
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

}  // namespace
}  // namespace dcmfs::testing
