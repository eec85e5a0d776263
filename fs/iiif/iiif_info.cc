#include "fs/iiif/iiif_info.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

namespace dcmfs::iiif {
namespace {

uint32_t CeilDiv(uint64_t a, uint64_t b) { return static_cast<uint32_t>((a + b - 1) / b); }

}  // namespace

ImageInfo MakeImageInfo(uint32_t width, uint32_t height, bool color, uint32_t tile) {
  ImageInfo info;
  info.width = width;
  info.height = height;
  info.color = color;
  info.tile_width = info.tile_height = tile;
  uint32_t scale = 1;
  while (true) {
    info.scale_factors.push_back(scale);
    info.sizes.emplace_back(CeilDiv(width, scale), CeilDiv(height, scale));
    if (CeilDiv(width, scale) <= tile && CeilDiv(height, scale) <= tile) break;
    if (scale >= (1u << 30)) break;
    scale *= 2;
  }
  std::reverse(info.sizes.begin(), info.sizes.end());
  return info;
}

ImageInfo MakePyramidInfo(const std::vector<std::pair<uint32_t, uint32_t>>& level_sizes,
                          bool color, uint32_t tile_width, uint32_t tile_height) {
  ImageInfo info;
  info.color = color;
  info.tile_width = tile_width;
  info.tile_height = tile_height;
  if (level_sizes.empty()) return info;
  std::vector<std::pair<uint32_t, uint32_t>> levels = level_sizes;
  std::sort(levels.begin(), levels.end(), std::greater<>());  // base (largest) first
  info.width = levels.front().first;
  info.height = levels.front().second;
  std::set<uint32_t> scales;
  for (const auto& [w, h] : levels) {
    if (w == 0 || h == 0) continue;
    const auto s = static_cast<uint32_t>(std::lround(double(info.width) / w));
    if (s >= 1 && scales.insert(s).second) info.sizes.emplace_back(w, h);
  }
  info.scale_factors.assign(scales.begin(), scales.end());
  std::reverse(info.sizes.begin(), info.sizes.end());  // ascending
  return info;
}

std::string InfoJson(const ImageInfo& info, std::string_view id) {
  nlohmann::ordered_json j;
  j["@context"] = "http://iiif.io/api/image/3/context.json";
  j["id"] = std::string(id);
  j["type"] = "ImageService3";
  j["protocol"] = "http://iiif.io/api/image";
  j["profile"] = "level2";
  j["width"] = info.width;
  j["height"] = info.height;
  if (info.limits.max_width) j["maxWidth"] = info.limits.max_width;
  if (info.limits.max_height) j["maxHeight"] = info.limits.max_height;
  if (info.limits.max_area) j["maxArea"] = info.limits.max_area;
  nlohmann::ordered_json sizes = nlohmann::ordered_json::array();
  for (const auto& [w, h] : info.sizes) sizes.push_back({{"width", w}, {"height", h}});
  j["sizes"] = sizes;
  nlohmann::ordered_json tile;
  tile["width"] = info.tile_width;
  if (info.tile_height != info.tile_width) tile["height"] = info.tile_height;
  tile["scaleFactors"] = info.scale_factors;
  j["tiles"] = nlohmann::ordered_json::array({tile});
  // Level 2 already requires jpg and png; gray and bitonal are offered for
  // every image, color only when there is colour to offer (section 4.4).
  j["extraQualities"] = info.color ? std::vector<std::string>{"color", "gray", "bitonal"}
                                   : std::vector<std::string>{"gray", "bitonal"};
  j["extraFormats"] = {"webp"};
  j["extraFeatures"] = {"mirroring", "sizeUpscaling"};
  return j.dump(2) + "\n";
}

std::string TilePath(const ImageInfo& info, uint32_t scale, uint32_t col, uint32_t row,
                     Format format) {
  Request request;
  request.region.kind = RegionKind::kPixels;
  request.region.x = double(col) * info.tile_width * scale;
  request.region.y = double(row) * info.tile_height * scale;
  const uint64_t span_w = uint64_t{info.tile_width} * scale, span_h = uint64_t{info.tile_height} * scale;
  const uint64_t rw = std::min<uint64_t>(span_w, info.width - uint64_t(request.region.x));
  const uint64_t rh = std::min<uint64_t>(span_h, info.height - uint64_t(request.region.y));
  request.region.w = double(rw);
  request.region.h = double(rh);
  request.size.kind = SizeKind::kExact;
  request.size.w = CeilDiv(rw, scale);
  request.size.h = CeilDiv(rh, scale);
  request.format = format;
  auto resolved = Resolve(request, info.width, info.height, info.limits);
  if (!resolved.ok()) return {};
  return CanonicalPath(*resolved, info.width, info.height);
}

std::vector<std::string> CanonicalTileSet(const ImageInfo& info) {
  std::set<std::string> paths;
  if (info.width == 0 || info.height == 0) return {};
  paths.insert("full/max/0/default.jpg");
  for (const auto& [w, h] : info.sizes) {
    Request request;
    request.size.kind = SizeKind::kExact;
    request.size.w = w;
    request.size.h = h;
    auto resolved = Resolve(request, info.width, info.height, info.limits);
    if (resolved.ok()) paths.insert(CanonicalPath(*resolved, info.width, info.height));
  }
  for (uint32_t scale : info.scale_factors) {
    const uint32_t cols = CeilDiv(info.width, uint64_t{info.tile_width} * scale);
    const uint32_t rows = CeilDiv(info.height, uint64_t{info.tile_height} * scale);
    for (uint32_t row = 0; row < rows; ++row) {
      for (uint32_t col = 0; col < cols; ++col) {
        std::string path = TilePath(info, scale, col, row);
        if (!path.empty()) paths.insert(std::move(path));
      }
    }
  }
  return {paths.begin(), paths.end()};
}

}  // namespace dcmfs::iiif
