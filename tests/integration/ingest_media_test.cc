// dcmfs ingest reads interchange media: a CD-style folder whose DICOMDIR was
// written by DCMTK's dcmmkdir (read back in lower case, with an autorun.inf
// beside it), and .zip archives made by Info-ZIP's zip, including one that
// holds such a medium. Bytes in the mount equal the originals.
#include <algorithm>

#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

class IngestMediaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = MakeSynthetic(dir_.Sub("dicom"));
    ASSERT_FALSE(files_.empty());
    // Uncompressed files only: dcmmkdir's General Purpose CD profile (PS3.11 Annex D)
    // takes Explicit VR Little Endian.
    std::vector<SyntheticFile> plain;
    for (const SyntheticFile& f : files_) {
      if (plain.size() == 10) break;
      if (Shell("dcmdump -q +P 0002,0010 " + Q(f.path)).output.find("=LittleEndianExplicit") !=
          std::string::npos) {
        plain.push_back(f);
      }
    }
    ASSERT_EQ(plain.size(), 10u);
    const std::string media = dir_.Sub("cd");
    std::filesystem::create_directories(media + "/DICOM/PAT1");
    for (size_t i = 0; i < plain.size(); ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "IM%05zu", i + 1);
      std::filesystem::copy_file(plain[i].path, media + "/DICOM/PAT1/" + name);
      on_media_.push_back(plain[i]);
    }
    CommandResult mk = Shell("cd " + Q(media) + " && dcmmkdir +r -Pgp DICOM");
    ASSERT_EQ(mk.exit_code, 0) << mk.output;
    // A medium read back in lower case, with software beside the images.
    ASSERT_EQ(Shell("cd " + Q(media) + " && mv DICOM dicom && mv dicom/PAT1 dicom/pat1 && "
                    "for f in dicom/pat1/*; do mv \"$f\" \"$(echo $f | tr A-Z a-z)\"; done && "
                    "echo '[autorun]' > autorun.inf").exit_code, 0);
  }
  std::string Archive() const { return dir_.Sub("archive"); }
  void ExpectInMount(const std::vector<SyntheticFile>& expected) {
    MountedArchive mount(Archive(), dir_.Sub("mnt"));
    ASSERT_TRUE(mount.ok()) << mount.log();
    for (const SyntheticFile& f : expected) {
      EXPECT_EQ(HexOfFile(StudiesPath(mount.path(), f)), HexOfFile(f.path)) << f.path;
    }
  }

  TempDir dir_;
  std::vector<SyntheticFile> files_, on_media_;
};

TEST_F(IngestMediaTest, DicomdirFolderReadInLowerCaseIgnoresTheSoftwareBesideIt) {
  CommandResult r = Dcmfs("ingest --no-progress " + Q(Archive()) + " " + Q(dir_.Sub("cd")));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("new instances:   " + std::to_string(on_media_.size())), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("1 DICOMDIR(s) read"), std::string::npos) << r.output;
  ExpectInMount(on_media_);
}

TEST_F(IngestMediaTest, AFileTheDicomdirListsButTheMediumLacksIsReported) {
  std::filesystem::remove(dir_.Sub("cd") + "/dicom/pat1/im00003");
  CommandResult r = Dcmfs("ingest --no-progress " + Q(Archive()) + " " + Q(dir_.Sub("cd")));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("IM00003: listed in the DICOMDIR but missing"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("new instances:   " + std::to_string(on_media_.size() - 1)),
            std::string::npos) << r.output;
}

TEST_F(IngestMediaTest, ZipArchivesOfFoldersAndOfAMediumAreRead) {
  ASSERT_EQ(Shell("cd " + Q(dir_.path()) + " && zip -qr plain.zip dicom && echo junk > junk.txt "
                  "&& zip -q plain.zip junk.txt && cd cd && zip -qr ../medium.zip .").exit_code, 0);
  CommandResult r = Dcmfs("ingest --no-progress " + Q(Archive()) + " " + Q(dir_.Sub("plain.zip")) +
                          " " + Q(dir_.Sub("medium.zip")));
  EXPECT_EQ(r.exit_code, 2) << r.output;  // junk.txt is refused
  EXPECT_NE(r.output.find("plain.zip!/junk.txt: not DICOM"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("new instances:   " + std::to_string(files_.size())), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("2 zip archive(s), 1 DICOMDIR(s) read"), std::string::npos) << r.output;
  // Nothing extracted is left behind.
  EXPECT_TRUE(FilesBelow(Archive() + "/tmp").empty());
  ExpectInMount(files_);

  WriteFileOrDie(dir_.Sub("broken.zip"), "PK\x03\x04 this is not really a zip");
  CommandResult broken = Dcmfs("ingest --no-progress " + Q(Archive()) + " " + Q(dir_.Sub("broken.zip")));
  EXPECT_EQ(broken.exit_code, 2) << broken.output;
  EXPECT_NE(broken.output.find("not a readable zip archive"), std::string::npos) << broken.output;
}

}  // namespace
}  // namespace dcmfs::testing
