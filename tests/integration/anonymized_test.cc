// The anonymized view read with real tools: every file under /anonymized is
// valid DICOM for DCMTK's dcmdump and for pydicom, says PatientIdentityRemoved
// YES, keeps the original pixel data, and holds no original PHI (names and
// their components, IDs, birth date, accession, institution, physicians,
// study ID, instance UIDs) in its bytes or its path; UIDs map one to one.
// Images that may carry burned-in text are left out and named in EXCLUDED.txt.
// The scan reads derived files too: volumes, pictures, meshes, sidecars and
// the IIIF manifests, info.json and tiles (tests/integration/phi_check.h).
//
// The checks run in one Python script over the whole tree (pydicom is the
// independent reader); the C++ side asserts on its findings.
#include <algorithm>
#include <fstream>
#include <sstream>

#include "tests/integration/fixture.h"
#include "tests/integration/phi_check.h"

namespace dcmfs::testing {
namespace {

// Series folders of the anonymized view: the folders holding a SHA256SUMS.
std::vector<std::string> AnonSeriesFolders(const std::string& anon_root) {
  std::vector<std::string> out;
  for (const std::string& p : FilesBelow(anon_root)) {
    if (std::filesystem::path(p).filename() == "SHA256SUMS") {
      out.push_back(std::filesystem::path(p).parent_path().string());
    }
  }
  return out;
}

// A copy of `source` turned into an ultrasound image with no BurnedInAnnotation
// statement: PS3.15 E.1.1 warns such images often carry burned-in identity.
constexpr const char* kBurnedSopUid = "1.2.826.0.1.3680043.10.1234.999.1";
void WriteBurnedInCopy(const std::string& source, const std::string& dest) {
  std::filesystem::create_directories(std::filesystem::path(dest).parent_path());
  std::filesystem::copy_file(source, dest);
  CommandResult r = Shell(std::string("dcmodify -nb -m '(0008,0060)=US' ") +
                          "-m '(0008,0016)=1.2.840.10008.5.1.4.1.1.6.1' " +
                          "-m '(0008,0018)=" + kBurnedSopUid + "' -m '(0020,0013)=9999' " +
                          "-e '(0028,0301)' " + Q(dest));
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

class AnonymizedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = MakeSynthetic(dir_.Sub("dicom"));
    ASSERT_FALSE(files_.empty());
    WriteBurnedInCopy(files_[0].path, dir_.Sub("dicom/burned/us.dcm"));
    CommandResult r = Dcmfs("ingest " + Q(Archive()) + " " + Q(dir_.Sub("dicom")));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  std::string Archive() const { return dir_.Sub("archive"); }
  std::unique_ptr<MountedArchive> Mount(std::vector<std::string> args = {}) {
    auto m = std::make_unique<MountedArchive>(Archive(), dir_.Sub("mnt"), std::move(args));
    EXPECT_TRUE(m->ok()) << m->log();
    return m;
  }

  TempDir dir_;
  std::vector<SyntheticFile> files_;
};

TEST_F(AnonymizedTest, EveryFileIsValidDicomWithoutPhiAndWithConsistentUids) {
  auto mount = Mount();
  ASSERT_TRUE(mount->ok());
  Checker checker(dir_);
  CommandResult h = checker.Harvest(dir_.Sub("dicom"));
  ASSERT_EQ(h.exit_code, 0) << h.output;
  // The names, IDs and UIDs of the synthetic set are among what is looked for.
  std::string phi = ReadFileOrEmpty(dir_.Sub("phi.json"));
  for (const char* s : {"Smith", "Anna", "SYN-0001", "ACC0001", "19650412"}) {
    EXPECT_NE(phi.find(s), std::string::npos) << s << " not harvested";
  }
  EXPECT_NE(phi.find(files_[0].series_uid), std::string::npos);

  ScanResult scan = checker.Scan(mount->path() + "/anonymized");
  EXPECT_TRUE(scan.findings.empty()) << Joined(scan.findings);
  EXPECT_EQ(scan.totals["DCM"], files_.size()) << "every original but the burned-in one";
  EXPECT_EQ(scan.totals["MATCHED"], files_.size()) << "each file's pixels are its original's";
  EXPECT_GT(scan.totals["FILES"], scan.totals["DCM"]) << "SHA256SUMS per series";
  EXPECT_GT(scan.totals["DERIVED"], 20u) << "volumes, sidecars and pictures are scanned too";
  EXPECT_GT(scan.totals["IIIF"], 20u) << "manifests, info.json and tiles are scanned too";
}

// The view's volumes and pictures are the identified ones, byte for byte,
// except for the series with an excluded (burned-in) image, which has none;
// sidecars keep acquisition fields only.
TEST_F(AnonymizedTest, DerivedFilesAreThePixelsOnly) {
  auto mount = Mount();
  ASSERT_TRUE(mount->ok());
  auto sums_of = [&](const std::string& root, const std::string& name) {
    return Shell("cd " + Q(root) + " && find . -name " + name +
                 " -exec sha256sum {} + | cut -c1-64 | LC_ALL=C sort").output;
  };
  const std::string anon = mount->path() + "/anonymized";
  std::string studies_nii = sums_of(mount->path() + "/studies", "series.nii");
  std::string anon_nii = sums_of(anon, "series.nii");
  size_t studies_count = std::count(studies_nii.begin(), studies_nii.end(), '\n');
  size_t anon_count = std::count(anon_nii.begin(), anon_nii.end(), '\n');
  EXPECT_GE(anon_count, 5u);
  EXPECT_EQ(anon_count + 1, studies_count) << "all but the series with a burned-in image";
  std::istringstream lines(anon_nii);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_NE(studies_nii.find(line), std::string::npos) << "an anonymized volume differs";
  }
  EXPECT_EQ(Shell("cd " + Q(anon) + " && find . -path '*/mpr/axial/0001.png' | wc -l").output,
            std::to_string(anon_count) + "\n");
  CommandResult json = Shell(
      "cd " + Q(anon) + " && find . -name series.json -exec /usr/bin/python3 -c '"
      "import json, sys\n"
      "for p in sys.argv[1:]:\n"
      "    d = json.load(open(p))\n"
      "    assert d[\"Modality\"], p\n"
      "    for k in (\"SeriesDescription\", \"ProtocolName\", \"AcquisitionTime\", "
      "\"SeriesInstanceUID\", \"StudyInstanceUID\", \"InstitutionName\", \"PatientName\"):\n"
      "        assert k not in d, (p, k)\n"
      "print(len(sys.argv) - 1)' {} + 2>&1");
  EXPECT_EQ(json.exit_code, 0) << json.output;
}

TEST_F(AnonymizedTest, ChecksumsVerifyInEverySeriesFolder) {
  auto mount = Mount();
  ASSERT_TRUE(mount->ok());
  std::vector<std::string> folders = AnonSeriesFolders(mount->path() + "/anonymized");
  ASSERT_FALSE(folders.empty());
  for (const std::string& folder : folders) {
    CommandResult sums = Shell("cd " + Q(folder) + " && sha256sum -c --quiet SHA256SUMS");
    EXPECT_EQ(sums.exit_code, 0) << folder << "\n" << sums.output;
  }
}

// The folders and .dcm files listed in every EXCLUDED.txt of the view.
std::map<std::string, std::string> ExcludedLists(const std::string& anon_root) {
  std::map<std::string, std::string> out;
  for (const std::string& p : FilesBelow(anon_root)) {
    if (std::filesystem::path(p).filename() != "EXCLUDED.txt") continue;
    std::string text = ReadFileOrEmpty(p);
    if (!text.empty()) out[std::filesystem::path(p).parent_path().string()] = text;
  }
  return out;
}

TEST_F(AnonymizedTest, BurnedInImageIsLeftOutAndListedUnlessIncluded) {
  {
    auto mount = Mount();
    ASSERT_TRUE(mount->ok());
    std::string anon = mount->path() + "/anonymized";
    std::map<std::string, std::string> excluded = ExcludedLists(anon);
    ASSERT_EQ(excluded.size(), 1u) << "one series holds the burned-in copy";
    const auto& [folder, text] = *excluded.begin();
    EXPECT_NE(text.find("9999"), std::string::npos) << text;  // its anonymized name
    EXPECT_EQ(text.find("1.2.826"), std::string::npos) << "no original UID: " << text;
    EXPECT_EQ(text.find(kBurnedSopUid), std::string::npos) << text;
    std::string listing = Shell("ls " + Q(folder)).output;
    EXPECT_EQ(listing.find("9999"), std::string::npos) << listing;
    EXPECT_NE(listing.find(".dcm"), std::string::npos) << "the rest of the series is there";
    // IIIF ids are mapped UIDs (2.25.<39 random digits>), which may hold 9999.
    const std::string named_9999 = "find " + Q(anon) + " -name '*9999*' -not -path '*/iiif/*'";
    EXPECT_EQ(Shell(named_9999 + " | wc -l").output, "0\n") << Shell(named_9999).output;
  }
  auto mount = Mount({"--anon-include-burned-in"});
  ASSERT_TRUE(mount->ok());
  std::string anon = mount->path() + "/anonymized";
  EXPECT_EQ(Shell("find " + Q(anon) + " -name '*9999*.dcm' | wc -l").output, "1\n");
  EXPECT_EQ(Shell("find " + Q(anon) + " -name '*.dcm' | wc -l").output,
            std::to_string(files_.size() + 1) + "\n");
}

TEST_F(AnonymizedTest, NoAnonymizedHidesTheView) {
  auto mount = Mount({"--no-anonymized"});
  ASSERT_TRUE(mount->ok());
  EXPECT_FALSE(std::filesystem::exists(mount->path() + "/anonymized"));
  EXPECT_TRUE(std::filesystem::exists(mount->path() + "/patients"));
}

TEST_F(AnonymizedTest, BadOptionsAreRefusedClearly) {
  std::string args = Q(Archive()) + " " + Q(dir_.Sub("mnt2"));
  std::filesystem::create_directories(dir_.Sub("mnt2"));
  struct Case {
    std::string flags, message;
  };
  for (const Case& c : std::vector<Case>{
           {"--anon-option bogus", "unknown option 'bogus'"},
           {"--anon-option clean-descriptors,nope", "unknown option 'nope'"},
           {"--identified-mode 0789", "octal"},
           {"--identified-mode 1750", "octal"},
           {"--identified-mode 0050", "owner"},
           {"--identified-group no-such-group-dcmfs", "no such group"},
           {"--identified-owner no-such-user-dcmfs", "no such user"},
           {"--no-anonymized --anon-include-burned-in", "need the anonymized view"}}) {
    CommandResult r = Dcmfs("mount " + c.flags + " " + args);
    EXPECT_EQ(r.exit_code, 1) << c.flags << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.flags << "\n" << r.output;
    EXPECT_FALSE(IsMountPoint(dir_.Sub("mnt2")));
  }
  // Every option is in --help.
  std::string help = Dcmfs("mount --help").output;
  for (const char* flag : {"--no-anonymized", "--anon-option", "--anon-include-burned-in",
                           "--identified-owner", "--identified-group", "--identified-mode",
                           "retain-patient-chars", "no-modified-dates", "retain-safe-private"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

// Every DICOM file of ../shared/corpus, ingested and read through
// /anonymized, passes the same scan (burned-in candidates are left out).
TEST(AnonymizedCorpusTest, EveryCorpusFileIsFreeOfItsPhi) {
  std::string corpus = CorpusDir();
  if (corpus.empty()) GTEST_FAIL() << "../shared/corpus not present";
  TempDir dir;
  CommandResult r = Dcmfs("ingest " + Q(dir.Sub("archive")) + " " + Q(corpus));
  ASSERT_LE(r.exit_code, 2) << r.output;
  Checker checker(dir);
  CommandResult h = checker.Harvest(corpus);
  ASSERT_EQ(h.exit_code, 0) << h.output;
  MountedArchive mount(dir.Sub("archive"), dir.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  ScanResult scan = checker.Scan(mount.path() + "/anonymized", /*all_tiles=*/false);
  std::vector<std::string> failures;
  for (const std::string& f : scan.findings) {
    // Several corpus files share pixel data (one image in many encodings):
    // those cannot be paired with their original, which only this check needs.
    if (!f.starts_with("UNMATCHED ")) failures.push_back(f);
  }
  EXPECT_TRUE(failures.empty()) << Joined(failures);
  EXPECT_GT(scan.totals["DCM"], 300u) << scan.output.substr(0, 2000);
  EXPECT_GT(scan.totals["IIIF"], 300u) << scan.output.substr(0, 2000);
}

}  // namespace
}  // namespace dcmfs::testing
