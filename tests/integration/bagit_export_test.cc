// dcmfs export --bagit: GNU sha256sum verifies the payload and tag manifests,
// the payload holds the ingested bytes exactly, Payload-Oxum and counts agree
// with what find(1) and the synthetic set say, selectors narrow the bag, a
// changed byte is caught, and --anonymized carries no original name.
#include <set>

#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

class BagitExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = MakeSynthetic(dir_.Sub("dicom"));
    ASSERT_FALSE(files_.empty());
    ASSERT_EQ(Dcmfs("ingest --no-progress " + Q(Archive()) + " " + Q(dir_.Sub("dicom"))).exit_code,
              0);
  }
  std::string Archive() const { return dir_.Sub("archive"); }
  CommandResult Check(const std::string& bag, const std::string& manifest) {
    return Shell("cd " + Q(bag) + " && sha256sum -c --strict " + manifest);
  }

  TempDir dir_;
  std::vector<SyntheticFile> files_;
};

TEST_F(BagitExportTest, WholeArchiveVerifiesWithSha256sumAndHoldsTheOriginalBytes) {
  const std::string bag = dir_.Sub("bag");
  CommandResult r = Dcmfs("export --bagit " + Q(Archive()) + " " + Q(bag));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  CommandResult payload = Check(bag, "manifest-sha256.txt");
  EXPECT_EQ(payload.exit_code, 0) << payload.output;
  CommandResult tags = Check(bag, "tagmanifest-sha256.txt");
  EXPECT_EQ(tags.exit_code, 0) << tags.output;
  EXPECT_EQ(ReadFileOrEmpty(bag + "/bagit.txt"),
            "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");

  // Every original is in the bag, byte for byte (by hash), and nothing else.
  std::set<std::string> originals, in_bag;
  for (const SyntheticFile& f : files_) originals.insert(HexOfFile(f.path));
  for (const std::string& p : FilesBelow(bag + "/data")) in_bag.insert(HexOfFile(p));
  EXPECT_EQ(in_bag, originals);
  EXPECT_EQ(FilesBelow(bag + "/data").size(), files_.size());

  // bag-info.txt against find(1) and the synthetic set.
  const std::string info = ReadFileOrEmpty(bag + "/bag-info.txt");
  const std::string bytes =
      Shell("find " + Q(bag + "/data") + " -type f -printf '%s\\n' | awk '{s+=$1} END {print s}'")
          .output;
  EXPECT_EQ(BagInfoField(info, "Payload-Oxum"),
            bytes.substr(0, bytes.find('\n')) + "." + std::to_string(files_.size()));
  std::set<std::string> studies, series;
  for (const SyntheticFile& f : files_) {
    studies.insert(f.study_uid);
    series.insert(f.series_uid);
  }
  EXPECT_EQ(BagInfoField(info, "DICOM-Instances"), std::to_string(files_.size()));
  EXPECT_EQ(BagInfoField(info, "DICOM-Studies"), std::to_string(studies.size()));
  EXPECT_EQ(BagInfoField(info, "DICOM-Series"), std::to_string(series.size()));
  EXPECT_FALSE(BagInfoField(info, "Bagging-Date").empty());
  EXPECT_FALSE(BagInfoField(info, "DICOM-Study-Dates").empty());

  // A changed byte in the payload is caught by the standard tool.
  const std::string victim = FilesBelow(bag + "/data").front();
  std::string b = ReadFileOrEmpty(victim);
  b[b.size() / 2] ^= 1;
  WriteFileOrDie(victim, b);
  EXPECT_NE(Check(bag, "manifest-sha256.txt").exit_code, 0);

  // An existing, non-empty destination is refused.
  EXPECT_NE(Dcmfs("export --bagit " + Q(Archive()) + " " + Q(bag)).exit_code, 0);
}

TEST_F(BagitExportTest, SelectorsNarrowTheBagToAStudyOrASeries) {
  const SyntheticFile& first = files_.front();
  const std::string by_study = dir_.Sub("study");
  ASSERT_EQ(Dcmfs("export --bagit --study " + first.study_uid + " " + Q(Archive()) + " " +
                  Q(by_study)).exit_code, 0);
  size_t in_study = 0, in_series = 0;
  for (const SyntheticFile& f : files_) {
    in_study += f.study_uid == first.study_uid;
    in_series += f.series_uid == first.series_uid;
  }
  EXPECT_EQ(FilesBelow(by_study + "/data").size(), in_study);
  EXPECT_EQ(Check(by_study, "manifest-sha256.txt").exit_code, 0);

  const std::string by_series = dir_.Sub("series");
  ASSERT_EQ(Dcmfs("export --bagit --series " + first.series_uid + " " + Q(Archive()) + " " +
                  Q(by_series)).exit_code, 0);
  EXPECT_EQ(FilesBelow(by_series + "/data").size(), in_series);
  EXPECT_EQ(BagInfoField(ReadFileOrEmpty(by_series + "/bag-info.txt"), "DICOM-Series"), "1");

  CommandResult none = Dcmfs("export --bagit --study 1.2.3.4.5.6.7 " + Q(Archive()) + " " +
                             Q(dir_.Sub("none")));
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.output.find("nothing in the archive matches"), std::string::npos) << none.output;
}

TEST_F(BagitExportTest, AnonymizedBagVerifiesAndCarriesNoOriginalNames) {
  const std::string bag = dir_.Sub("anon");
  CommandResult r = Dcmfs("export --bagit --anonymized " + Q(Archive()) + " " + Q(bag));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Check(bag, "manifest-sha256.txt").exit_code, 0);
  EXPECT_EQ(Check(bag, "tagmanifest-sha256.txt").exit_code, 0);
  EXPECT_EQ(BagInfoField(ReadFileOrEmpty(bag + "/bag-info.txt"), "DICOM-De-Identified"),
            "yes (PS3.15 Annex E)");
  // PatientName of the synthetic set is "Doe^Jane" and the like: neither in
  // the paths nor in any byte of the payload; pydicom reads every file.
  CommandResult grep = Shell("grep -rl 'Doe^' " + Q(bag + "/data") + "; find " + Q(bag + "/data") +
                             " | grep -c Doe");
  EXPECT_EQ(grep.output, "0\n");
  const std::string script =
      "import pydicom,sys,glob\n"
      "n=0\n"
      "for p in glob.glob(sys.argv[1]+'/data/**/*.dcm', recursive=True):\n"
      "    d=pydicom.dcmread(p); assert 'Doe' not in str(d.PatientName), p; n+=1\n"
      "print(n)\n";
  WriteFileOrDie(dir_.Sub("read.py"), script);
  CommandResult read = Shell("/usr/bin/python3 " + Q(dir_.Sub("read.py")) + " " + Q(bag));
  EXPECT_EQ(read.output, std::to_string(FilesBelow(bag + "/data").size()) + "\n") << read.output;
  EXPECT_GT(FilesBelow(bag + "/data").size(), 0u);
}

}  // namespace
}  // namespace dcmfs::testing
