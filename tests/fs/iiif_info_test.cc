// info.json and the canonical tile set, worked out by hand for small images
// from the tile rules of IIIF Image API 3.0 (section 5.6: a tile at scale
// factor s covers tile_width * s image pixels and is delivered at
// ceil(region / s)).
#include "fs/iiif/iiif_info.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace dcmfs::iiif {
namespace {

TEST(IiifInfoTest, ScaleFactorsUntilTheImageFitsOneTile) {
  const ImageInfo info = MakeImageInfo(1000, 600, false, 512);
  // 1000 > 512 at s = 1; 500 x 300 fits at s = 2.
  EXPECT_EQ(info.scale_factors, (std::vector<uint32_t>{1, 2}));
  ASSERT_EQ(info.sizes.size(), 2u);
  EXPECT_EQ(info.sizes[0], (std::pair<uint32_t, uint32_t>{500, 300}));
  EXPECT_EQ(info.sizes[1], (std::pair<uint32_t, uint32_t>{1000, 600}));
  EXPECT_EQ(MakeImageInfo(512, 512, false).scale_factors, (std::vector<uint32_t>{1}));
  // 4097 wide: 4097, 2049, 1025, 513, 257 -> s = 16 is the first to fit.
  EXPECT_EQ(MakeImageInfo(4097, 10, false).scale_factors.back(), 16u);
}

TEST(IiifInfoTest, CanonicalTileSetOfASmallImage) {
  const ImageInfo info = MakeImageInfo(1000, 600, false, 512);
  const std::vector<std::string> expected = {
      // s = 1: 2 x 2 tiles; the right column is 1000 - 512 = 488 wide, the
      // bottom row 600 - 512 = 88 high; size equals region -> "max".
      "0,0,512,512/max/0/default.jpg",
      "0,512,512,88/max/0/default.jpg",
      "512,0,488,512/max/0/default.jpg",
      "512,512,488,88/max/0/default.jpg",
      // s = 2: one tile covering the image at 500 x 300 (also the listed size).
      "full/500,300/0/default.jpg",
      "full/max/0/default.jpg",
  };
  EXPECT_EQ(CanonicalTileSet(info), expected);
  EXPECT_EQ(TilePath(info, 1, 1, 1, Format::kPng), "512,512,488,88/max/0/default.png");
}

TEST(IiifInfoTest, OddEdgeTilesRoundUp) {
  const ImageInfo info = MakeImageInfo(1500, 1100, false, 512);
  // s = 2: tiles span 1024 pixels; the right one covers 1024..1499 (476 px)
  // -> ceil(476 / 2) = 238; the bottom one 1024..1099 (76 px) -> 38.
  EXPECT_EQ(TilePath(info, 2, 1, 1), "1024,1024,476,76/238,38/0/default.jpg");
  // s = 4: one tile, ceil(1500 / 4) = 375, ceil(1100 / 4) = 275.
  EXPECT_EQ(TilePath(info, 4, 0, 0), "full/375,275/0/default.jpg");
}

TEST(IiifInfoTest, InfoJsonHasEveryRequiredProperty) {
  ImageInfo info = MakeImageInfo(1000, 600, true, 512);
  const auto j = nlohmann::json::parse(InfoJson(info, "http://h/studies/1.2/3.4/iiif/5.6"));
  // Section 5.1-5.3: required @context, id, type, protocol, profile, width, height.
  EXPECT_EQ(j["@context"], "http://iiif.io/api/image/3/context.json");
  EXPECT_EQ(j["id"], "http://h/studies/1.2/3.4/iiif/5.6");
  EXPECT_EQ(j["type"], "ImageService3");
  EXPECT_EQ(j["protocol"], "http://iiif.io/api/image");
  EXPECT_EQ(j["profile"], "level2");
  EXPECT_EQ(j["width"], 1000);
  EXPECT_EQ(j["height"], 600);
  EXPECT_EQ(j["tiles"][0]["width"], 512);
  EXPECT_EQ(j["tiles"][0]["scaleFactors"], nlohmann::json::array({1, 2}));
  EXPECT_EQ(j["sizes"][0]["width"], 500);
  EXPECT_EQ(j["extraQualities"][0], "color");
  EXPECT_FALSE(j.contains("maxWidth"));
  info.limits.max_width = 800;
  info.color = false;
  const auto k = nlohmann::json::parse(InfoJson(info, "x"));
  EXPECT_EQ(k["maxWidth"], 800);
  EXPECT_EQ(k["extraQualities"], nlohmann::json::array({"gray", "bitonal"}));
}

TEST(IiifInfoTest, PyramidScaleFactorsComeFromTheLevels) {
  // Levels 10000 x 8000, 2500 x 2000 (1/4), 625 x 500 (1/16), given in any order.
  const ImageInfo info = MakePyramidInfo({{625, 500}, {10000, 8000}, {2500, 2000}}, true, 256, 256);
  EXPECT_EQ(info.width, 10000u);
  EXPECT_EQ(info.scale_factors, (std::vector<uint32_t>{1, 4, 16}));
  ASSERT_EQ(info.sizes.size(), 3u);
  EXPECT_EQ(info.sizes[0], (std::pair<uint32_t, uint32_t>{625, 500}));
  // A tile of level 1/4: column 3 row 2 -> image pixels (3 * 1024, 2 * 1024).
  EXPECT_EQ(TilePath(info, 4, 3, 2), "3072,2048,1024,1024/256,256/0/default.jpg");
}

}  // namespace
}  // namespace dcmfs::iiif
