// PNG/JPEG/WebP encoding: round trips through our decoders, and the files
// read back by PIL (someone else's decoder) with the same pixels.
#include "codecs/image_encode.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <span>

#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A smooth RGB gradient (JPEG-friendly) of w x h.
Raster Gradient(uint32_t w, uint32_t h, uint16_t channels) {
  Raster r{w, h, channels, std::vector<uint8_t>(size_t{w} * h * channels)};
  for (uint32_t y = 0; y < h; ++y) {
    for (uint32_t x = 0; x < w; ++x) {
      for (uint16_t c = 0; c < channels; ++c) {
        r.pixels[(size_t{y} * w + x) * channels + c] = static_cast<uint8_t>((x * 2 + y + c * 60) % 256);
      }
    }
  }
  return r;
}

double MeanAbsDiff(const Raster& a, const Raster& b) {
  double sum = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) sum += std::abs(int(a.pixels[i]) - int(b.pixels[i]));
  return sum / double(a.pixels.size());
}

TEST(ImageEncodeTest, PngRoundTripIsExactForGrayAndRgb) {
  for (uint16_t channels : {1, 3}) {
    const Raster in = Gradient(37, 19, channels);  // odd sizes: no padding assumptions
    auto png = EncodePng(in.view());
    ASSERT_TRUE(png.ok()) << png.status().ToString();
    auto out = DecodePng(Bytes(*png));
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->width, 37u);
    EXPECT_EQ(out->height, 19u);
    EXPECT_EQ(out->channels, channels);
    EXPECT_EQ(out->pixels, in.pixels);
  }
}

TEST(ImageEncodeTest, StrideSelectsASubImage) {
  const Raster big = Gradient(64, 32, 3);
  // The 10x5 window at (7, 3), addressed through the parent's stride.
  RasterView sub{big.pixels.data() + (3 * 64 + 7) * 3, 10, 5, 3, 64 * 3};
  auto png = EncodePng(sub);
  ASSERT_TRUE(png.ok());
  auto out = DecodePng(Bytes(*png));
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->width, 10u);
  for (uint32_t y = 0; y < 5; ++y) {
    for (uint32_t x = 0; x < 10; ++x) {
      for (int c = 0; c < 3; ++c) {
        EXPECT_EQ(out->pixels[(y * 10 + x) * 3 + c], big.pixels[((y + 3) * 64 + x + 7) * 3 + c]);
      }
    }
  }
}

TEST(ImageEncodeTest, JpegRoundTripIsClose) {
  for (uint16_t channels : {1, 3}) {
    const Raster in = Gradient(128, 96, channels);
    auto jpeg = EncodeJpeg(in.view(), 95);
    ASSERT_TRUE(jpeg.ok()) << jpeg.status().ToString();
    auto header = ReadJpegHeader(Bytes(*jpeg));
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header->width, 128u);
    EXPECT_EQ(header->height, 96u);
    EXPECT_EQ(header->channels, channels);
    auto out = DecodeJpeg(Bytes(*jpeg));
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_LT(MeanAbsDiff(in, *out), 3.0);
  }
}

TEST(ImageEncodeTest, WebpRoundTripIsClose) {
  const Raster in = Gradient(64, 48, 3);
  auto webp = EncodeWebp(in.view(), 95);
  ASSERT_TRUE(webp.ok()) << webp.status().ToString();
  auto out = DecodeWebp(Bytes(*webp));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->width, 64u);
  EXPECT_LT(MeanAbsDiff(in, *out), 4.0);
}

TEST(ImageEncodeTest, BadInputIsAnErrorNotACrash) {
  EXPECT_FALSE(EncodePng(RasterView{}).ok());
  const Raster in = Gradient(4, 4, 3);
  EXPECT_FALSE(EncodeJpeg({in.pixels.data(), 4, 4, 2, 0}).ok());
  EXPECT_FALSE(EncodeJpeg({in.pixels.data(), 4, 4, 3, 5}).ok());  // stride < row
  EXPECT_FALSE(EncodeJpeg(in.view(), 0).ok());
  const std::string junk = "not an image at all";
  EXPECT_EQ(DecodeJpeg(Bytes(junk)).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(DecodePng(Bytes(junk)).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(DecodeWebp(Bytes(junk)).status().code(), StatusCode::kDataLoss);
  auto png = EncodePng(in.view());
  ASSERT_TRUE(png.ok());
  EXPECT_FALSE(DecodePng(Bytes(png->substr(0, png->size() / 2))).ok());
}

// PIL reads what we wrote with the pixels we wrote (PNG) or close (JPEG).
TEST(ImageEncodeTest, PilReadsOurFiles) {
  if (testing::Shell("/usr/bin/python3 -c 'import PIL'").exit_code != 0) {
    GTEST_FAIL() << "python3-pil not installed";
  }
  testing::TempDir dir;
  const Raster in = Gradient(40, 30, 3);
  testing::WriteFileOrDie(dir.Sub("a.png"), *EncodePng(in.view()));
  testing::WriteFileOrDie(dir.Sub("a.jpg"), *EncodeJpeg(in.view(), 95));
  // PIL prints size, mode and the pixel at (x=13, y=7).
  const std::string script =
      "import sys; from PIL import Image\n"
      "for f in sys.argv[1:]:\n"
      "  im = Image.open(f); print(im.size[0], im.size[1], im.mode, *im.getpixel((13, 7)))\n";
  testing::WriteFileOrDie(dir.Sub("read.py"), script);
  auto run = testing::Shell("/usr/bin/python3 " + dir.Sub("read.py") + " " + dir.Sub("a.png") +
                            " " + dir.Sub("a.jpg"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const size_t at = (7 * 40 + 13) * 3;
  char expected[64];
  std::snprintf(expected, sizeof expected, "40 30 RGB %d %d %d\n", in.pixels[at], in.pixels[at + 1],
                in.pixels[at + 2]);
  const std::string first_line = run.output.substr(0, run.output.find('\n') + 1);
  EXPECT_EQ(first_line, expected);
  EXPECT_NE(run.output.find("40 30 RGB", first_line.size()), std::string::npos) << run.output;
}

}  // namespace
}  // namespace dcmfs
