// IIIF Image API 3.0 image requests (https://iiif.io/api/image/3.0/):
// parsing of the four path parameters {region}/{size}/{rotation}/{quality}.{format},
// their resolution against an image's pixel size, and the canonical form
// (section 4.7) that keys the derived cache, so that equivalent requests
// ("pct:0,0,100,100/max/0.0/default.jpg" and "full/max/0/default.jpg")
// share one rendering.
//
// Supported (what info.json advertises, level 2 plus extras):
//   region   full | square | x,y,w,h | pct:x,y,w,h
//   size     max | ^max | w, | ,h | pct:n | w,h | !w,h, each with a ^ prefix
//            to allow upscaling (without ^ a size above the region is invalid)
//   rotation n | !n with n in {0, 90, 180, 270} (360 = 0; "90.0" = 90);
//            other angles are valid IIIF but not produced here
//   quality  default | color | gray | bitonal
//   format   jpg | png | webp
// Plain functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace dcmfs::iiif {

enum class RegionKind { kFull, kSquare, kPixels, kPercent };
enum class SizeKind { kMax, kWidth, kHeight, kPercent, kExact, kBestFit };
enum class Quality { kDefault, kColor, kGray, kBitonal };
enum class Format { kJpg, kPng, kWebp };

struct Region {
  RegionKind kind = RegionKind::kFull;
  double x = 0, y = 0, w = 0, h = 0;  // pixels (integers) or percent
};

struct Size {
  SizeKind kind = SizeKind::kMax;
  bool upscale = false;  // the ^ prefix
  double w = 0, h = 0;   // pixels; kPercent keeps n in w
};

// One parsed image request, not yet tied to an image.
struct Request {
  Region region;
  Size size;
  int rotation = 0;  // 0, 90, 180 or 270 degrees clockwise
  bool mirror = false;
  Quality quality = Quality::kDefault;
  Format format = Format::kJpg;
};

// Limits an image service declares in info.json (0 = none).
struct Limits {
  uint32_t max_width = 0;
  uint32_t max_height = 0;
  uint64_t max_area = 0;
};

// A request resolved against an image of width x height: the source rectangle
// in image pixels and the output size before rotation.
struct Resolved {
  uint32_t x = 0, y = 0, w = 0, h = 0;  // region, inside the image
  uint32_t out_w = 0, out_h = 0;        // scaled region (before rotation)
  int rotation = 0;
  bool mirror = false;
  Quality quality = Quality::kDefault;
  Format format = Format::kJpg;
  bool is_max = false;  // the size is what "max" gives (canonical "max")

  // Width and height of the delivered image (after rotation).
  uint32_t final_w() const { return rotation % 180 == 0 ? out_w : out_h; }
  uint32_t final_h() const { return rotation % 180 == 0 ? out_h : out_w; }
};

// InvalidArgument naming the parameter when a parameter is malformed or not
// supported (a static server answers ENOENT, shown as 400 by the shipped
// nginx config).
Result<Region> ParseRegion(std::string_view text);
Result<Size> ParseSize(std::string_view text);
// "90", "!180", "270.0".
Result<std::pair<int, bool>> ParseRotation(std::string_view text);
// "default.jpg" -> (kDefault, kJpg).
Result<std::pair<Quality, Format>> ParseQualityFormat(std::string_view text);
Result<Request> ParseRequest(std::string_view region, std::string_view size,
                             std::string_view rotation, std::string_view quality_format);

// InvalidArgument when the region lies outside the image (x or y past the
// edge), is empty, or the size is zero, exceeds the region without ^, or
// exceeds the limits (the spec's 400 cases).
Result<Resolved> Resolve(const Request& request, uint32_t width, uint32_t height,
                         const Limits& limits = {});

// The canonical "{region}/{size}/{rotation}/{quality}.{format}" of a resolved
// request on an image of width x height (Image API 3.0 section 4.7):
// region "full" or "x,y,w,h"; size "max", "w,h" or "^w,h"; rotation with "!"
// when mirrored; quality and format as requested.
std::string CanonicalPath(const Resolved& resolved, uint32_t width, uint32_t height);

const char* QualityName(Quality quality);
const char* FormatExtension(Format format);
const char* FormatMediaType(Format format);

}  // namespace dcmfs::iiif
