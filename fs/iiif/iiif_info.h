// The Image Information document (info.json, IIIF Image API 3.0 section 5)
// of one image service, and the canonical tile set it advertises, which is
// what a static publication of the service lists (readdir) and what a viewer
// such as OpenSeadragon requests.
//
// Plain functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/iiif/iiif_request.h"

namespace dcmfs::iiif {

struct ImageInfo {
  uint32_t width = 0;
  uint32_t height = 0;
  uint32_t tile_width = 512;
  uint32_t tile_height = 512;
  std::vector<uint32_t> scale_factors;  // ascending, starting at 1
  std::vector<std::pair<uint32_t, uint32_t>> sizes;  // full-image sizes offered, ascending
  bool color = false;  // the image has colour: "color" is an extra quality
  Limits limits;
};

// Tiles of `tile` pixels; scale factors 1, 2, 4, ... until the whole image
// fits one tile; sizes = the full image at each scale factor.
ImageInfo MakeImageInfo(uint32_t width, uint32_t height, bool color, uint32_t tile = 512);

// Scale factors given by a pyramid (whole-slide levels): the ratios of the
// base width to each level's width, rounded, ascending; sizes are the
// levels' own sizes (exact, as stored).
ImageInfo MakePyramidInfo(const std::vector<std::pair<uint32_t, uint32_t>>& level_sizes,
                          bool color, uint32_t tile_width, uint32_t tile_height);

// info.json: @context, id (= `id`, no trailing slash), type ImageService3,
// protocol, profile level2, width, height, maxWidth/maxHeight/maxArea when
// set, sizes, tiles, extraQualities, extraFormats, extraFeatures.
std::string InfoJson(const ImageInfo& info, std::string_view id);

// The canonical "{region}/{size}/{rotation}/{quality}.{format}" of the tile
// at column `col`, row `row` of scale factor `scale` (section 5.6: region
// (col * tw * s, row * th * s) clipped to the image, size ceil(region / s)).
std::string TilePath(const ImageInfo& info, uint32_t scale, uint32_t col, uint32_t row,
                     Format format = Format::kJpg);

// Every path a level-0 client may request: full/max/0/default.jpg, each
// listed size, and every tile at every scale factor, canonical, deduplicated
// and sorted.
std::vector<std::string> CanonicalTileSet(const ImageInfo& info);

}  // namespace dcmfs::iiif
