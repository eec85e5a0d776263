// dcm2niix's resampled volumes ("_Tilt_1", "_Eq_1", "_Tilt_Eq_1"; see
// recon/internal/resample.h) on synthetic series of known geometry. Every
// pixel of the phantom is a linear function of its DICOM position, which
// linear interpolation reproduces, so tests/recon/resample_check.py can
// check each written voxel against the value at the position nibabel's
// affine gives it: geometry and values at once, read by nibabel. The
// corpus' tilted GE CT is compared with dcm2niix itself in corpus_test.cc.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

#include "recon/volume_plan.h"
#include "recon/volume_reader.h"
#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

using Vec = std::array<double, 3>;

constexpr uint32_t kRows = 20, kCols = 6;
constexpr double kRowSpacing = 0.8, kColSpacing = 0.6;
constexpr Vec kA{0.5, 2.0, 3.0};  // phantom: value = kA . P + kB (P in LPS mm)
constexpr double kB = 100;

struct Series {
  std::string modality = "CT";
  std::array<double, 6> iop{1, 0, 0, 0, 1, 0};
  std::vector<double> z;  // slice positions: (0, 0, z), the bed moving along z
  std::optional<int64_t> padding = -1000;
  bool descending = false;  // InstanceNumber against position
};

Vec PositionOf(const Series& s, size_t k) { return {0, 0, s.z[k]}; }

int16_t Phantom(const Series& s, size_t k, uint32_t row, uint32_t col) {
  const Vec p = PositionOf(s, k);
  double v = kB;
  for (int d = 0; d < 3; ++d) {
    v += kA[d] * (p[d] + col * kColSpacing * s.iop[d] + row * kRowSpacing * s.iop[3 + d]);
  }
  return static_cast<int16_t>(std::lround(v));
}

std::vector<PlanInput> Inputs(const Series& s) {
  std::vector<PlanInput> in;
  for (size_t k = 0; k < s.z.size(); ++k) {
    ImageHeader h;
    h.modality = s.modality;
    h.rows = kRows;
    h.columns = kCols;
    h.bits_allocated = h.bits_stored = 16;
    h.high_bit = 15;
    h.pixel_representation = 1;
    h.instance_number = static_cast<int64_t>(s.descending ? s.z.size() - k : k + 1);
    h.pixel_padding_value = s.padding;
    FrameHeader f;
    f.position = PositionOf(s, k);
    f.orientation = s.iop;
    f.pixel_spacing = std::array<double, 2>{kRowSpacing, kColSpacing};
    f.slice_thickness = 2.0;
    h.frames = {f};
    h.sidecar = {{"Modality", "\"" + s.modality + "\""}};
    in.push_back({std::to_string(k), h});
  }
  return in;
}

FrameSource Source(const Series& s) {
  return [s](const std::string& key, uint32_t) -> Result<DecodedFrame> {
    const size_t k = std::stoul(key);
    DecodedFrame f;
    f.format.rows = kRows;
    f.format.columns = kCols;
    f.format.type = SampleType::kInt16;
    f.data.resize(size_t{kRows} * kCols * 2);
    for (uint32_t r = 0; r < kRows; ++r) {
      for (uint32_t c = 0; c < kCols; ++c) {
        const int16_t v = Phantom(s, k, r, c);
        std::memcpy(f.data.data() + (r * kCols + c) * 2, &v, 2);
      }
    }
    return f;
  };
}

std::shared_ptr<const SeriesPlan> Plan(const Series& s) {
  auto plan = PlanVolumes(Inputs(s));
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return std::make_shared<const SeriesPlan>(std::move(*plan));
}

std::string ReadWhole(const VolumeReader& r) {
  std::string out(r.size(), '\0');
  auto n = r.ReadAt(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), out.size()));
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return out;
}

// Runs resample_check.py on volume `index` of `plan`; `padding` is the
// value expected outside the slab.
void ExpectPhantom(const Series& s, std::shared_ptr<const SeriesPlan> plan, size_t index,
                   std::optional<double> padding, double margin) {
  testing::TempDir dir;
  VolumeReader reader(plan, index, Source(s), {});
  std::ofstream(dir.path() + "/v.nii", std::ios::binary) << ReadWhole(reader);
  const double last = s.z.back() - s.z.front();
  char spec[1024];
  std::snprintf(spec, sizeof(spec),
                "{\"a\": [%g, %g, %g], \"b\": %g, \"p0\": [0, 0, %g], \"u\": [0, 0, 1],"
                " \"row\": [%.17g, %.17g, %.17g], \"col\": [%.17g, %.17g, %.17g],"
                " \"rows\": %u, \"cols\": %u, \"rs\": %g, \"cs\": %g, \"last\": %g,"
                " \"padding\": %s, \"margin\": %g}",
                kA[0], kA[1], kA[2], kB, s.z.front(), s.iop[0], s.iop[1], s.iop[2], s.iop[3],
                s.iop[4], s.iop[5], kRows, kCols, kRowSpacing, kColSpacing, last,
                padding ? std::to_string(*padding).c_str() : "null", margin);
  std::ofstream(dir.path() + "/spec.json") << spec;
  auto r = testing::Shell("/usr/bin/python3 " +
                          testing::ShellQuote(testing::SourceDir() + "/tests/recon/resample_check.py") +
                          " " + testing::ShellQuote(dir.path() + "/v.nii") + " " +
                          testing::ShellQuote(dir.path() + "/spec.json") + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << plan->volumes[index].suffix << ": " << r.output;
}

std::array<double, 6> Tilted(double degrees) {
  const double t = degrees * M_PI / 180;
  return {1, 0, 0, 0, std::cos(t), -std::sin(t)};
}

TEST(Resample, GantryTiltAddsATiltCorrectedVolume) {
  for (double degrees : {20.0, -20.0}) {  // both signs: the negative one moves the origin
    Series s;
    s.iop = Tilted(degrees);
    s.z = {0, 4, 8, 12, 16, 20};
    auto plan = Plan(s);
    ASSERT_EQ(plan->volumes.size(), 2u) << degrees;
    const VolumePlan& v = plan->volumes[1];
    EXPECT_EQ(v.suffix, "_Tilt_1");
    // The last slice sits 20 sin(20 deg) / 0.8 = 8.55 rows off the first.
    EXPECT_EQ(v.ny, kRows + 9);
    EXPECT_EQ(v.nz, 6u);
    EXPECT_NEAR(v.pixdim[2], 4 * std::cos(20 * M_PI / 180), 1e-9);
    EXPECT_NE(v.sidecar_json.find("_Tilt"), std::string::npos);
    EXPECT_NE(plan->volumes[0].sidecar_json.find("series_Tilt_1.nii"), std::string::npos);
    ExpectPhantom(s, plan, 1, -1000, 1);
    // The acquired volume is unchanged: the phantom holds there too.
    ExpectPhantom(s, plan, 0, std::nullopt, 0);
  }
}

TEST(Resample, InstanceNumbersAgainstPositionChangeNothing) {
  // Slices are taken along the normal: the same volume, geometry and values
  // whichever way InstanceNumber runs, for either tilt sign, even or not.
  for (double degrees : {15.0, -15.0}) {
    for (std::vector<double> z : {std::vector<double>{0, 4, 8, 12, 16},
                                  std::vector<double>{0, 3, 6, 12, 15, 18}}) {
      Series s;
      s.iop = Tilted(degrees);
      s.z = z;
      Series d = s;
      d.descending = true;
      auto along = Plan(s), against = Plan(d);
      ASSERT_EQ(against->volumes.size(), 2u) << degrees;
      EXPECT_EQ(against->volumes[1].suffix, along->volumes[1].suffix);
      VolumeReader a(along, 1, Source(s), {}), b(against, 1, Source(d), {});
      EXPECT_EQ(ReadWhole(a), ReadWhole(b)) << degrees << " " << z.size();
      // An _Eq slice blends tilted slices whose edges lie rows apart.
      ExpectPhantom(d, against, 1, -1000, against->volumes[1].suffix == "_Tilt_1" ? 1 : 3);
    }
  }
}

TEST(Resample, UnevenSpacingAddsAnEquallySpacedVolume) {
  Series s;
  s.modality = "MR";
  s.z = {0, 2, 4, 8, 10, 12};
  auto plan = Plan(s);
  ASSERT_EQ(plan->volumes.size(), 2u);
  const VolumePlan& v = plan->volumes[1];
  EXPECT_EQ(v.suffix, "_Eq_1");
  // dcm2niix: the smallest gap; ceil((12 - 2/2) / 2) = 6 slices at 0..10 mm.
  EXPECT_EQ(v.nz, 6u);
  EXPECT_DOUBLE_EQ(v.pixdim[2], 2.0);
  EXPECT_EQ(v.ny, kRows);
  EXPECT_NE(v.sidecar_json.find("equal spacing of 2 mm"), std::string::npos);
  ExpectPhantom(s, plan, 1, std::nullopt, 0);
}

TEST(Resample, TiltAndUnevenSpacingAddOneVolumeCorrectedForBoth) {
  Series s;
  s.iop = Tilted(15);
  s.z = {0, 3, 6, 12, 15, 18};
  auto plan = Plan(s);
  ASSERT_EQ(plan->volumes.size(), 2u);
  const VolumePlan& v = plan->volumes[1];
  EXPECT_EQ(v.suffix, "_Tilt_Eq_1");
  EXPECT_EQ(v.ny, kRows + static_cast<uint32_t>(std::ceil(18 * std::sin(15 * M_PI / 180) / 0.8)));
  // A 6 mm gap holds slices whose edges lie 6 sin(15) / 0.8 = 2 rows apart.
  ExpectPhantom(s, plan, 1, -1000, 3);
}

TEST(Resample, WithoutPaddingValueTheDarkestVoxelFills) {
  Series s;
  s.iop = Tilted(20);
  s.z = {0, 4, 8, 12};
  s.padding.reset();
  auto plan = Plan(s);
  ASSERT_EQ(plan->volumes.size(), 2u);
  int16_t darkest = INT16_MAX;
  for (size_t k = 0; k < s.z.size(); ++k) {
    for (uint32_t r = 0; r < kRows; ++r) {
      for (uint32_t c = 0; c < kCols; ++c) darkest = std::min(darkest, Phantom(s, k, r, c));
    }
  }
  ExpectPhantom(s, plan, 1, darkest, 1);
}

TEST(Resample, NoExtraVolumeWhereDcm2niixWritesNone) {
  Series even;  // even spacing, no tilt
  even.z = {0, 2, 4, 6};
  EXPECT_EQ(Plan(even)->volumes.size(), 1u);
  Series mr = even;  // a sheared MR stack is not a gantry tilt
  mr.modality = "MR";
  mr.iop = Tilted(20);
  EXPECT_EQ(Plan(mr)->volumes.size(), 1u);
  Series two;  // fewer than 3 slices
  two.iop = Tilted(20);
  two.z = {0, 4};
  EXPECT_EQ(Plan(two)->volumes.size(), 1u);
}

TEST(Resample, StreamsRandomRangesAndSurvivesSerialization) {
  Series s;
  s.iop = Tilted(15);
  s.z = {0, 3, 6, 12, 15, 18};
  auto plan = Plan(s);
  ASSERT_EQ(plan->volumes.size(), 2u);
  auto back = DeserializePlan(SerializePlan(*plan));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(SerializePlan(*back), SerializePlan(*plan));
  auto again = std::make_shared<const SeriesPlan>(std::move(*back));
  VolumeReader whole_reader(plan, 1, Source(s), {});
  VolumeReaderOptions small;
  small.cache_bytes = 4096;
  small.prefetch_slices = 0;
  VolumeReader reader(again, 1, Source(s), small);
  const std::string whole = ReadWhole(whole_reader);
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    const uint64_t off = rng() % whole.size();
    std::string part(1 + rng() % 997, '\0');
    auto n = reader.ReadAt(off, std::span<uint8_t>(reinterpret_cast<uint8_t*>(part.data()), part.size()));
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(part.substr(0, *n), whole.substr(off, *n)) << "offset " << off;
  }
  // A plan of an older version is refused (persisted plans are re-made).
  std::string old = SerializePlan(*plan);
  old.replace(old.find("\"version\":3"), 11, "\"version\":2");
  EXPECT_FALSE(DeserializePlan(old).ok());
}

}  // namespace
}  // namespace dcmfs
