// Meshes read from a real mount and checked with tools someone else wrote:
// admesh (holes, bad edges, disconnected facets, and its enclosed volume),
// the analytic sphere of a synthetic partial-volume CT, the polygons of an
// RT Structure Set made here with pydicom, STLs encapsulated by DCMTK's
// stl2dcm, and the corpus' RT Structure Sets and Segmentations.
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <numbers>
#include <regex>
#include <thread>

#include "tests/integration/fixture.h"
#include "tests/mesh/admesh.h"

namespace dcmfs::testing {
namespace {

using mesh::testing::RunAdmesh;

// A 64 x 56 x 40 axial CT (0.8 x 0.9 mm pixels, 1.5 mm slices) holding a
// sphere of radius 12 mm at (2, -3, 30) with partial-volume values
// HU = -1000 + 2000 * (fraction of the voxel inside), so the 0 HU surface is
// the sphere; and an RT Structure Set on it with two ROIs whose expected
// extruded volumes (shoelace area x slice spacing) go to expected.txt.
constexpr char kMakeCt[] = R"PY(
import sys, os
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
nx, ny, nz, sc, sr, dz = 64, 56, 40, 0.8, 0.9, 1.5
ox, oy = -25.0, -28.0
centre, r = np.array([2.0, -3.0, 30.0]), 12.0
study, series, rt_series, frame = (generate_uid() for _ in range(4))
CT, RT = '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.5.1.4.1.1.481.3'
def base(sop_class, series_uid, modality, number):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.PatientName, ds.PatientID = 'Mesh^Phantom', 'MESH1'
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series_uid
    ds.StudyDate, ds.Modality, ds.SeriesNumber = '20240101', modality, number
    ds.FrameOfReferenceUID = frame
    ds.is_little_endian, ds.is_implicit_VR = True, False
    return ds
sub = (np.arange(4) + 0.5) / 4 - 0.5
ct_uids = []
for k in range(nz):
    ds = base(CT, series, 'CT', 1)
    ds.InstanceNumber = k + 1
    ds.ImagePositionPatient = [ox, oy, k * dz]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [sr, sc]
    ds.SliceThickness = dz
    ds.Rows, ds.Columns = ny, nx
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, 'MONOCHROME2'
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope = 0, 1
    j, i = np.mgrid[0:ny, 0:nx]
    inside = np.zeros((ny, nx))
    for u in sub:
        for v in sub:
            for w in sub:
                x = ox + (i + u) * sc
                y = oy + (j + v) * sr
                z = (k + w) * dz
                inside += ((x - centre[0])**2 + (y - centre[1])**2 + (z - centre[2])**2) <= r * r
    hu = np.round(-1000 + 2000 * inside / 64).astype('<i2')
    ds.PixelData = hu.tobytes()
    ds.save_as(os.path.join(out, 'ct%03d.dcm' % k), write_like_original=False)
    ct_uids.append(ds.SOPInstanceUID)
def circle(cx, cy, rad, n):
    t = 2 * np.pi * np.arange(n) / n
    return list(zip(cx + rad * np.cos(t), cy + rad * np.sin(t)))
def area(poly):
    a = 0.0
    for (x0, y0), (x1, y1) in zip(poly, poly[1:] + poly[:1]):
        a += x0 * y1 - x1 * y0
    return abs(a) / 2
rois = [('GTV/primary', [(k, [[(-10, -8), (10, -8), (10, 8), (-10, 8)]]) for k in range(10, 26)]),
        ('Ring', [(k, [circle(0, 0, 15, 64), circle(1, 0, 6, 32)]) for k in range(5, 16)])]
rt = base(RT, rt_series, 'RTSTRUCT', 2)
rt.StructureSetLabel = 'phantom'
ss, rc = Sequence(), Sequence()
with open(os.path.join(out, 'expected.txt'), 'w') as f:
    for n, (name, slices) in enumerate(rois, 1):
        item = Dataset()
        item.ROINumber, item.ROIName = n, name
        item.ReferencedFrameOfReferenceUID = frame
        ss.append(item)
        contours, vol = Sequence(), 0.0
        for k, polys in slices:
            for pi, poly in enumerate(polys):
                c = Dataset()
                c.ContourGeometricType = 'CLOSED_PLANAR'
                c.NumberOfContourPoints = len(poly)
                c.ContourData = [round(v, 4) for p in poly for v in (p[0], p[1], k * dz)]
                img = Dataset()
                img.ReferencedSOPClassUID, img.ReferencedSOPInstanceUID = CT, ct_uids[k]
                c.ContourImageSequence = Sequence([img])
                contours.append(c)
                vol += (1 if pi == 0 else -1) * area(poly) * dz
        roi = Dataset()
        roi.ReferencedROINumber = n
        roi.ContourSequence = contours
        rc.append(roi)
        f.write('%s %.6f\n' % (name.replace('/', '_'), vol))
rt.StructureSetROISequence, rt.ROIContourSequence = ss, rc
ref_series = Dataset()
ref_series.SeriesInstanceUID = series
ref_study = Dataset()
ref_study.RTReferencedSeriesSequence = Sequence([ref_series])
ref_frame = Dataset()
ref_frame.FrameOfReferenceUID = frame
ref_frame.RTReferencedStudySequence = Sequence([ref_study])
rt.ReferencedFrameOfReferenceSequence = Sequence([ref_frame])
rt.save_as(os.path.join(out, 'rtstruct.dcm'), write_like_original=False)
print(study, series, rt_series)
)PY";

// derived.produced of /.dcmfs/stats.json: derived contents produced so far.
// The mount reuses a stats snapshot for a second (fs/filesystem_stats.cc).
double DerivedProduced(const std::string& mnt) {
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  const std::string json = ReadFileOrEmpty(mnt + "/.dcmfs/stats.json");
  std::smatch m;
  static const std::regex bytes(R"("produced"\s*:\s*([0-9]+))");
  return std::regex_search(json, m, bytes) ? std::stod(m[1].str()) : NAN;
}

double AdmeshVolume(const mesh::testing::AdmeshReport& r) {
  std::smatch m;
  static const std::regex volume(R"(Volume\s*:\s*(-?[0-9.eE+-]+))");
  return std::regex_search(r.output, m, volume) ? std::stod(m[1].str()) : NAN;
}

void ExpectCleanStl(const std::string& path) {
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
  const std::string bytes = ReadFileOrEmpty(path);
  ASSERT_EQ(uint64_t(st.st_size), bytes.size()) << path << ": st_size is not what read returns";
  ASSERT_GE(bytes.size(), 84u) << path;
  uint32_t n = 0;
  std::memcpy(&n, bytes.data() + 80, 4);
  EXPECT_EQ(bytes.size(), 84 + 50 * uint64_t(n)) << path;
  EXPECT_GT(n, 0u) << path;
  const auto report = RunAdmesh(path);
  EXPECT_TRUE(report.ran) << report.output;
  EXPECT_TRUE(report.Clean()) << path << "\n" << report.output;
}

struct Phantom {
  TempDir dir;
  std::string study, ct_series, rt_series;
  std::map<std::string, double> expected;  // ROI file stem -> mm^3
};

void MakePhantom(Phantom& p) {
  WriteFileOrDie(p.dir.Sub("make_ct.py"), kMakeCt);
  auto r = Shell("/usr/bin/python3 " + Q(p.dir.Sub("make_ct.py")) + " " + Q(p.dir.Sub("in")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream ids(r.output);
  ids >> p.study >> p.ct_series >> p.rt_series;
  std::ifstream expected(p.dir.Sub("in/expected.txt"));
  std::string name;
  double volume;
  while (expected >> name >> volume) p.expected[name] = volume;
  ASSERT_EQ(p.expected.size(), 2u);
  r = Dcmfs("ingest " + Q(p.dir.Sub("archive")) + " " + Q(p.dir.Sub("in")));
  ASSERT_LE(r.exit_code, 2) << r.output;  // expected.txt and the script are not DICOM
}

TEST(MeshMountTest, CtIsosurfacesAreClosedAndOnTheSphere) {
  Phantom p;
  ASSERT_NO_FATAL_FAILURE(MakePhantom(p));
  MountedArchive mount(p.dir.Sub("archive"), p.dir.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  const std::string series = mount.path() + "/studies/" + p.study + "/" + p.ct_series;
  const std::string listing = Shell("ls " + Q(series + "/mesh")).output;
  for (const char* name : {"bone.stl", "skin.stl", "bone-smooth.stl", "skin-smooth.stl"}) {
    EXPECT_NE(listing.find(name), std::string::npos) << listing;
  }
  EXPECT_EQ(listing.find("iso-"), std::string::npos) << "iso-<value>.stl is not listed";
  // `ls` computed no mesh: the first stat of bone.stl produces it.
  Shell("ls " + Q(series) + " " + Q(series + "/mesh") + " >/dev/null");
  const double before = DerivedProduced(mount.path());
  struct stat bone {};
  ASSERT_EQ(::stat((series + "/mesh/bone.stl").c_str(), &bone), 0);
  EXPECT_EQ(DerivedProduced(mount.path()) - before, 1.0)
      << "bone.stl was already produced before its first stat";
  // The 0 HU surface is the sphere (r = 12 mm): admesh's volume within 1%.
  const std::string iso = series + "/mesh/iso-0.stl";
  ASSERT_NO_FATAL_FAILURE(ExpectCleanStl(iso));
  const double sphere = 4.0 / 3.0 * std::numbers::pi * 12 * 12 * 12;
  const auto report = RunAdmesh(iso);
  EXPECT_NEAR(AdmeshVolume(report) / sphere, 1.0, 0.01);
  // In patient coordinates (LPS, mm): admesh's bounding box is the sphere's.
  std::smatch m;
  const std::string& out = report.output;
  const double centre[3] = {2, -3, 30};
  for (int axis = 0; axis < 3; ++axis) {
    const std::string a(1, "XYZ"[axis]);
    const std::regex box("Min " + a + R"(\s*=\s*(-?[0-9.]+), Max )" + a + R"(\s*=\s*(-?[0-9.]+))");
    ASSERT_TRUE(std::regex_search(out, m, box)) << out;
    const double lo = std::stod(m[1].str()), hi = std::stod(m[2].str());
    EXPECT_NEAR(0.5 * (lo + hi), centre[axis], 0.5) << a;
    EXPECT_NEAR(hi - lo, 24, 1.0) << a;
  }
  for (const char* name : {"bone.stl", "skin.stl", "bone-smooth.stl", "iso-0-smooth.stl"}) {
    ExpectCleanStl(series + "/mesh/" + name);
  }
  // bone (300 HU: 65% of a voxel inside) lies inside skin (-500 HU: 25%).
  EXPECT_LT(AdmeshVolume(RunAdmesh(series + "/mesh/bone.stl")),
            AdmeshVolume(RunAdmesh(series + "/mesh/skin.stl")));
  EXPECT_NE(::access((series + "/mesh/iso-abc.stl").c_str(), F_OK), 0);
}

TEST(MeshMountTest, RtStructureRoisMatchTheirExtrudedPolygons) {
  Phantom p;
  ASSERT_NO_FATAL_FAILURE(MakePhantom(p));
  MountedArchive mount(p.dir.Sub("archive"), p.dir.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  const std::string folder = mount.path() + "/studies/" + p.study + "/" + p.rt_series + "/mesh";
  const std::string listing = Shell("ls " + Q(folder)).output;
  for (const auto& [stem, volume] : p.expected) {
    const std::string path = folder + "/" + stem + ".stl";
    EXPECT_NE(listing.find(stem + ".stl"), std::string::npos) << listing;
    ASSERT_NO_FATAL_FAILURE(ExpectCleanStl(path));
    const double raw = AdmeshVolume(RunAdmesh(path));
    EXPECT_NEAR(raw / volume, 1.0, 0.02) << stem;
    // The Taubin-smoothed twin: listed, as closed, and (docs/semantics.md)
    // within 3% of the raw mesh's volume.
    const std::string smooth = folder + "/" + stem + "-smooth.stl";
    EXPECT_NE(listing.find(stem + "-smooth.stl"), std::string::npos) << listing;
    ASSERT_NO_FATAL_FAILURE(ExpectCleanStl(smooth));
    EXPECT_NEAR(AdmeshVolume(RunAdmesh(smooth)) / raw, 1.0, 0.03) << stem;
    EXPECT_NE(ReadFileOrEmpty(smooth), ReadFileOrEmpty(path)) << stem << ": not smoothed";
  }
}

// A SEG whose frames carry no Plane Position is placed by its frames' source
// images (Derivation Image Sequence): the same mesh as the SEG that states
// the positions. One whose source images are not in the archive is not
// meshed, and the log says why.
TEST(MeshMountTest, SegWithoutPlanePositionsIsPlacedBySourceImages) {
  TempDir dir;
  auto r = Shell("/usr/bin/python3 " + Q(SourceDir() + "/tests/integration/mesh_seg.py") + " " +
                 Q(dir.Sub("in")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream ids(r.output);
  std::string study, placed, sourced, orphan;
  double voxel_volume = 0;
  ids >> study >> placed >> sourced >> orphan >> voxel_volume;
  ASSERT_GT(voxel_volume, 0) << r.output;
  r = Dcmfs("ingest " + Q(dir.Sub("archive")) + " " + Q(dir.Sub("in")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  MountedArchive mount(dir.Sub("archive"), dir.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  const std::string root = mount.path() + "/studies/" + study + "/";
  const std::string by_position = root + placed + "/mesh/Ball.stl";
  const std::string by_source = root + sourced + "/mesh/Ball.stl";
  ASSERT_NO_FATAL_FAILURE(ExpectCleanStl(by_position));
  ASSERT_NO_FATAL_FAILURE(ExpectCleanStl(by_source));
  EXPECT_TRUE(ReadFileOrEmpty(by_source) == ReadFileOrEmpty(by_position))
      << "frames placed by their source images differ from the stated positions";
  // Marching cubes at 0.5 cuts the mask's corners: a little under its voxels.
  EXPECT_NEAR(AdmeshVolume(RunAdmesh(by_source)) / voxel_volume, 1.0, 0.05);
  ASSERT_NO_FATAL_FAILURE(ExpectCleanStl(root + sourced + "/mesh/Ball-smooth.stl"));
  // The orphan: nothing to place it by, so no mesh, and a reason in the log.
  const std::string orphan_listing = Shell("ls -A " + Q(root + orphan) + " 2>&1").output;
  EXPECT_EQ(orphan_listing.find("mesh"), std::string::npos) << orphan_listing;
  EXPECT_NE(::access((root + orphan + "/mesh/Ball.stl").c_str(), F_OK), 0);
  EXPECT_NE(mount.log().find("segment 1 not meshed: no frame has a Plane Position"),
            std::string::npos)
      << mount.log();
}

TEST(MeshMountTest, EncapsulatedStlComesBackIdentical) {
  TempDir dir;
  std::string stl(84 + 50 * 4, '\0');
  stl.replace(0, 4, "test");
  stl[80] = 4;
  for (size_t i = 84; i < stl.size(); ++i) stl[i] = char(i * 13 + 1);
  WriteFileOrDie(dir.Sub("model.stl"), stl);
  auto r = Shell("mkdir -p " + Q(dir.Sub("in")) + " && stl2dcm --generate +pn 'Print^Lab' +pi P3D " +
                 Q(dir.Sub("model.stl")) + " " + Q(dir.Sub("in/model.dcm")) + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string corpus = CorpusDir();
  std::string moon;
  if (!corpus.empty()) {
    moon = ReadFileOrEmpty(corpus + "/constructed/encapsulated_stl/Moon.stl");
    Shell("cp " + Q(corpus + "/constructed/encapsulated_stl/encapsulated_stl_moon.dcm") + " " +
          Q(dir.Sub("in/")));
  }
  r = Dcmfs("ingest " + Q(dir.Sub("archive")) + " " + Q(dir.Sub("in")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  MountedArchive mount(dir.Sub("archive"), dir.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  std::vector<std::string> found;
  for (const std::string& f : FilesBelow(mount.path() + "/studies")) {
    if (f.ends_with(".stl")) found.push_back(f);
  }
  ASSERT_EQ(found.size(), moon.empty() ? 1u : 2u);
  for (const std::string& f : found) {
    const std::string bytes = ReadFileOrEmpty(f);
    EXPECT_TRUE(bytes == stl || bytes == moon) << f;
    // Beside its instance: 0001.stl next to 0001.dcm.
    const std::string dcm = f.substr(0, f.size() - 4) + ".dcm";
    EXPECT_EQ(::access(dcm.c_str(), F_OK), 0) << dcm;
  }
}

TEST(MeshMountTest, CorpusStructuresGiveCleanMeshes) {
  const std::string corpus = CorpusDir();
  if (corpus.empty()) GTEST_FAIL() << "../shared/corpus not present";
  TempDir dir;
  std::string sources;
  for (const char* rel : {"rt-utils/tests/mock_data", "matRad/dicomExport",
                          "dcmqi/data/segmentations", "highdicom/test_files",
                          "orthanc-tests/DicomSeg.dcm"}) {
    sources += " " + Q(corpus + "/" + rel);
  }
  auto r = Dcmfs("ingest " + Q(dir.Sub("archive")) + sources);
  ASSERT_LE(r.exit_code, 2) << r.output;
  MountedArchive mount(dir.Sub("archive"), dir.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  // Structure meshes only (the corpus CTs also get bone/skin isosurfaces).
  std::vector<std::string> paths;
  for (const std::string& series : SeriesFolders(mount.path())) {
    if (series.find("/studies/") == std::string::npos) continue;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(series + "/mesh", ec)) {
      const std::string name = e.path().filename().string();
      if (!name.starts_with("bone") && !name.starts_with("skin")) paths.push_back(e.path());
    }
  }
  // rt-utils (1 RTSTRUCT), matRad (3 ROIs), dcmqi/highdicom/orthanc SEGs.
  EXPECT_GE(paths.size(), 10u);
  for (const std::string& p : paths) ExpectCleanStl(p);
}

}  // namespace
}  // namespace dcmfs::testing
