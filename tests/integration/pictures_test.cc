// preview.png and mpr/ in the mount, on the synthetic set: every picture is
// checked by tests/integration/pictures_check.py against nibabel's reading
// of series.nii and pydicom's reading of the originals, windowed with the
// PS3.3 formula written out in that script; plain `ls` of mpr/ folders and
// the series folder lists pictures without producing any.
#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

std::string Checker() { return SourceDir() + "/tests/integration/pictures_check.py"; }

class PicturesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SyntheticOptions o;
    o.rows = 40;
    o.columns = 48;
    o.ct_slices = 12;
    o.mr_slices = 7;
    files_ = MakeSynthetic(dir_.Sub("in"), o);
    CommandResult r = Dcmfs("ingest " + Q(dir_.Sub("archive")) + " " + Q(dir_.Sub("in")));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  TempDir dir_;
  std::vector<SyntheticFile> files_;
};

TEST_F(PicturesTest, PreviewAndReformatsMatchNibabelAndPydicom) {
  MountedArchive mount(dir_.Sub("archive"), dir_.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  CommandResult r = Shell("/usr/bin/python3 " + Q(Checker()) + " " + Q(mount.path()) + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("preview and mpr ok"), std::string::npos) << r.output;
}

TEST_F(PicturesTest, PicturesAreListedAndStableAcrossRemount) {
  const SyntheticFile& f = files_.front();
  std::string folder_rel = "/studies/" + f.study_uid + "/" + f.series_uid;
  std::string first_listing, first_sum;
  {
    MountedArchive mount(dir_.Sub("archive"), dir_.Sub("mnt"));
    ASSERT_TRUE(mount.ok()) << mount.log();
    const std::string folder = mount.path() + folder_rel;
    std::string ls = Shell("ls " + Q(folder)).output;
    EXPECT_NE(ls.find("preview.png"), std::string::npos) << ls;
    EXPECT_NE(ls.find("mpr"), std::string::npos) << ls;
    first_listing = StableListing(mount.path() + folder_rel);
    first_sum = Shell("cd " + Q(folder) + " && sha256sum preview.png mpr/*/*.png").output;
    EXPECT_NE(first_sum.find("mpr/sagittal/0001.png"), std::string::npos) << first_sum;
    // A name outside the listed range does not exist.
    EXPECT_NE(Shell("stat " + Q(folder + "/mpr/axial/9999.png")).exit_code, 0);
    EXPECT_NE(Shell("stat " + Q(folder + "/mpr/axial/1.png")).exit_code, 0);
  }
  MountedArchive again(dir_.Sub("archive"), dir_.Sub("mnt"));
  ASSERT_TRUE(again.ok()) << again.log();
  EXPECT_EQ(StableListing(again.path() + folder_rel), first_listing);
  EXPECT_EQ(Shell("cd " + Q(again.path() + folder_rel) + " && sha256sum preview.png mpr/*/*.png").output,
            first_sum);
}

}  // namespace
}  // namespace dcmfs::testing
