// The mount's /bagit/<StudyUID>/ bags and /.dcmfs/MANIFEST-sha256.txt,
// checked with GNU sha256sum (the standard fixity tool) in the mount and on
// copies made with cp -r / cp -a: every study is a bag whose manifests
// verify and whose payload is exactly that study's original files; the
// archive manifest checks a full copy of /patients and catches a changed
// byte; sizes are exact before any read; both follow new ingests.
#include <sys/stat.h>

#include <set>
#include <thread>

#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

size_t Lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

class BagitMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = MakeSynthetic(dir_.Sub("dicom"));
    ASSERT_FALSE(files_.empty());
    ASSERT_EQ(Dcmfs("ingest --no-progress " + Q(Archive()) + " " + Q(dir_.Sub("dicom"))).exit_code, 0);
  }
  std::string Archive() const { return dir_.Sub("archive"); }
  CommandResult Check(const std::string& folder, const std::string& manifest) {
    return Shell("cd " + Q(folder) + " && sha256sum -c --strict --quiet " + Q(manifest));
  }
  std::map<std::string, std::set<std::string>> HashesByStudy() const {
    std::map<std::string, std::set<std::string>> out;
    for (const SyntheticFile& f : files_) out[f.study_uid].insert(HexOfFile(f.path));
    return out;
  }

  TempDir dir_;
  std::vector<SyntheticFile> files_;
};

TEST_F(BagitMountTest, EveryStudyIsAValidBagInTheMountAndAfterCpR) {
  MountedArchive mount(Archive(), dir_.Sub("mnt"), std::vector<std::string>{"--identified-mode", "0750"});
  ASSERT_TRUE(mount.ok()) << mount.log();
  const std::string bagit = mount.path() + "/bagit";
  const auto expected = HashesByStudy();

  std::set<std::string> listed;
  for (const auto& e : std::filesystem::directory_iterator(bagit)) listed.insert(e.path().filename());
  std::set<std::string> studies;
  for (const auto& [uid, hashes] : expected) studies.insert(uid);
  EXPECT_EQ(listed, studies);

  // Bags hold identified bytes: the identified trees' mode, not 0555.
  struct stat st_bagit {}, st_patients {};
  ASSERT_EQ(stat(bagit.c_str(), &st_bagit), 0);
  ASSERT_EQ(stat((mount.path() + "/patients").c_str(), &st_patients), 0);
  EXPECT_EQ(st_bagit.st_mode, st_patients.st_mode);
  EXPECT_EQ(st_bagit.st_mode & 07, 0u) << "others may not enter";

  for (const auto& [uid, hashes] : expected) {
    const std::string bag = bagit + "/" + uid;
    for (const char* m : {"manifest-sha256.txt", "tagmanifest-sha256.txt"}) {
      CommandResult r = Check(bag, m);
      EXPECT_EQ(r.exit_code, 0) << uid << " " << m << "\n" << r.output;
    }
    EXPECT_EQ(ReadFileOrEmpty(bag + "/bagit.txt"),
              "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
    // The payload is that study's originals, nothing more.
    std::set<std::string> payload;
    for (const std::string& p : FilesBelow(bag + "/data")) payload.insert(HexOfFile(p));
    EXPECT_EQ(payload, hashes) << uid;
    EXPECT_EQ(Lines(ReadFileOrEmpty(bag + "/manifest-sha256.txt")), hashes.size());
    const std::string info = ReadFileOrEmpty(bag + "/bag-info.txt");
    const std::string bytes =
        Shell("find " + Q(bag + "/data") + " -type f -printf '%s\\n' | awk '{s+=$1} END {print s}'").output;
    EXPECT_EQ(BagInfoField(info, "Payload-Oxum"),
              bytes.substr(0, bytes.find('\n')) + "." + std::to_string(hashes.size()));
    EXPECT_EQ(BagInfoField(info, "DICOM-Instances"), std::to_string(hashes.size()));
    // Every size stat reports before a read is the size read (ls -l, then cat).
    CommandResult sizes = Shell("cd " + Q(bag) + " && for f in *.txt; do "
                                "[ $(stat -c %s \"$f\") -eq $(cat \"$f\" | wc -c) ] || echo \"$f\"; done");
    EXPECT_EQ(sizes.output, "") << uid;
  }

  // cp -r hands over a bag that verifies on its own.
  const std::string uid = *studies.begin();
  const std::string copy = dir_.Sub("copy");
  ASSERT_EQ(Shell("cp -r " + Q(bagit + "/" + uid) + " " + Q(copy)).exit_code, 0);
  EXPECT_EQ(Check(copy, "manifest-sha256.txt").exit_code, 0);
  EXPECT_EQ(Check(copy, "tagmanifest-sha256.txt").exit_code, 0);
  const std::string victim = FilesBelow(copy + "/data").front();
  std::string b = ReadFileOrEmpty(victim);
  b[b.size() / 2] ^= 1;
  WriteFileOrDie(victim, b);
  EXPECT_NE(Check(copy, "manifest-sha256.txt").exit_code, 0);
  // Unknown study: ENOENT.
  EXPECT_FALSE(std::filesystem::exists(bagit + "/1.2.3.4.5.6.7.8.9"));
}

TEST_F(BagitMountTest, ArchiveManifestChecksAFullCopyAndFollowsIngests) {
  MountedArchive mount(Archive(), dir_.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  const std::string manifest = mount.path() + "/.dcmfs/MANIFEST-sha256.txt";
  struct stat st {};
  ASSERT_EQ(stat(manifest.c_str(), &st), 0);
  const std::string text = ReadFileOrEmpty(manifest);
  EXPECT_EQ(static_cast<size_t>(st.st_size), text.size()) << "size exact before the read";
  EXPECT_EQ(Lines(text), files_.size());
  // Every original once, by its own hash (computed here, not by dcmfs).
  std::set<std::string> sums, originals;
  for (size_t at = 0; at < text.size(); at = text.find('\n', at) + 1) sums.insert(text.substr(at, 64));
  for (const SyntheticFile& f : files_) originals.insert(HexOfFile(f.path));
  EXPECT_EQ(sums, originals);

  // Checked in the mount, and on a copy with one standard command.
  CommandResult in_mount = Check(mount.path(), manifest);
  EXPECT_EQ(in_mount.exit_code, 0) << in_mount.output;
  const std::string copy = dir_.Sub("copy");
  std::filesystem::create_directories(copy);
  ASSERT_EQ(Shell("cp -a " + Q(mount.path() + "/patients") + " " + Q(copy + "/")).exit_code, 0);
  CommandResult on_copy = Check(copy, manifest);
  EXPECT_EQ(on_copy.exit_code, 0) << on_copy.output;
  // (cp -a also copied the derived files, which the manifest does not list.)
  std::string victim;
  for (const std::string& p : FilesBelow(copy + "/patients")) {
    if (p.ends_with(".dcm")) victim = p;
  }
  ASSERT_FALSE(victim.empty());
  std::string b = ReadFileOrEmpty(victim);
  b[b.size() / 3] ^= 0x10;
  WriteFileOrDie(victim, b);
  CommandResult caught = Check(copy, manifest);
  EXPECT_NE(caught.exit_code, 0);
  EXPECT_NE(caught.output.find("FAILED"), std::string::npos) << caught.output;

  // A new study ingested while mounted shows up in the manifest and in /bagit.
  SyntheticOptions more;
  more.seed = 99;
  std::vector<SyntheticFile> added = MakeSynthetic(dir_.Sub("more"), more);
  ASSERT_FALSE(added.empty());
  ASSERT_EQ(Dcmfs("ingest --no-progress " + Q(Archive()) + " " + Q(dir_.Sub("more"))).exit_code, 0);
  size_t lines = 0;
  for (int i = 0; i < 50 && lines != files_.size() + added.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    lines = Lines(ReadFileOrEmpty(manifest));
  }
  EXPECT_EQ(lines, files_.size() + added.size());
  EXPECT_EQ(Check(mount.path(), manifest).exit_code, 0);
  EXPECT_TRUE(std::filesystem::is_directory(mount.path() + "/bagit/" + added.front().study_uid));
}

}  // namespace
}  // namespace dcmfs::testing
