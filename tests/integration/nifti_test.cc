// series.nii / series.json in the mount, on the synthetic set (axial,
// oblique, coronal CT/MR, RLE, big endian, deflated): nibabel loads every
// .nii; tests/integration/nifti_check.py maps each DICOM slice's corners
// (pydicom) through nibabel's affine and compares the voxels with
// pydicom's pixels; random-offset preads equal a full read; st_size equals
// the bytes read; the sidecar parses and names its converter.
#include <map>

#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

std::string Checker() { return SourceDir() + "/tests/integration/nifti_check.py"; }

class NiftiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SyntheticOptions o;
    o.ct_slices = 10;
    o.mr_slices = 6;
    files_ = MakeSynthetic(dir_.Sub("in"), o);
    CommandResult r = Dcmfs("ingest " + Q(dir_.Sub("archive")) + " " + Q(dir_.Sub("in")));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  TempDir dir_;
  std::vector<SyntheticFile> files_;
};

TEST_F(NiftiTest, EverySeriesVolumeAgreesWithItsDicomGeometry) {
  MountedArchive mount(dir_.Sub("archive"), dir_.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  std::map<std::string, std::vector<const SyntheticFile*>> by_series;
  for (const SyntheticFile& f : files_) by_series[f.series_uid].push_back(&f);
  int checked = 0;
  for (const auto& [uid, series] : by_series) {
    const std::string folder =
        mount.path() + "/studies/" + series[0]->study_uid + "/" + uid;
    const std::string nii = folder + "/series.nii";
    std::string args;
    for (const SyntheticFile* f : series) args += " " + Q(f->path);
    CommandResult r = Shell("/usr/bin/python3 " + Q(Checker()) + " " + Q(nii) + args + " 2>&1");
    EXPECT_EQ(r.exit_code, 0) << uid << ": " << r.output;
    // The listing shows the volume and its sidecar.
    std::string ls = Shell("ls " + Q(folder)).output;
    EXPECT_NE(ls.find("series.nii"), std::string::npos) << ls;
    EXPECT_NE(ls.find("series.json"), std::string::npos) << ls;
    CommandResult json = Shell("/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
                               "assert d[\"ConversionSoftware\"]==\"dcmfs\", d; print(d[\"Modality\"])' " +
                               Q(folder + "/series.json") + " 2>&1");
    EXPECT_EQ(json.exit_code, 0) << json.output;
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

TEST_F(NiftiTest, SameBytesInBothViewsAndAfterRemount) {
  const SyntheticFile& f = files_.front();
  std::string first;
  {
    MountedArchive mount(dir_.Sub("archive"), dir_.Sub("mnt"));
    ASSERT_TRUE(mount.ok()) << mount.log();
    const std::string nii = mount.path() + "/studies/" + f.study_uid + "/" + f.series_uid + "/series.nii";
    first = HexOfFile(nii);
    // The same series in /patients.
    std::string found = Shell("find " + Q(mount.path() + "/patients") + " -name series.nii -print0 | "
                              "xargs -0 sha256sum | grep -c " + first.substr(0, 64)).output;
    EXPECT_EQ(std::stoi(found), 1);
  }
  MountedArchive again(dir_.Sub("archive"), dir_.Sub("mnt"));
  ASSERT_TRUE(again.ok()) << again.log();
  EXPECT_EQ(HexOfFile(again.path() + "/studies/" + f.study_uid + "/" + f.series_uid + "/series.nii"),
            first);
}

}  // namespace
}  // namespace dcmfs::testing
