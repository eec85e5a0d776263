// The display pipeline against values worked out by hand from the DICOM
// formulas (PS3.3 C.11.1 rescale, C.11.2.1.2.1 LINEAR window,
// C.11.2.1.3.1 SIGMOID, C.11.2.1.3.2 LINEAR_EXACT, C.7.6.3.1.2 MONOCHROME1),
// rounded to nearest. The arithmetic for each expectation is in a comment.
#include "recon/render.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

namespace dcmfs {
namespace {

template <typename T>
DecodedFrame Frame(std::vector<T> values, SampleType type, uint32_t columns,
                   std::string photometric = "MONOCHROME2") {
  DecodedFrame frame;
  frame.format.columns = columns;
  frame.format.rows = static_cast<uint32_t>(values.size() / columns);
  frame.format.samples = 1;
  frame.format.type = type;
  frame.format.bits_stored = sizeof(T) * 8;
  frame.format.photometric = std::move(photometric);
  frame.data.resize(values.size() * sizeof(T));
  std::memcpy(frame.data.data(), values.data(), frame.data.size());
  return frame;
}

std::vector<int> Pixels(const Raster& r) { return {r.pixels.begin(), r.pixels.end()}; }

InstanceMeta CtMeta() {
  InstanceMeta meta;
  meta.rescale_slope = 1;
  meta.rescale_intercept = -1024;
  meta.window_center = "40\\400";
  meta.window_width = "400\\2000";
  return meta;
}

// Stored int16 values; modality = stored - 1024.
const std::vector<int16_t> kCtStored = {0, 1024, 1064, 1263, 1262, 864, 865};

TEST(RenderTest, FirstStoredWindowIsLinearPerPs33) {
  const DisplaySettings settings = DisplaySettingsFromMeta(CtMeta());
  ASSERT_EQ(settings.windows.size(), 2u);
  auto r = RenderFrame(Frame(kCtStored, SampleType::kInt16, 7), settings);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->channels, 1);
  // c = 40, w = 400: x <= 40 - 0.5 - 199.5 = -160 -> 0; x > 239 -> 255;
  // else ((x - 39.5) / 399 + 0.5) * 255.
  //   -1024 -> 0; 0 -> 102.26 -> 102; 40 -> 127.82 -> 128; 239 -> 255 (not > 239,
  //   formula gives exactly 255); 238 -> 254.36 -> 254; -160 -> 0; -159 -> 0.64 -> 1.
  EXPECT_EQ(Pixels(*r), (std::vector<int>{0, 102, 128, 255, 254, 0, 1}));
}

TEST(RenderTest, SecondWindowByIndexAndMissingWindowIsAnError) {
  const DisplaySettings settings = DisplaySettingsFromMeta(CtMeta());
  RenderOptions options;
  options.window_index = 1;
  const std::vector<int16_t> stored = {0, 1024, 1424, 2423, 424, 425};
  auto r = RenderFrame(Frame(stored, SampleType::kInt16, 6), settings, options);
  ASSERT_TRUE(r.ok());
  // c = 400, w = 2000: bounds -600 and 1399; ((x - 399.5) / 1999 + 0.5) * 255.
  //   -1024 -> 0; 0 -> 76.54 -> 77; 400 -> 127.56 -> 128; 1399 -> 255;
  //   -600 -> 0; -599 -> 0.13 -> 0.
  EXPECT_EQ(Pixels(*r), (std::vector<int>{0, 77, 128, 255, 0, 0}));
  options.window_index = 2;
  EXPECT_EQ(RenderFrame(Frame(stored, SampleType::kInt16, 6), settings, options).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(RenderTest, Monochrome1IsInvertedAfterTheWindow) {
  const DisplaySettings settings = DisplaySettingsFromMeta(CtMeta());
  auto r = RenderFrame(Frame(kCtStored, SampleType::kInt16, 7, "MONOCHROME1"), settings);
  ASSERT_TRUE(r.ok());
  // 255 minus the MONOCHROME2 values above.
  EXPECT_EQ(Pixels(*r), (std::vector<int>{255, 153, 127, 0, 1, 255, 254}));
}

std::vector<uint16_t> ZeroTo999() {
  std::vector<uint16_t> v(1000);
  std::iota(v.begin(), v.end(), 0);
  std::reverse(v.begin() + 100, v.end());  // not sorted: ranks must be computed
  return v;
}

TEST(RenderTest, PercentileWindowWhenNoWindowIsStored) {
  DisplaySettings settings;  // slope 1, intercept 0, no windows
  const DecodedFrame frame = Frame(ZeroTo999(), SampleType::kUint16, 100);
  auto window = PercentileWindow(frame, settings, 0.5, 99.5);
  ASSERT_TRUE(window.ok());
  // n = 1000: ranks floor(0.005 * 999) = 4 and floor(0.995 * 999) = 994 hold
  // the values 4 and 994: centre 499, width 990.
  EXPECT_DOUBLE_EQ(window->center, 499);
  EXPECT_DOUBLE_EQ(window->width, 990);
  auto r = RenderFrame(frame, settings);
  ASSERT_TRUE(r.ok());
  auto at = [&](uint16_t value) {
    const auto& v = ZeroTo999();
    return int(r->pixels[std::find(v.begin(), v.end(), value) - v.begin()]);
  };
  // LINEAR_EXACT: x <= 4 -> 0; x > 994 -> 255; else ((x - 499) / 990 + 0.5) * 255.
  EXPECT_EQ(at(0), 0);
  EXPECT_EQ(at(4), 0);
  EXPECT_EQ(at(250), 63);   // 63.36
  EXPECT_EQ(at(499), 128);  // 127.5 rounds up
  EXPECT_EQ(at(994), 255);
  EXPECT_EQ(at(999), 255);
}

TEST(RenderTest, PercentileWindowOfFloatAndOfNegativeSlope) {
  std::vector<float> floats;
  for (uint16_t v : ZeroTo999()) floats.push_back(v);
  DisplaySettings scaled;
  scaled.rescale_slope = 2;
  scaled.rescale_intercept = 10;
  auto w = PercentileWindow(Frame(floats, SampleType::kFloat32, 100), scaled, 0.5, 99.5);
  ASSERT_TRUE(w.ok());
  // Modality values 2v + 10: 18 and 1998 -> centre 1008, width 1980.
  EXPECT_DOUBLE_EQ(w->center, 1008);
  EXPECT_DOUBLE_EQ(w->width, 1980);

  DisplaySettings negative;
  negative.rescale_slope = -1;
  const DecodedFrame frame = Frame(ZeroTo999(), SampleType::kUint16, 100);
  w = PercentileWindow(frame, negative, 0.5, 99.5);
  ASSERT_TRUE(w.ok());
  // Modality values -999..0 ascending: rank 4 is -995, rank 994 is -5.
  EXPECT_DOUBLE_EQ(w->center, -500);
  EXPECT_DOUBLE_EQ(w->width, 990);
  auto r = RenderFrame(frame, negative);
  ASSERT_TRUE(r.ok());
  // Index 50 holds stored 50: modality -50 -> ((-50 + 500) / 990 + 0.5) * 255 = 243.41.
  EXPECT_EQ(r->pixels[50], 243);
}

TEST(RenderTest, SigmoidAndLinearExactFormulas) {
  // SIGMOID: 255 / (1 + exp(-4 (x - c) / w)); c = 0, w = 100, x = 25:
  // 255 / (1 + e^-1) = 186.42.
  EXPECT_NEAR(ApplyVoi(25, {0, 100}, VoiFunction::kSigmoid), 186.42, 0.01);
  // LINEAR_EXACT c = 0, w = 100: x = 25 -> (0.25 + 0.5) * 255 = 191.25.
  EXPECT_DOUBLE_EQ(ApplyVoi(25, {0, 100}, VoiFunction::kLinearExact), 191.25);
  EXPECT_DOUBLE_EQ(ApplyVoi(-50, {0, 100}, VoiFunction::kLinearExact), 0);
  EXPECT_DOUBLE_EQ(ApplyVoi(51, {0, 100}, VoiFunction::kLinearExact), 255);
  // LINEAR with w = 1 is a threshold at c - 0.5 (C.11.2.1.2.1 requires w >= 1).
  EXPECT_DOUBLE_EQ(ApplyVoi(9.5, {10, 1}, VoiFunction::kLinear), 0);
  EXPECT_DOUBLE_EQ(ApplyVoi(9.6, {10, 1}, VoiFunction::kLinear), 255);
}

TEST(RenderTest, ExplicitWindowOverridesStored) {
  RenderOptions options;
  options.window = WindowLevel{0, 100};
  DisplaySettings settings;
  settings.voi_function = VoiFunction::kLinearExact;
  settings.windows = {{1000, 10}};
  auto r = RenderFrame(Frame(std::vector<int16_t>{-50, 25, 51}, SampleType::kInt16, 3), settings,
                       options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Pixels(*r), (std::vector<int>{0, 191, 255}));  // 191.25 -> 191
}

TEST(RenderTest, FlatFrameIsBlackAndSparseMaskStaysVisible) {
  std::vector<uint8_t> mask(1000, 0);
  mask[17] = 1;
  auto r = RenderFrame(Frame(mask, SampleType::kUint8, 100), DisplaySettings{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->pixels[0], 0);
  EXPECT_EQ(r->pixels[17], 255);
}

TEST(RenderTest, RgbPassesThrough) {
  DecodedFrame frame;
  frame.format = {2, 2, 3, SampleType::kUint8, 8, "RGB"};
  frame.data = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  auto r = RenderFrame(frame, DisplaySettingsFromMeta(CtMeta()));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->channels, 3);
  EXPECT_EQ(r->pixels, frame.data);
}

TEST(RenderTest, MetaParsingDropsUnusableWindows) {
  InstanceMeta meta;
  meta.window_center = "abc\\50\\60";
  meta.window_width = "10\\0\\350";
  meta.rescale_slope = 0;  // invalid: treated as 1
  const DisplaySettings s = DisplaySettingsFromMeta(meta);
  ASSERT_EQ(s.windows.size(), 1u);
  EXPECT_DOUBLE_EQ(s.windows[0].center, 60);
  EXPECT_DOUBLE_EQ(s.windows[0].width, 350);
  EXPECT_DOUBLE_EQ(s.rescale_slope, 1);
}

TEST(RenderTest, MalformedFramesAreErrors) {
  DecodedFrame frame = Frame(std::vector<uint16_t>{1, 2, 3, 4}, SampleType::kUint16, 2);
  frame.data.pop_back();
  EXPECT_EQ(RenderFrame(frame, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(RenderFrame(DecodedFrame{}, {}).ok());
}

}  // namespace
}  // namespace dcmfs
