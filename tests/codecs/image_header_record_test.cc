// The catalog's image header records: Decode(Encode(h)) equals h in every
// field (doubles bit for bit), for a hand-made header that sets every field
// to an unusual value and for headers ParseImageHeader read from the corpus
// (enhanced multi-frame, mosaic, CT); damaged records are refused, never
// misread.
#include "codecs/image_header_record.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "codecs/image_header.h"
#include "tests/support/run.h"

namespace dcmfs {
namespace {

// Bitwise, so -0.0 != 0.0 and a NaN equals itself.
bool Same(double a, double b) { return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b); }
template <size_t N>
bool Same(const std::array<double, N>& a, const std::array<double, N>& b) {
  for (size_t i = 0; i < N; ++i) {
    if (!Same(a[i], b[i])) return false;
  }
  return true;
}
template <typename T>
bool Same(const std::optional<T>& a, const std::optional<T>& b) {
  if (a.has_value() != b.has_value()) return false;
  if constexpr (std::is_same_v<T, int64_t>) {
    return !a || *a == *b;
  } else {
    return !a || Same(*a, *b);
  }
}

void ExpectSameFrame(const FrameHeader& a, const FrameHeader& b, size_t i) {
  SCOPED_TRACE("frame " + std::to_string(i));
  EXPECT_TRUE(Same(a.position, b.position));
  EXPECT_TRUE(Same(a.orientation, b.orientation));
  EXPECT_TRUE(Same(a.pixel_spacing, b.pixel_spacing));
  EXPECT_TRUE(Same(a.slice_thickness, b.slice_thickness));
  EXPECT_TRUE(Same(a.rescale_slope, b.rescale_slope));
  EXPECT_TRUE(Same(a.rescale_intercept, b.rescale_intercept));
  EXPECT_TRUE(Same(a.echo_time, b.echo_time));
  EXPECT_TRUE(Same(a.echo_number, b.echo_number));
  EXPECT_TRUE(Same(a.temporal_position, b.temporal_position));
  EXPECT_TRUE(Same(a.stack_position, b.stack_position));
  EXPECT_EQ(a.dimension_index, b.dimension_index);
  EXPECT_TRUE(Same(a.trigger_time, b.trigger_time));
  EXPECT_TRUE(Same(a.philips_scale_slope, b.philips_scale_slope));
}

void ExpectSame(const ImageHeader& a, const ImageHeader& b) {
  EXPECT_EQ(a.sop_class_uid, b.sop_class_uid);
  EXPECT_EQ(a.transfer_syntax_uid, b.transfer_syntax_uid);
  EXPECT_EQ(a.series_uid, b.series_uid);
  EXPECT_EQ(a.modality, b.modality);
  EXPECT_EQ(a.manufacturer, b.manufacturer);
  EXPECT_EQ(a.image_type, b.image_type);
  EXPECT_TRUE(Same(a.series_number, b.series_number));
  EXPECT_TRUE(Same(a.instance_number, b.instance_number));
  EXPECT_TRUE(Same(a.acquisition_number, b.acquisition_number));
  EXPECT_EQ(a.acquisition_time, b.acquisition_time);
  EXPECT_TRUE(Same(a.gantry_tilt, b.gantry_tilt));
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.columns, b.columns);
  EXPECT_EQ(a.number_of_frames, b.number_of_frames);
  EXPECT_EQ(a.samples_per_pixel, b.samples_per_pixel);
  EXPECT_EQ(a.bits_allocated, b.bits_allocated);
  EXPECT_EQ(a.bits_stored, b.bits_stored);
  EXPECT_EQ(a.high_bit, b.high_bit);
  EXPECT_EQ(a.pixel_representation, b.pixel_representation);
  EXPECT_EQ(a.planar_configuration, b.planar_configuration);
  EXPECT_EQ(a.photometric, b.photometric);
  EXPECT_EQ(a.float_pixels, b.float_pixels);
  EXPECT_EQ(a.pixel_data_offset, b.pixel_data_offset);
  EXPECT_EQ(a.pixel_data_length, b.pixel_data_length);
  EXPECT_EQ(a.native, b.native);
  EXPECT_EQ(a.images_in_mosaic, b.images_in_mosaic);
  EXPECT_TRUE(Same(a.mosaic_slice_normal, b.mosaic_slice_normal));
  EXPECT_TRUE(Same(a.spacing_between_slices, b.spacing_between_slices));
  EXPECT_TRUE(Same(a.pixel_padding_value, b.pixel_padding_value));
  ASSERT_EQ(a.frames.size(), b.frames.size());
  for (size_t i = 0; i < a.frames.size(); ++i) ExpectSameFrame(a.frames[i], b.frames[i], i);
  EXPECT_EQ(a.sidecar, b.sidecar);
}

// Every field away from its default, doubles of each encoding class.
ImageHeader Unusual() {
  ImageHeader h;
  h.sop_class_uid = "1.2.840.10008.5.1.4.1.1.4.1";
  h.transfer_syntax_uid = "1.2.840.10008.1.2.4.90";
  h.series_uid = "1.2.3.4.5.6.7.8.9";
  h.modality = "MR";
  h.manufacturer = "Philips Medical Systems";
  h.image_type = "ORIGINAL\\PRIMARY\\M_FFE\\M\\FFE";
  h.series_number = -7;
  h.instance_number = int64_t{1} << 40;
  h.acquisition_number = 0;
  h.acquisition_time = "101010.123456";
  h.gantry_tilt = -0.0;
  h.rows = 70000;
  h.columns = 3;
  h.number_of_frames = 3;
  h.samples_per_pixel = 3;
  h.bits_allocated = 32;
  h.bits_stored = 12;
  h.high_bit = 11;
  h.pixel_representation = 1;
  h.planar_configuration = 1;
  h.photometric = "YBR_FULL_422";
  h.float_pixels = true;
  h.pixel_data_offset = (uint64_t{1} << 33) + 5;
  h.pixel_data_length = 0xFFFFFFFFu;
  h.native = true;
  h.images_in_mosaic = 35;
  h.mosaic_slice_normal = std::array<double, 3>{0.1, -0.2, 0.97467943448089633};
  h.spacing_between_slices = 1e300;
  h.pixel_padding_value = -2000;
  FrameHeader full;
  full.position = std::array<double, 3>{-125.5, 3e-320, std::numeric_limits<double>::infinity()};
  full.orientation = std::array<double, 6>{1, 0, 0, 0, 0.70710678118654757, -0.70710678118654757};
  full.pixel_spacing = std::array<double, 2>{0.48828125, 0.48828125};
  full.slice_thickness = 1.25;
  full.rescale_slope = 2.4420024420024422;
  full.rescale_intercept = -1024;
  full.echo_time = 4.6;
  full.echo_number = 2;
  full.temporal_position = -3;
  full.stack_position = 17;
  full.dimension_index = {1, 0xFFFFFFFFu, 3};
  full.trigger_time = std::numeric_limits<double>::quiet_NaN();
  full.philips_scale_slope = 1e-5;
  FrameHeader empty;  // every optional absent, defaults elsewhere
  FrameHeader big = full;
  big.position = std::array<double, 3>{9.0e15, -9.5e15, std::numeric_limits<double>::max()};
  big.rescale_slope = std::numeric_limits<double>::denorm_min();
  h.frames = {full, empty, big};
  h.sidecar = {{"Modality", "\"MR\""},
               {"PixelBandwidth", "434"},
               {"SomeFutureKey", "[1, 2]"},
               {"ImageType", "[\"ORIGINAL\", \"PRIMARY\"]"},
               {"", ""}};
  return h;
}

TEST(ImageHeaderRecord, EveryFieldRoundTrips) {
  const ImageHeader h = Unusual();
  const std::string bytes = EncodeImageHeader(h);
  auto back = DecodeImageHeader(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSame(h, *back);
  // Re-encoding the decoded header gives the same bytes.
  EXPECT_EQ(EncodeImageHeader(*back), bytes);
}

TEST(ImageHeaderRecord, DefaultHeaderRoundTripsAndIsSmall) {
  const ImageHeader h;
  const std::string bytes = EncodeImageHeader(h);
  auto back = DecodeImageHeader(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSame(h, *back);
  EXPECT_LT(bytes.size(), 40u);
}

TEST(ImageHeaderRecord, DamagedRecordsAreRefused) {
  const std::string bytes = EncodeImageHeader(Unusual());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = DecodeImageHeader(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r.ok()) << "a " << n << "-byte prefix decoded";
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  }
  EXPECT_FALSE(DecodeImageHeader(bytes + "x").ok());  // trailing bytes
  std::string other_version = bytes;
  other_version[0] = static_cast<char>(kImageHeaderRecordVersion + 1);
  auto r = DecodeImageHeader(other_version);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("version"), std::string::npos);
}

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Headers as ingest records them: enhanced multi-frame (per-frame groups,
// dimension indices), a Siemens mosaic, CT and Philips MR.
TEST(ImageHeaderRecord, CorpusHeadersRoundTrip) {
  const std::string corpus = testing::CorpusDir();
  if (corpus.empty()) GTEST_FAIL() << "no corpus (../shared/corpus)";
  const std::string root = corpus + "/dcm_qa";
  int checked = 0;
  for (const char* ds : {"dcm_qa_enh/In", "dcm_qa_ts/In", "dcm_qa_ct_GE/In", "dcm_qa_pdt2/In"}) {
    std::vector<std::string> paths;
    for (auto& e : std::filesystem::recursive_directory_iterator(root + "/" + ds)) {
      if (e.is_regular_file()) paths.push_back(e.path());
    }
    std::sort(paths.begin(), paths.end());
    if (paths.size() > 6) paths.resize(6);
    for (const std::string& p : paths) {
      SCOPED_TRACE(p);
      const std::vector<uint8_t> file = ReadAll(p);
      auto h = ParseImageHeaderWhole(file);
      if (!h.ok()) continue;  // not an image
      auto back = DecodeImageHeader(EncodeImageHeader(*h));
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      ExpectSame(*h, *back);
      ++checked;
    }
  }
  EXPECT_GE(checked, 12);
}

}  // namespace
}  // namespace dcmfs
