// Gantry-tilted CT through the mount against Debian's dcm2niix run here on
// the same slices: tilts of +15, -15, +30 and -7.5 degrees, evenly spaced
// (series_Tilt_1.nii) and unevenly (series_Tilt_Eq_1.nii), InstanceNumber
// along and against the slice positions. Series are written by pydicom
// (tests/integration/tilt_data.py), ingested with `dcmfs ingest`, mounted,
// and checked by tests/integration/tilt_check.py (nibabel, pydicom):
//   - dims, datatype, scaling and every stored voxel identical to dcm2niix's
//     volume of the same slices numbered along their positions;
//   - the sform places every voxel on its DICOM slice (within 1e-3 mm) where
//     that slice holds its value (pydicom), the qform agrees with it;
//   - sform and qform within 1e-3 mm of dcm2niix's wherever dcm2niix's
//     geometry is right: for a positive tilt its own volume; for a negative
//     tilt (evenly spaced) its volume of the same series mirrored through
//     z = 0, whose tilt is positive, mirrored back.
// Where dcm2niix's affine is not the geometry, we differ from it on purpose
// (recon/internal/resample.h): for a negative tilt it moves the origin by
// ceil(shift) rows along a row of its sform rather than column j (issue 259
// of rordenlab/dcm2niix says the fix, #260, is unfinished); with
// InstanceNumber against position it reverses the slices but steps the
// origin along the slice normal, not the sheared stack, and with uneven
// spacing it then pairs the reversed slices with distances in instance order,
// so it is given the slices numbered along their positions. The test prints
// how far dcm2niix's own volume of the files as given lies from the DICOM
// geometry (tilt_check.py geometry), for the record.
#include <cstdio>
#include <vector>

#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

constexpr char kStudyUid[] = "1.2.826.0.1.3680043.8.498.7777.1";  // tilt_data.py's study

struct TiltCase {
  int series;
  double tilt;
  bool uneven;
  bool descending;  // InstanceNumber against position
};

const std::vector<TiltCase>& Cases() {
  static const std::vector<TiltCase> cases = {
      {1, 15, false, false}, {2, 15, true, true},  {3, -15, false, true},   {4, -15, true, false},
      {5, 30, false, true},  {6, 30, true, false}, {7, -7.5, false, false}, {8, -7.5, true, true},
  };
  return cases;
}

std::string Positions(bool uneven, bool mirrored) {
  // 3 mm along the bed; uneven: one 6 mm gap.
  std::vector<int> z =
      uneven ? std::vector<int>{0, 3, 6, 12, 15, 18, 21} : std::vector<int>{0, 3, 6, 9, 12, 15};
  std::string out;
  for (int v : z) out += (out.empty() ? "" : ",") + std::to_string(mirrored ? -v : v);
  return out;
}

std::string Script(const std::string& name) { return SourceDir() + "/tests/integration/" + name; }

CommandResult Python(const std::string& args) {
  return Shell("/usr/bin/python3 " + args + " 2>&1");
}

// Writes one series with tilt_data.py.
void WriteSeries(const std::string& dir, int series, double tilt, const std::string& z,
                 bool descending) {
  char t[32];
  std::snprintf(t, sizeof(t), "%g", tilt);
  CommandResult r =
      Python(Q(Script("tilt_data.py")) + " " + Q(dir) + " --series " + std::to_string(series) +
             " --tilt " + t + " --z=" + z + (descending ? " --descending" : ""));
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

// dcm2niix's resampled volume of the series in `in` (written to `out`).
std::string Dcm2niix(const std::string& in, const std::string& out, bool uneven) {
  std::filesystem::create_directories(out);
  CommandResult r = Shell("dcm2niix -b n -z n -f %s -o " + Q(out) + " " + Q(in) + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const std::string suffix = uneven ? "_Tilt_Eq_1.nii" : "_Tilt_1.nii";
  for (const std::string& f : FilesBelow(out)) {
    if (f.ends_with(suffix)) return f;
  }
  ADD_FAILURE() << "dcm2niix wrote no *" << suffix << " for " << in << ": " << r.output;
  return "";
}

std::string DicomArgs(const std::string& dir) {
  std::string args;
  for (const std::string& f : FilesBelow(dir)) args += " " + Q(f);
  return args;
}

class NiftiTiltTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Shell("command -v dcm2niix").exit_code != 0) GTEST_FAIL() << "dcm2niix is not installed";
    if (Python("-c 'import nibabel, pydicom'").exit_code != 0) {
      GTEST_FAIL() << "python3-nibabel and python3-pydicom are needed";
    }
    for (const TiltCase& c : Cases()) {
      const std::string n = std::to_string(c.series);
      WriteSeries(dir_.Sub("in/" + n), c.series, c.tilt, Positions(c.uneven, false), c.descending);
      // The same slices numbered along their positions (dcm2niix's oracle).
      WriteSeries(dir_.Sub("along/" + n), c.series, c.tilt, Positions(c.uneven, false), false);
      if (c.tilt < 0 && !c.uneven) {
        WriteSeries(dir_.Sub("mirror/" + n), c.series, -c.tilt, Positions(c.uneven, true), false);
      }
    }
    CommandResult r = Dcmfs("ingest " + Q(dir_.Sub("archive")) + " " + Q(dir_.Sub("in")));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  TempDir dir_;
};

TEST_F(NiftiTiltTest, TiltCorrectedVolumesMatchDcm2niixAndTheDicomGeometry) {
  MountedArchive mount(dir_.Sub("archive"), dir_.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  for (const TiltCase& c : Cases()) {
    const std::string n = std::to_string(c.series);
    SCOPED_TRACE("series " + n + ": tilt " + std::to_string(c.tilt) +
                 (c.uneven ? ", uneven" : ", even") + (c.descending ? ", descending" : ""));
    const std::string folder =
        mount.path() + "/studies/" + kStudyUid + "/1.2.826.0.1.3680043.8.498.7777.2." + n;
    const std::string ours = folder + (c.uneven ? "/series_Tilt_Eq_1.nii" : "/series_Tilt_1.nii");
    ASSERT_TRUE(std::filesystem::exists(ours)) << Shell("ls " + Q(folder) + " 2>&1").output;
    const std::string ref = Dcm2niix(dir_.Sub("along/" + n), dir_.Sub("ref/" + n), c.uneven);
    CommandResult voxels = Python(Q(Script("tilt_check.py")) + " voxels " + Q(ours) + " " + Q(ref));
    EXPECT_EQ(voxels.exit_code, 0) << voxels.output;
    CommandResult geometry = Python(Q(Script("tilt_check.py")) + " geometry " + Q(ours) +
                                    DicomArgs(dir_.Sub("in/" + n)));
    EXPECT_EQ(geometry.exit_code, 0) << geometry.output;
    if (c.tilt > 0) {
      CommandResult affine =
          Python(Q(Script("tilt_check.py")) + " affine " + Q(ours) + " " + Q(ref));
      EXPECT_EQ(affine.exit_code, 0) << affine.output;
    } else if (!c.uneven) {
      const std::string mirror =
          Dcm2niix(dir_.Sub("mirror/" + n), dir_.Sub("ref_mirror/" + n), c.uneven);
      CommandResult affine = Python(Q(Script("tilt_check.py")) + " affine " + Q(ours) + " " +
                                    Q(mirror) + " --mirror-z");
      EXPECT_EQ(affine.exit_code, 0) << affine.output;
    }
    // For the record: dcm2niix's own volume of the files as given.
    const std::string own = Dcm2niix(dir_.Sub("in/" + n), dir_.Sub("own/" + n), c.uneven);
    std::printf(
        "series %s (tilt %+g, %s, %s): dcm2niix on these files: %s", n.c_str(), c.tilt,
        c.uneven ? "uneven" : "even", c.descending ? "descending" : "ascending",
        Python(Q(Script("tilt_check.py")) + " geometry " + Q(own) + DicomArgs(dir_.Sub("in/" + n)))
            .output.c_str());
  }
}

// The corpus' GE head CT (+18.5 degrees, uneven spacing; MANIFEST.md):
// series_Tilt_Eq_1.nii's voxels identical to dcm2niix's _Tilt_Eq_1 made
// here, its sform on the DICOM geometry (dcm2niix's _Eq sform scales a row
// of srow, so its affine is not compared here; nifti_corpus_test compares
// its qform).
TEST(NiftiTiltCorpusTest, GeHeadCtMatchesDcm2niixVoxelForVoxel) {
  const std::string corpus = CorpusDir();
  if (corpus.empty()) GTEST_FAIL() << "../shared/corpus not present";
  if (Shell("command -v dcm2niix").exit_code != 0) GTEST_FAIL() << "dcm2niix is not installed";
  const std::string in = corpus + "/dcm_qa/dcm_qa_ct_GE/In/GE";
  TempDir dir;
  CommandResult r = Dcmfs("ingest " + Q(dir.Sub("archive")) + " " + Q(in));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  MountedArchive mount(dir.Sub("archive"), dir.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  const std::string listing =
      Shell("find " + Q(mount.path() + "/studies") + " -name series_Tilt_Eq_1.nii").output;
  ASSERT_FALSE(listing.empty()) << "no series_Tilt_Eq_1.nii in the mount";
  const std::string ours = listing.substr(0, listing.find('\n'));
  const std::string ref = Dcm2niix(in, dir.Sub("ref"), true);
  CommandResult voxels = Python(Q(Script("tilt_check.py")) + " voxels " + Q(ours) + " " + Q(ref));
  EXPECT_EQ(voxels.exit_code, 0) << voxels.output;
  CommandResult geometry =
      Python(Q(Script("tilt_check.py")) + " geometry " + Q(ours) + " " + Q(in) + "/*.dcm");
  EXPECT_EQ(geometry.exit_code, 0) << geometry.output;
}

}  // namespace
}  // namespace dcmfs::testing
