// PlanVolumes + VolumeReader + NiftiHeader on synthetic headers of known
// geometry. The expected world position of every voxel is computed here
// from the DICOM definition (PS3.3 C.7.6.2.1.1: P = S + i*dc*r + j*dr*c, in
// LPS) and compared with what nibabel reads back from our .nii (RAS), so the
// affine, the voxel order and the header encoding are checked by a reader
// someone else wrote.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "recon/nifti.h"
#include "recon/volume_plan.h"
#include "recon/volume_reader.h"
#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

using Vec = std::array<double, 3>;
using Iop = std::array<double, 6>;

struct SliceSpec {
  Vec position;
  int64_t instance_number = 0;
  std::optional<int64_t> echo;
  int64_t temporal = 0;
  double slope = 1, intercept = 0;
  Iop orientation{1, 0, 0, 0, 1, 0};
};

ImageHeader Header(const SliceSpec& s, uint32_t rows = 6, uint32_t cols = 5) {
  ImageHeader h;
  h.modality = "MR";
  h.rows = rows;
  h.columns = cols;
  h.bits_allocated = 16;
  h.bits_stored = 16;
  h.high_bit = 15;
  h.pixel_representation = 1;
  h.instance_number = s.instance_number;
  FrameHeader f;
  f.position = s.position;
  f.orientation = s.orientation;
  f.pixel_spacing = std::array<double, 2>{0.8, 0.6};  // row spacing, column spacing
  f.slice_thickness = 2.0;
  f.echo_number = s.echo;
  f.temporal_position = s.temporal;
  f.rescale_slope = s.slope;
  f.rescale_intercept = s.intercept;
  h.frames = {f};
  h.sidecar = {{"Modality", "\"MR\""}, {"RepetitionTime", "2"}};
  return h;
}

// Pixel value of (row, col) in instance `key`: unique per slice and pixel.
int16_t PixelOf(const std::string& key, uint32_t row, uint32_t col) {
  return static_cast<int16_t>(std::stoi(key) * 100 + row * 10 + col);
}

FrameSource Source(uint32_t rows = 6, uint32_t cols = 5) {
  return [rows, cols](const std::string& key, uint32_t) -> Result<DecodedFrame> {
    DecodedFrame f;
    f.format.rows = rows;
    f.format.columns = cols;
    f.format.type = SampleType::kInt16;
    f.data.resize(size_t{rows} * cols * 2);
    for (uint32_t r = 0; r < rows; ++r) {
      for (uint32_t c = 0; c < cols; ++c) {
        int16_t v = PixelOf(key, r, c);
        std::memcpy(f.data.data() + (r * cols + c) * 2, &v, 2);
      }
    }
    return f;
  };
}

std::vector<PlanInput> Inputs(const std::vector<SliceSpec>& specs) {
  std::vector<PlanInput> in;
  for (size_t i = 0; i < specs.size(); ++i) in.push_back({std::to_string(i + 1), Header(specs[i])});
  return in;
}

std::string ReadWhole(const VolumeReader& r) {
  std::string out(r.size(), '\0');
  auto n = r.ReadAt(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), out.size()));
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return out;
}

// nibabel's affine (4x4, row-major) and shape of `path`.
std::vector<double> NibabelAffine(const std::string& path, std::string* shape) {
  const std::string script =
      "import nibabel as nib,sys\n"
      "im=nib.load(sys.argv[1])\n"
      "print(' '.join(str(x) for x in im.shape))\n"
      "print(' '.join(repr(float(x)) for x in im.affine.flatten()))\n";
  auto r = testing::Shell("/usr/bin/python3 -c " + testing::ShellQuote(script) + " " +
                          testing::ShellQuote(path) + " 2>&1");
  std::istringstream in(r.output);
  std::getline(in, *shape);
  std::vector<double> a(16);
  for (double& x : a) in >> x;
  EXPECT_TRUE(in) << r.output;
  return a;
}

// Checks the volume written by `reader` against the DICOM geometry of
// `specs`: voxel (i, j, k) must hold the pixel of the slice whose DICOM
// position nibabel's affine maps it to.
void ExpectGeometryAgrees(const VolumeReader& reader, const std::vector<SliceSpec>& specs,
                          const std::vector<uint32_t>& expected_instances) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/v.nii";
  std::ofstream(path, std::ios::binary) << ReadWhole(reader);
  std::string shape;
  std::vector<double> a = NibabelAffine(path, &shape);
  const VolumePlan& v = reader.plan();
  ASSERT_EQ(v.slices.size(), expected_instances.size());
  for (uint32_t k = 0; k < v.nz; ++k) {
    const SliceSpec& s = specs[expected_instances[k] - 1];
    EXPECT_EQ(v.slices[k].instance + 1, expected_instances[k]) << "slice " << k;
    const Vec r{s.orientation[0], s.orientation[1], s.orientation[2]};
    const Vec c{s.orientation[3], s.orientation[4], s.orientation[5]};
    for (uint32_t row : {0u, 5u}) {
      for (uint32_t col : {0u, 4u}) {
        // DICOM: P = S + col*dc*r + row*dr*c (LPS); RAS negates x and y.
        Vec p;
        for (int d = 0; d < 3; ++d) p[d] = s.position[d] + col * 0.6 * r[d] + row * 0.8 * c[d];
        p[0] = -p[0];
        p[1] = -p[1];
        // Voxel (col, ny-1-row, k) holds this pixel (rows reversed).
        const double ijk[4] = {double(col), double(v.ny - 1 - row), double(k), 1};
        for (int d = 0; d < 3; ++d) {
          double w = 0;
          for (int e = 0; e < 4; ++e) w += a[d * 4 + e] * ijk[e];
          EXPECT_NEAR(w, p[d], 1e-3) << "slice " << k << " row " << row << " col " << col;
        }
        auto slice = reader.Slice(k);
        ASSERT_TRUE(slice.ok());
        int16_t got;
        std::memcpy(&got, slice->data() + ((v.ny - 1 - row) * v.nx + col) * 2, 2);
        EXPECT_EQ(got, PixelOf(std::to_string(expected_instances[k]), row, col));
      }
    }
  }
}

std::vector<SliceSpec> Stack(const Vec& origin, const Vec& step, int n, const Iop& iop) {
  std::vector<SliceSpec> out;
  for (int i = 0; i < n; ++i) {
    SliceSpec s;
    for (int d = 0; d < 3; ++d) s.position[d] = origin[d] + step[d] * i;
    s.orientation = iop;
    s.instance_number = n - i;  // InstanceNumber runs against the geometry
    out.push_back(s);
  }
  return out;
}

std::shared_ptr<const SeriesPlan> Plan(const std::vector<SliceSpec>& specs) {
  auto plan = PlanVolumes(Inputs(specs));
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return std::make_shared<const SeriesPlan>(std::move(*plan));
}

TEST(VolumePlan, AxialSortedByPositionNotInstanceNumber) {
  auto specs = Stack({-10, -20, 5}, {0, 0, 2.5}, 4, {1, 0, 0, 0, 1, 0});
  std::swap(specs[1], specs[3]);  // arrival order is not position order
  auto plan = Plan(specs);
  ASSERT_EQ(plan->volumes.size(), 1u);
  EXPECT_EQ(plan->volumes[0].suffix, "");
  EXPECT_DOUBLE_EQ(plan->volumes[0].pixdim[2], 2.5);
  VolumeReader reader(plan, 0, Source(), {});
  ExpectGeometryAgrees(reader, specs, {1, 4, 3, 2});
}

TEST(VolumePlan, ObliqueCoronalSagittal) {
  const double c = std::cos(0.3), s = std::sin(0.3);
  for (const Iop& iop : std::vector<Iop>{{1, 0, 0, 0, c, -s},      // oblique
                                         {1, 0, 0, 0, 0, -1},      // coronal
                                         {0, 1, 0, 0, 0, -1}}) {   // sagittal
    const Vec r{iop[0], iop[1], iop[2]}, col{iop[3], iop[4], iop[5]};
    const Vec n{r[1] * col[2] - r[2] * col[1], r[2] * col[0] - r[0] * col[2],
                r[0] * col[1] - r[1] * col[0]};
    auto specs = Stack({3, -7, 11}, {-3 * n[0], -3 * n[1], -3 * n[2]}, 5, iop);
    auto plan = Plan(specs);
    ASSERT_EQ(plan->volumes.size(), 1u);
    VolumeReader reader(plan, 0, Source(), {});
    ExpectGeometryAgrees(reader, specs, {5, 4, 3, 2, 1});  // ascending along the normal
  }
}

TEST(VolumePlan, GantryTiltKeepsTrueGeometryInShearedAffine) {
  // CT with the gantry tilted 15 degrees: slices step along z while the
  // image plane is tilted, so the step is not along the normal.
  const double t = 15 * M_PI / 180;
  auto specs = Stack({-100, -90, 0}, {0, 0, 4}, 6, {1, 0, 0, 0, std::cos(t), -std::sin(t)});
  auto plan = Plan(specs);
  const VolumePlan& v = plan->volumes[0];
  EXPECT_NEAR(v.pixdim[2], 4 * std::cos(t), 1e-9);  // spacing along the normal
  EXPECT_NE(v.sidecar_json.find("gantry tilt"), std::string::npos);
  VolumeReader reader(plan, 0, Source(), {});
  ExpectGeometryAgrees(reader, specs, {1, 2, 3, 4, 5, 6});
}

TEST(VolumePlan, UnevenSpacingIsSaid) {
  std::vector<SliceSpec> specs = Stack({0, 0, 0}, {0, 0, 3}, 4, {1, 0, 0, 0, 1, 0});
  specs[3].position[2] = 15;  // 0 3 6 15
  auto plan = Plan(specs);
  // The acquired volume, and dcm2niix's equally spaced copy (resample_test.cc).
  ASSERT_EQ(plan->volumes.size(), 2u);
  EXPECT_EQ(plan->volumes[0].nz, 4u);
  EXPECT_DOUBLE_EQ(plan->volumes[0].pixdim[2], 3.0);
  EXPECT_NE(plan->volumes[0].sidecar_json.find("uneven slice spacing"), std::string::npos);
  EXPECT_EQ(plan->volumes[1].suffix, "_Eq_1");
}

// A SEG's overlapping segments repeat some positions but not others: the
// frames stay in position order and the affine steps over the repeats to the
// first real gap (never a zero, singular slice column).
TEST(VolumePlan, UnevenlyRepeatedPositionsKeepANonSingularAffine) {
  std::vector<SliceSpec> specs = Stack({0, 0, 0}, {0, 0, 2.5}, 3, {1, 0, 0, 0, 1, 0});
  specs.push_back(specs[0]);  // a second segment on the first two slices
  specs.push_back(specs[1]);
  auto plan = Plan(specs);
  ASSERT_EQ(plan->volumes.size(), 1u);
  const VolumePlan& v = plan->volumes[0];
  EXPECT_EQ(v.nz, 5u);
  EXPECT_EQ(v.nt, 1u);
  EXPECT_DOUBLE_EQ(v.pixdim[2], 2.5);
  EXPECT_DOUBLE_EQ(v.affine[2][2], 2.5);
  EXPECT_NE(v.sidecar_json.find("repeated positions"), std::string::npos);
  // Every slice at one position: the slice thickness, along the normal.
  std::vector<SliceSpec> same(3, specs[0]);
  auto flat = Plan(same);
  EXPECT_DOUBLE_EQ(flat->volumes[0].affine[2][2], 2.0);
}

TEST(VolumePlan, EchoesSplitAndRepeatsMake4D) {
  std::vector<SliceSpec> specs;
  int number = 0;
  for (int64_t echo : {1, 2}) {
    for (int64_t t : {1, 2, 3}) {
      for (int z = 0; z < 4; ++z) {
        SliceSpec s;
        s.position = {0, 0, 2.0 * z};
        s.echo = echo;
        s.temporal = t;
        s.instance_number = ++number;
        specs.push_back(s);
      }
    }
  }
  std::reverse(specs.begin(), specs.end());
  auto plan = Plan(specs);
  ASSERT_EQ(plan->volumes.size(), 2u);
  EXPECT_EQ(plan->volumes[0].suffix, "_e1");
  EXPECT_EQ(plan->volumes[1].suffix, "_e2");
  for (const VolumePlan& v : plan->volumes) {
    EXPECT_EQ(v.nz, 4u);
    EXPECT_EQ(v.nt, 3u);
    EXPECT_DOUBLE_EQ(v.pixdim[3], 2.0);  // TR in seconds
    // z fastest, then temporal position.
    for (uint32_t t = 0; t < 3; ++t) {
      for (uint32_t z = 0; z < 4; ++z) {
        const SliceSpec& s = specs[v.slices[z + 4 * t].instance];
        EXPECT_EQ(s.temporal, t + 1);
        EXPECT_DOUBLE_EQ(s.position[2], 2.0 * z);
      }
    }
  }
}

TEST(VolumePlan, LocalizerGoesToItsOwnVolume) {
  auto specs = Stack({0, 0, 0}, {0, 0, 2}, 5, {1, 0, 0, 0, 1, 0});
  SliceSpec loc;
  loc.position = {0, 0, 0};
  loc.orientation = {0, 1, 0, 0, 0, -1};  // sagittal
  loc.instance_number = 99;
  specs.push_back(loc);
  auto plan = Plan(specs);
  ASSERT_EQ(plan->volumes.size(), 2u);
  EXPECT_EQ(plan->volumes[0].suffix, "");
  EXPECT_EQ(plan->volumes[0].nz, 5u);
  EXPECT_EQ(plan->volumes[1].suffix, "_i00099");
  EXPECT_EQ(plan->volumes[1].nz, 1u);
}

TEST(VolumePlan, RescaleUniformUsesSclVaryingUsesFloat) {
  auto specs = Stack({0, 0, 0}, {0, 0, 2}, 3, {1, 0, 0, 0, 1, 0});
  for (auto& s : specs) s.slope = 2, s.intercept = -1024;
  auto plan = Plan(specs);
  EXPECT_EQ(plan->volumes[0].voxel_type, SampleType::kInt16);
  EXPECT_EQ(plan->volumes[0].scl_slope, 2);
  EXPECT_EQ(plan->volumes[0].scl_inter, -1024);
  specs[1].slope = 0.5;
  plan = Plan(specs);
  const VolumePlan& v = plan->volumes[0];
  ASSERT_EQ(v.voxel_type, SampleType::kFloat32);
  VolumeReader reader(plan, 0, Source(), {});
  auto slice = reader.Slice(1);
  ASSERT_TRUE(slice.ok());
  float got;
  std::memcpy(&got, slice->data() + ((v.ny - 1) * v.nx) * 4, 4);  // row 0, col 0
  const SliceSpec& s = specs[v.slices[1].instance];
  EXPECT_FLOAT_EQ(got, PixelOf(std::to_string(v.slices[1].instance + 1), 0, 0) * s.slope + s.intercept);
}

TEST(VolumePlan, EnhancedMultiFrameInstance) {
  // One instance, 4 frames given in reverse position order.
  SliceSpec spec;
  spec.position = {0, 0, 0};
  ImageHeader h = Header(spec);
  h.number_of_frames = 4;
  h.frames.resize(4, h.frames[0]);
  for (int f = 0; f < 4; ++f) h.frames[f].position = Vec{0, 0, 3.0 * (3 - f)};
  auto plan = PlanVolumes({{"7", h}});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->volumes.size(), 1u);
  const VolumePlan& v = plan->volumes[0];
  EXPECT_EQ(v.nz, 4u);
  for (uint32_t z = 0; z < 4; ++z) EXPECT_EQ(v.slices[z].frame, 3 - z);
  EXPECT_NEAR(v.affine[2][2], 3.0, 1e-9);
}

TEST(VolumeReader, RandomRangesEqualWholeReadAndConcurrentReadersAgree) {
  auto specs = Stack({0, 0, 0}, {0, 0, 2}, 7, {1, 0, 0, 0, 1, 0});
  auto plan = Plan(specs);
  VolumeReaderOptions small;
  small.cache_bytes = 2 * 6 * 5 * 2 + 600;  // two frames: forces eviction
  VolumeReader reader(plan, 0, Source(), small);
  const std::string whole = ReadWhole(reader);
  ASSERT_EQ(whole.size(), NiftiFileSize(reader.plan()));
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < 300; ++i) {
        const uint64_t off = rng() % (whole.size() + 10);
        std::string buf(rng() % 200 + 1, '\0');
        auto n = reader.ReadAt(off, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), buf.size()));
        const size_t expect = off >= whole.size() ? 0 : std::min(buf.size(), whole.size() - off);
        if (!n.ok() || *n != expect) ++bad;
        else if (expect > 0 && buf.compare(0, expect, whole, off, expect) != 0) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

// Read-ahead serves sequential readers only: a read from the start decodes
// the next slices too, while random reads decode exactly the slices they
// touch (decodes nobody asked for would slow random access down).
TEST(VolumeReader, ReadAheadForSequentialReadersOnly) {
  auto specs = Stack({0, 0, 0}, {0, 0, 2}, 40, {1, 0, 0, 0, 1, 0});
  auto plan = Plan(specs);
  const uint64_t slice_bytes = 6 * 5 * 2;
  auto decodes = std::make_shared<std::atomic<int>>(0);
  FrameSource counting = [decodes, inner = Source()](const std::string& key, uint32_t frame) {
    ++*decodes;
    return inner(key, frame);
  };
  VolumeReaderOptions options;
  options.prefetch_slices = 4;
  {
    VolumeReader reader(plan, 0, counting, options);
    std::string buf(kNiftiHeaderBytes + slice_bytes, '\0');
    ASSERT_TRUE(reader.ReadAt(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()),
                                                    buf.size())).ok());
    // The destructor drops queued read-ahead: wait for it first.
    for (int i = 0; i < 5000 && decodes->load() < 5; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(decodes->load(), 5);  // slice 0, then 1..4 ahead

  decodes->store(0);
  std::set<uint32_t> touched;
  {
    VolumeReader reader(plan, 0, counting, options);
    std::mt19937 rng(9);
    for (int i = 0; i < 30; ++i) {
      // Far apart (not following on), each across a slice boundary.
      const uint32_t z = 1 + (i * 13) % 37;
      const uint64_t off = kNiftiHeaderBytes + z * slice_bytes - 10 - rng() % 20;
      std::string buf(40, '\0');
      ASSERT_TRUE(reader.ReadAt(off, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()),
                                                        buf.size())).ok());
      for (uint64_t b = off; b < off + buf.size(); ++b) {
        touched.insert(static_cast<uint32_t>((b - kNiftiHeaderBytes) / slice_bytes));
      }
    }
    // Time for any (wrong) read-ahead to show before the destructor drops it.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(decodes->load(), static_cast<int>(touched.size()));
}

// With a RowSource, a read that grazes a slice whose frame is not cached
// takes just the rows it needs (no whole-frame decode), with the same
// bytes; a larger piece of a slice still decodes the frame once.
TEST(VolumeReader, SmallPiecesOfASliceReadOnlyTheirRows) {
  auto specs = Stack({0, 0, 0}, {0, 0, 2}, 6, {1, 0, 0, 0, 1, 0});
  auto plan = Plan(specs);
  const std::string whole = ReadWhole(VolumeReader(plan, 0, Source(), {}));
  auto decodes = std::make_shared<std::atomic<int>>(0);
  auto row_reads = std::make_shared<std::atomic<int>>(0);
  FrameSource counting = [decodes, inner = Source()](const std::string& key, uint32_t frame) {
    ++*decodes;
    return inner(key, frame);
  };
  VolumeReaderOptions options;
  options.prefetch_slices = 0;
  options.rows = [row_reads, inner = Source()](const std::string& key, uint32_t frame, uint32_t first,
                                               uint32_t rows) -> Result<std::optional<DecodedFrame>> {
    ++*row_reads;
    ASSIGN_OR_RETURN(DecodedFrame f, inner(key, frame));
    const size_t row_bytes = size_t{f.format.columns} * 2;
    if (first + rows > f.format.rows) return Status::InvalidArgument("rows past the frame");
    DecodedFrame part = f;
    part.format.rows = rows;
    part.data.assign(f.data.begin() + first * row_bytes, f.data.begin() + (first + rows) * row_bytes);
    return std::optional<DecodedFrame>(std::move(part));
  };
  VolumeReader reader(plan, 0, counting, options);
  const uint64_t slice_bytes = 6 * 5 * 2;
  for (uint32_t z = 1; z < 6; ++z) {  // 7 bytes each side of every boundary: 1-2 rows of each slice
    const uint64_t off = kNiftiHeaderBytes + z * slice_bytes - 7;
    std::string buf(14, '\0');
    auto n = reader.ReadAt(off, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), buf.size()));
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(buf, whole.substr(off, buf.size())) << "boundary " << z;
  }
  EXPECT_EQ(decodes->load(), 0);
  EXPECT_EQ(row_reads->load(), 10);
  // Half a slice: the frame is decoded (and then cached for the rest).
  std::string half(slice_bytes / 2, '\0');
  const uint64_t off = kNiftiHeaderBytes + 2 * slice_bytes;
  ASSERT_TRUE(reader.ReadAt(off, std::span<uint8_t>(reinterpret_cast<uint8_t*>(half.data()), half.size())).ok());
  EXPECT_EQ(half, whole.substr(off, half.size()));
  EXPECT_EQ(decodes->load(), 1);
}

TEST(VolumePlan, SerializeRoundTrip) {
  auto specs = Stack({0, 0, 0}, {0, 0, 2}, 3, {1, 0, 0, 0, 1, 0});
  auto plan = Plan(specs);
  auto back = DeserializePlan(SerializePlan(*plan));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(SerializePlan(*back), SerializePlan(*plan));
  EXPECT_EQ(NiftiHeader(back->volumes[0]), NiftiHeader(plan->volumes[0]));
  EXPECT_FALSE(DeserializePlan("{\"version\":1}").ok());
  EXPECT_FALSE(DeserializePlan("garbage").ok());
}

}  // namespace
}  // namespace dcmfs
