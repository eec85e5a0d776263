// Parsing and canonicalisation of IIIF Image API 3.0 requests (see the header).
// Hand-written rather than regex-based: the grammar is tiny and strict
// (section 4.7: numbers are decimal digits and "." only), and every byte of a
// path a web client sends reaches this code, so it must reject rather than
// guess.
#include "fs/iiif/iiif_request.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace dcmfs::iiif {
namespace {

Status Bad(std::string_view what, std::string_view text) {
  return Status::InvalidArgument("iiif " + std::string(what) + " '" + std::string(text) + "'");
}

// A non-negative integer of at most 9 digits (no sign, no decimal point).
std::optional<uint32_t> ParseUint(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  return v;
}

// A non-negative decimal: digits with at most one '.', at least one digit.
std::optional<double> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 32) return std::nullopt;
  int dots = 0, digits = 0;
  for (char c : s) {
    if (c == '.') {
      ++dots;
    } else if (c >= '0' && c <= '9') {
      ++digits;
    } else {
      return std::nullopt;
    }
  }
  if (dots > 1 || digits == 0) return std::nullopt;
  return std::strtod(std::string(s).c_str(), nullptr);
}

std::vector<std::string_view> SplitCommas(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    parts.push_back(s.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) return parts;
    start = comma + 1;
  }
}

uint32_t RoundPositive(double v) {
  return static_cast<uint32_t>(std::max(1.0, std::floor(v + 0.5)));
}

// Scales (w, h) down, keeping the aspect ratio, until the limits hold.
void ApplyLimits(const Limits& limits, uint32_t& w, uint32_t& h) {
  double scale = 1.0;
  if (limits.max_width && w > limits.max_width) scale = std::min(scale, double(limits.max_width) / w);
  if (limits.max_height && h > limits.max_height) scale = std::min(scale, double(limits.max_height) / h);
  if (limits.max_area && double(w) * h > double(limits.max_area)) {
    scale = std::min(scale, std::sqrt(double(limits.max_area) / (double(w) * h)));
  }
  if (scale < 1.0) {
    w = static_cast<uint32_t>(std::max(1.0, std::floor(w * scale)));
    h = static_cast<uint32_t>(std::max(1.0, std::floor(h * scale)));
  }
}

bool WithinLimits(const Limits& limits, uint32_t w, uint32_t h) {
  if (limits.max_width && w > limits.max_width) return false;
  if (limits.max_height && h > limits.max_height) return false;
  if (limits.max_area && uint64_t{w} * h > limits.max_area) return false;
  return true;
}

Status ResolveRegion(const Region& r, uint32_t width, uint32_t height, Resolved& out) {
  switch (r.kind) {
    case RegionKind::kFull:
      out.x = out.y = 0;
      out.w = width;
      out.h = height;
      return Status::Ok();
    case RegionKind::kSquare: {  // centred in the longer dimension (section 4.1)
      const uint32_t side = std::min(width, height);
      out.x = (width - side) / 2;
      out.y = (height - side) / 2;
      out.w = out.h = side;
      return Status::Ok();
    }
    case RegionKind::kPixels:
      if (r.x >= width || r.y >= height) return Status::InvalidArgument("iiif region outside the image");
      out.x = static_cast<uint32_t>(r.x);
      out.y = static_cast<uint32_t>(r.y);
      // A region extending past the edge is cropped to it (section 4.1).
      out.w = static_cast<uint32_t>(std::min<double>(r.w, width - out.x));
      out.h = static_cast<uint32_t>(std::min<double>(r.h, height - out.y));
      return Status::Ok();
    case RegionKind::kPercent: {
      const double x0 = std::floor(r.x / 100.0 * width + 0.5);
      const double y0 = std::floor(r.y / 100.0 * height + 0.5);
      if (x0 >= width || y0 >= height) return Status::InvalidArgument("iiif region outside the image");
      const double x1 = std::min<double>(width, std::floor((r.x + r.w) / 100.0 * width + 0.5));
      const double y1 = std::min<double>(height, std::floor((r.y + r.h) / 100.0 * height + 0.5));
      out.x = static_cast<uint32_t>(x0);
      out.y = static_cast<uint32_t>(y0);
      out.w = static_cast<uint32_t>(std::max(1.0, x1 - x0));  // a sliver is one pixel
      out.h = static_cast<uint32_t>(std::max(1.0, y1 - y0));
      return Status::Ok();
    }
  }
  return Status::Internal("iiif region kind");
}

}  // namespace

Result<Region> ParseRegion(std::string_view text) {
  Region region;
  if (text == "full") return region;
  if (text == "square") {
    region.kind = RegionKind::kSquare;
    return region;
  }
  const bool percent = text.starts_with("pct:");
  const std::vector<std::string_view> parts = SplitCommas(percent ? text.substr(4) : text);
  if (parts.size() != 4) return Bad("region", text);
  double v[4];
  for (int i = 0; i < 4; ++i) {
    std::optional<double> d;
    if (percent) {
      d = ParseDecimal(parts[i]);
    } else if (auto u = ParseUint(parts[i])) {
      d = *u;
    }
    if (!d) return Bad("region", text);
    v[i] = *d;
  }
  if (v[2] <= 0 || v[3] <= 0) return Bad("region (zero width or height)", text);
  if (percent && (v[0] >= 100 || v[1] >= 100)) return Bad("region", text);
  region.kind = percent ? RegionKind::kPercent : RegionKind::kPixels;
  region.x = v[0];
  region.y = v[1];
  region.w = v[2];
  region.h = v[3];
  return region;
}

Result<Size> ParseSize(std::string_view text) {
  Size size;
  std::string_view rest = text;
  if (rest.starts_with("^")) {
    size.upscale = true;
    rest.remove_prefix(1);
  }
  if (rest == "max") return size;
  if (rest.starts_with("pct:")) {
    auto n = ParseDecimal(rest.substr(4));
    if (!n || *n <= 0 || (!size.upscale && *n > 100)) return Bad("size", text);
    size.kind = SizeKind::kPercent;
    size.w = *n;
    return size;
  }
  bool best_fit = false;
  if (rest.starts_with("!")) {
    best_fit = true;
    rest.remove_prefix(1);
  }
  const std::vector<std::string_view> parts = SplitCommas(rest);
  if (parts.size() != 2) return Bad("size", text);
  // 0 stands for "not given": a given 0 is rejected (no image is 0 pixels wide).
  uint32_t w = 0, h = 0;
  for (int i = 0; i < 2; ++i) {
    if (parts[i].empty()) continue;
    const std::optional<uint32_t> v = ParseUint(parts[i]);
    if (!v || *v == 0) return Bad("size", text);
    (i == 0 ? w : h) = *v;
  }
  if (w && h) {
    size.kind = best_fit ? SizeKind::kBestFit : SizeKind::kExact;
  } else if (best_fit) {
    return Bad("size", text);  // !w, and !,h are not IIIF
  } else if (w) {
    size.kind = SizeKind::kWidth;
  } else if (h) {
    size.kind = SizeKind::kHeight;
  } else {
    return Bad("size", text);
  }
  size.w = w;
  size.h = h;
  return size;
}

Result<std::pair<int, bool>> ParseRotation(std::string_view text) {
  std::string_view rest = text;
  const bool mirror = rest.starts_with("!");
  if (mirror) rest.remove_prefix(1);
  auto degrees = ParseDecimal(rest);
  if (!degrees || *degrees > 360) return Bad("rotation", text);
  const double d = *degrees == 360 ? 0 : *degrees;
  if (std::fmod(d, 90.0) != 0) return Bad("rotation (only multiples of 90)", text);
  return std::pair<int, bool>{static_cast<int>(d), mirror};
}

Result<std::pair<Quality, Format>> ParseQualityFormat(std::string_view text) {
  const size_t dot = text.rfind('.');
  if (dot == std::string_view::npos) return Bad("quality.format", text);
  const std::string_view q = text.substr(0, dot), f = text.substr(dot + 1);
  Quality quality;
  if (q == "default") {
    quality = Quality::kDefault;
  } else if (q == "color") {
    quality = Quality::kColor;
  } else if (q == "gray") {
    quality = Quality::kGray;
  } else if (q == "bitonal") {
    quality = Quality::kBitonal;
  } else {
    return Bad("quality", text);
  }
  Format format;
  if (f == "jpg") {
    format = Format::kJpg;
  } else if (f == "png") {
    format = Format::kPng;
  } else if (f == "webp") {
    format = Format::kWebp;
  } else {
    return Bad("format", text);
  }
  return std::pair<Quality, Format>{quality, format};
}

Result<Request> ParseRequest(std::string_view region, std::string_view size,
                             std::string_view rotation, std::string_view quality_format) {
  Request request;
  ASSIGN_OR_RETURN(request.region, ParseRegion(region));
  ASSIGN_OR_RETURN(request.size, ParseSize(size));
  ASSIGN_OR_RETURN(auto rot, ParseRotation(rotation));
  request.rotation = rot.first;
  request.mirror = rot.second;
  ASSIGN_OR_RETURN(auto qf, ParseQualityFormat(quality_format));
  request.quality = qf.first;
  request.format = qf.second;
  return request;
}

Result<Resolved> Resolve(const Request& request, uint32_t width, uint32_t height,
                         const Limits& limits) {
  if (width == 0 || height == 0) return Status::InvalidArgument("iiif: empty image");
  Resolved out;
  RETURN_IF_ERROR(ResolveRegion(request.region, width, height, out));
  const double rw = out.w, rh = out.h;
  const Size& s = request.size;
  uint32_t w = out.w, h = out.h;
  switch (s.kind) {
    case SizeKind::kMax:
      if (s.upscale && (limits.max_width || limits.max_height || limits.max_area)) {
        // ^max: as large as the limits allow, keeping the aspect ratio.
        double scale = 1e9;
        if (limits.max_width) scale = std::min(scale, limits.max_width / rw);
        if (limits.max_height) scale = std::min(scale, limits.max_height / rh);
        if (limits.max_area) scale = std::min(scale, std::sqrt(limits.max_area / (rw * rh)));
        w = static_cast<uint32_t>(std::max(1.0, std::floor(rw * scale)));
        h = static_cast<uint32_t>(std::max(1.0, std::floor(rh * scale)));
      } else {
        ApplyLimits(limits, w, h);
      }
      out.is_max = true;
      break;
    case SizeKind::kWidth:
      w = static_cast<uint32_t>(s.w);
      h = RoundPositive(rh * s.w / rw);
      break;
    case SizeKind::kHeight:
      h = static_cast<uint32_t>(s.h);
      w = RoundPositive(rw * s.h / rh);
      break;
    case SizeKind::kPercent:
      w = static_cast<uint32_t>(std::floor(rw * s.w / 100.0 + 0.5));
      h = static_cast<uint32_t>(std::floor(rh * s.w / 100.0 + 0.5));
      if (w == 0 || h == 0) return Status::InvalidArgument("iiif size below one pixel");
      break;
    case SizeKind::kExact:
      w = static_cast<uint32_t>(s.w);
      h = static_cast<uint32_t>(s.h);
      break;
    case SizeKind::kBestFit: {
      const double scale = std::min(s.w / rw, s.h / rh);
      // The exact box edge for the limiting side; the other side rounded.
      w = s.w / rw <= s.h / rh ? static_cast<uint32_t>(s.w) : RoundPositive(rw * scale);
      h = s.w / rw <= s.h / rh ? RoundPositive(rh * scale) : static_cast<uint32_t>(s.h);
      // Without ^ the result may not exceed the region: the IIIF validator
      // (size_noup) treats a box needing upscaling as a 400, as "w,h" is.
      break;
    }
  }
  if (!s.upscale && (w > out.w || h > out.h)) {
    return Status::InvalidArgument("iiif size larger than the region needs ^");
  }
  if (!WithinLimits(limits, w, h)) return Status::InvalidArgument("iiif size beyond the limits");
  if (!out.is_max && w == out.w && h == out.h) {
    // The region's own size: canonical "max" unless limits would shrink max.
    uint32_t mw = out.w, mh = out.h;
    ApplyLimits(limits, mw, mh);
    out.is_max = mw == w && mh == h;
  }
  out.out_w = w;
  out.out_h = h;
  out.rotation = request.rotation;
  out.mirror = request.mirror;
  out.quality = request.quality;
  out.format = request.format;
  return out;
}

std::string CanonicalPath(const Resolved& r, uint32_t width, uint32_t height) {
  std::string path;
  if (r.x == 0 && r.y == 0 && r.w == width && r.h == height) {
    path = "full";
  } else {
    path = std::to_string(r.x) + "," + std::to_string(r.y) + "," + std::to_string(r.w) + "," +
           std::to_string(r.h);
  }
  const bool upscaled = r.out_w > r.w || r.out_h > r.h;
  path += "/";
  if (r.is_max && !upscaled) {
    path += "max";
  } else {
    path += (upscaled ? "^" : "") + std::to_string(r.out_w) + "," + std::to_string(r.out_h);
  }
  path += "/";
  path += (r.mirror ? "!" : "") + std::to_string(r.rotation);
  path += "/";
  path += QualityName(r.quality);
  path += ".";
  path += FormatExtension(r.format);
  return path;
}

const char* QualityName(Quality quality) {
  switch (quality) {
    case Quality::kDefault: return "default";
    case Quality::kColor: return "color";
    case Quality::kGray: return "gray";
    case Quality::kBitonal: return "bitonal";
  }
  return "default";
}

const char* FormatExtension(Format format) {
  switch (format) {
    case Format::kJpg: return "jpg";
    case Format::kPng: return "png";
    case Format::kWebp: return "webp";
  }
  return "jpg";
}

const char* FormatMediaType(Format format) {
  switch (format) {
    case Format::kJpg: return "image/jpeg";
    case Format::kPng: return "image/png";
    case Format::kWebp: return "image/webp";
  }
  return "image/jpeg";
}

}  // namespace dcmfs::iiif
