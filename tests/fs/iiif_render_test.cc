// The post-region operations of a IIIF request on tiny rasters whose
// results are worked out by hand.
#include "fs/iiif/iiif_render.h"

#include <gtest/gtest.h>

namespace dcmfs::iiif {
namespace {

Raster Gray(uint32_t w, uint32_t h, std::vector<uint8_t> px) { return {w, h, 1, std::move(px)}; }

TEST(IiifRenderTest, ShrinkAveragesTheCoveredPixels) {
  // 4 x 2 -> 2 x 1: each output averages a 2 x 2 block.
  const Raster src = Gray(4, 2, {0, 100, 200, 255, 50, 150, 0, 1});
  const Raster out = Resize(src.view(), 2, 1);
  // (0 + 100 + 50 + 150) / 4 = 75; (200 + 255 + 0 + 1) / 4 = 114.
  EXPECT_EQ(out.pixels, (std::vector<uint8_t>{75, 114}));
  // 3 -> 2 along x: output 0 covers [0, 1.5): (10 + 0.5 * 40) / 1.5 = 20;
  // output 1 covers [1.5, 3): (0.5 * 40 + 70) / 1.5 = 60.
  EXPECT_EQ(Resize(Gray(3, 1, {10, 40, 70}).view(), 2, 1).pixels, (std::vector<uint8_t>{20, 60}));
}

TEST(IiifRenderTest, EnlargeInterpolatesBetweenCentres) {
  // 2 -> 4: output centres map to source -0.25, 0.25, 0.75, 1.25 (clamped):
  // 0, 0.75 * 0 + 0.25 * 100 = 25, 75, 100.
  EXPECT_EQ(Resize(Gray(2, 1, {0, 100}).view(), 4, 1).pixels, (std::vector<uint8_t>{0, 25, 75, 100}));
}

TEST(IiifRenderTest, MirrorThenRotateClockwise) {
  // 3 x 2:   a b c
  //          d e f
  const Raster src = Gray(3, 2, {'a', 'b', 'c', 'd', 'e', 'f'});
  // 90 clockwise -> 2 x 3:  d a / e b / f c
  Raster r = MirrorRotate(src, false, 90);
  EXPECT_EQ(r.width, 2u);
  EXPECT_EQ(std::string(r.pixels.begin(), r.pixels.end()), "daebfc");
  r = MirrorRotate(src, false, 180);
  EXPECT_EQ(std::string(r.pixels.begin(), r.pixels.end()), "fedcba");
  // 270 clockwise -> c f / b e / a d
  r = MirrorRotate(src, false, 270);
  EXPECT_EQ(std::string(r.pixels.begin(), r.pixels.end()), "cfbead");
  // Mirror: c b a / f e d; then 90 clockwise: f c / e b / d a
  r = MirrorRotate(src, true, 90);
  EXPECT_EQ(std::string(r.pixels.begin(), r.pixels.end()), "fcebda");
  r = MirrorRotate(src, true, 0);
  EXPECT_EQ(std::string(r.pixels.begin(), r.pixels.end()), "cbafed");
}

TEST(IiifRenderTest, GrayAndBitonal) {
  const Raster rgb{2, 1, 3, {255, 0, 0, 0, 0, 255}};
  // BT.601 luma: red 0.299 * 255 = 76.2 -> 76; blue 0.114 * 255 = 29.07 -> 29.
  Raster g = ApplyQuality(rgb, Quality::kGray);
  EXPECT_EQ(g.channels, 1);
  EXPECT_EQ(g.pixels, (std::vector<uint8_t>{76, 29}));
  EXPECT_EQ(ApplyQuality(Gray(3, 1, {127, 128, 255}), Quality::kBitonal).pixels,
            (std::vector<uint8_t>{0, 255, 255}));
  EXPECT_EQ(ApplyQuality(rgb, Quality::kColor).channels, 3);
}

TEST(IiifRenderTest, RenderRegionDeliversTheResolvedSize) {
  Raster src{40, 20, 3, std::vector<uint8_t>(40 * 20 * 3, 128)};
  auto request = ParseRequest("full", "10,", "90", "gray.png");
  ASSERT_TRUE(request.ok());
  auto resolved = Resolve(*request, 40, 20);
  ASSERT_TRUE(resolved.ok());
  auto png = RenderRegion(src.view(), *resolved);
  ASSERT_TRUE(png.ok());
  auto decoded = DecodePng({reinterpret_cast<const uint8_t*>(png->data()), png->size()});
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->width, 5u);  // 10 x 5, rotated
  EXPECT_EQ(decoded->height, 10u);
  EXPECT_EQ(decoded->channels, 1);
  EXPECT_EQ(decoded->pixels[0], 128);
}

}  // namespace
}  // namespace dcmfs::iiif
