// dcmfs backup while the archive is mounted and receiving over DICOM: every
// instance storescu saw acknowledged before the backup began is in the copy,
// `dcmfs verify` passes on it, and (once quiet) a backup mounts with the same
// tree, inode numbers, mtimes and bytes as the archive.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>
#include <thread>

#include "tests/integration/dicom_net.h"
#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

// Files whose C-STORE storescu -v reported as successful in `log`.
std::set<std::string> AcknowledgedFiles(const std::string& log) {
  std::set<std::string> acked;
  std::istringstream in(log);
  std::string line, current;
  while (std::getline(in, line)) {
    const std::string sending = "Sending file: ";
    size_t at = line.find(sending);
    if (at != std::string::npos) current = line.substr(at + sending.size());
    if (line.find("Received Store Response (Success)") != std::string::npos && !current.empty()) {
      acked.insert(current);
    }
  }
  return acked;
}

TEST(BackupTest, WhileReceivingHoldsEveryAcknowledgedInstanceAndRestoresTheSameTree) {
  TempDir dir;
  const std::string archive = dir.Sub("archive");
  // One synthetic set (its UIDs are fixed): the small patients are ingested
  // before the mount; the series of the two big ones arrive over DICOM while
  // the backup runs.
  SyntheticOptions options;
  options.ct_slices = 150;
  options.mr_slices = 60;
  std::vector<SyntheticFile> all = MakeSynthetic(dir.Sub("dicom"), options);
  std::vector<std::string> patients;
  for (const auto& e : std::filesystem::directory_iterator(dir.Sub("dicom"))) {
    patients.push_back(e.path().string());
  }
  std::sort(patients.begin(), patients.end());
  ASSERT_GE(patients.size(), 3u);
  std::vector<SyntheticFile> early, late;
  for (const SyntheticFile& f : all) {
    const bool big = f.path.starts_with(patients[0] + "/") || f.path.starts_with(patients[1] + "/");
    (big ? late : early).push_back(f);
  }
  ASSERT_FALSE(early.empty());
  ASSERT_GT(late.size(), 300u);
  std::string early_dirs;
  for (size_t i = 2; i < patients.size(); ++i) early_dirs += " " + Q(patients[i]);
  ASSERT_EQ(Dcmfs("ingest --no-progress " + Q(archive) + early_dirs).exit_code, 0);
  std::string late_dirs[4];
  std::string series = Shell("find " + Q(patients[0]) + " " + Q(patients[1]) +
                             " -mindepth 2 -maxdepth 2 -type d | sort").output;
  std::istringstream series_lines(series);
  std::string line;
  for (int i = 0; std::getline(series_lines, line); ++i) late_dirs[i % 4] += " " + Q(line);

  const std::string port = std::to_string(FreePort());
  MountedArchive mount(archive, dir.Sub("mnt"), {"--scp-port", port, "--aet", "DCMFS"});
  ASSERT_TRUE(mount.ok()) << mount.log();
  ASSERT_TRUE(WaitForScpEcho(port, "S0")) << mount.log();  // its SCP listens

  // Up to four senders stream `late` while the backup runs.
  std::string cmd;
  for (int i = 0; i < 4; ++i) {
    if (late_dirs[i].empty()) continue;
    cmd += StorescuCommand(dir.path(), "S" + std::to_string(i), port, "-v") + late_dirs[i] + " > " + Q(dir.Sub("s" + std::to_string(i) + ".log")) +
           " 2>&1 & ";
  }
  cmd += "wait";
  std::thread senders([&] { Shell("bash -c " + Q(cmd)); });
  // The backup starts once stores are being acknowledged. A fixed 700 ms
  // wait was too short for storescu's start on a loaded CI machine (nothing
  // acknowledged yet); polling starts as early as possible either way, and
  // 60 s still fails an SCP that acknowledges nothing.
  std::set<std::string> acked;
  for (const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
       acked.empty() && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (int i = 0; i < 4; ++i) {
      for (const std::string& f : AcknowledgedFiles(ReadFileOrEmpty(dir.Sub("s" + std::to_string(i) + ".log")))) {
        acked.insert(f);
      }
    }
  }
  CommandResult backup = Dcmfs("backup " + Q(archive) + " " + Q(dir.Sub("backup1")));
  senders.join();
  ASSERT_EQ(backup.exit_code, 0) << backup.output;
  EXPECT_FALSE(acked.empty()) << "no store was acknowledged before the backup: test too slow?";
  std::cout << "acknowledged before the backup began: " << acked.size() << " of " << late.size()
            << "\n";

  CommandResult verify = Dcmfs("verify " + Q(dir.Sub("backup1")));
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  {
    MountedArchive copy(dir.Sub("backup1"), dir.Sub("mnt1"));
    ASSERT_TRUE(copy.ok()) << copy.log();
    for (const SyntheticFile& f : early) {
      EXPECT_EQ(HexOfFile(StudiesPath(copy.path(), f)), HexOfFile(f.path)) << f.path;
    }
    std::vector<SyntheticFile> acked_files;
    for (const SyntheticFile& f : late) {
      if (acked.count(f.path)) acked_files.push_back(f);
    }
    EXPECT_EQ(acked_files.size(), acked.size());
    // Each present with the dataset as sent (missing ones are listed too).
    EXPECT_EQ(DifferingDatasets(dir.path(), acked_files, copy.path()), "")
        << "instances acknowledged before the backup began";
  }

  // Quiet now: a second backup is the archive, inode for inode.
  ASSERT_EQ(Dcmfs("backup " + Q(archive) + " " + Q(dir.Sub("backup2"))).exit_code, 0);
  const std::string original = StableListing(mount.path());
  MountedArchive restored(dir.Sub("backup2"), dir.Sub("mnt2"));
  ASSERT_TRUE(restored.ok()) << restored.log();
  EXPECT_EQ(StableListing(restored.path()), original);
  for (const SyntheticFile& f : all) {
    ASSERT_EQ(HexOfFile(StudiesPath(restored.path(), f)), HexOfFile(StudiesPath(mount.path(), f)))
        << f.path;
  }
  // The secret came along privately, so /anonymized is the same too.
  struct stat st;
  ASSERT_EQ(stat((dir.Sub("backup2") + "/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadFileOrEmpty(dir.Sub("backup2") + "/secret"), ReadFileOrEmpty(archive + "/secret"));
  // A backup never overwrites.
  EXPECT_NE(Dcmfs("backup " + Q(archive) + " " + Q(dir.Sub("backup2"))).exit_code, 0);
}

}  // namespace
}  // namespace dcmfs::testing
