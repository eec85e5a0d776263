// Resampling is written here rather than taken from a library: the codec
// libraries we link (libjpeg-turbo, libpng, libwebp) do not scale arbitrary
// ratios, and a separable box/triangle resampler is a few dozen lines.
#include "fs/iiif/iiif_render.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace dcmfs::iiif {
namespace {

// Contributions of source samples to one output sample.
struct Taps {
  uint32_t first = 0;
  std::vector<float> weights;  // normalised to sum 1
};

// Weights for mapping `in` samples onto `out` samples along one axis.
std::vector<Taps> MakeTaps(uint32_t in, uint32_t out) {
  std::vector<Taps> taps(out);
  const double scale = double(in) / out;
  for (uint32_t o = 0; o < out; ++o) {
    Taps& t = taps[o];
    if (scale >= 1.0) {  // shrink: average the covered interval [o*scale, (o+1)*scale)
      const double lo = o * scale, hi = std::min<double>(in, (o + 1) * scale);
      const auto first = static_cast<uint32_t>(std::floor(lo));
      const auto last = std::min<uint32_t>(in - 1, static_cast<uint32_t>(std::ceil(hi) - 1));
      t.first = first;
      for (uint32_t i = first; i <= last; ++i) {
        const double cover = std::min<double>(i + 1, hi) - std::max<double>(i, lo);
        t.weights.push_back(static_cast<float>(std::max(0.0, cover)));
      }
    } else {  // enlarge: linear interpolation between the two nearest centres
      const double centre = (o + 0.5) * scale - 0.5;
      const double c = std::clamp(centre, 0.0, double(in - 1));
      const auto i0 = static_cast<uint32_t>(std::floor(c));
      const uint32_t i1 = std::min(in - 1, i0 + 1);
      const double f = c - i0;
      t.first = i0;
      t.weights = {static_cast<float>(1 - f)};
      if (i1 != i0) t.weights.push_back(static_cast<float>(f));
    }
    float sum = 0;
    for (float w : t.weights) sum += w;
    for (float& w : t.weights) w /= sum > 0 ? sum : 1;
  }
  return taps;
}

uint8_t Clamp8(float v) { return static_cast<uint8_t>(std::clamp(v + 0.5f, 0.0f, 255.0f)); }

size_t StrideOf(const RasterView& v) { return v.stride ? v.stride : size_t{v.width} * v.channels; }

}  // namespace

Raster Resize(const RasterView& src, uint32_t width, uint32_t height) {
  const uint16_t ch = src.channels;
  const size_t stride = StrideOf(src);
  if (width == src.width && height == src.height) return Crop(src, 0, 0, width, height);
  // Horizontal pass into floats (src.height x width), then vertical.
  const std::vector<Taps> hx = MakeTaps(src.width, width);
  const std::vector<Taps> vy = MakeTaps(src.height, height);
  std::vector<float> mid(size_t{src.height} * width * ch);
  for (uint32_t y = 0; y < src.height; ++y) {
    const uint8_t* row = src.pixels + y * stride;
    float* out = mid.data() + size_t{y} * width * ch;
    for (uint32_t x = 0; x < width; ++x) {
      const Taps& t = hx[x];
      for (uint16_t c = 0; c < ch; ++c) {
        float acc = 0;
        for (size_t k = 0; k < t.weights.size(); ++k) acc += t.weights[k] * row[(t.first + k) * ch + c];
        out[size_t{x} * ch + c] = acc;
      }
    }
  }
  Raster dst{width, height, ch, std::vector<uint8_t>(size_t{width} * height * ch)};
  const size_t row_len = size_t{width} * ch;
  std::vector<float> acc(row_len);
  for (uint32_t y = 0; y < height; ++y) {
    const Taps& t = vy[y];
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (size_t k = 0; k < t.weights.size(); ++k) {
      const float* in = mid.data() + (t.first + k) * row_len;
      const float w = t.weights[k];
      for (size_t i = 0; i < row_len; ++i) acc[i] += w * in[i];
    }
    uint8_t* out = dst.pixels.data() + y * row_len;
    for (size_t i = 0; i < row_len; ++i) out[i] = Clamp8(acc[i]);
  }
  return dst;
}

Raster Crop(const RasterView& src, uint32_t x, uint32_t y, uint32_t w, uint32_t h) {
  Raster dst{w, h, src.channels, std::vector<uint8_t>(size_t{w} * h * src.channels)};
  const size_t stride = StrideOf(src), row = size_t{w} * src.channels;
  for (uint32_t r = 0; r < h; ++r) {
    std::memcpy(dst.pixels.data() + r * row, src.pixels + (y + r) * stride + size_t{x} * src.channels,
                row);
  }
  return dst;
}

Raster MirrorRotate(const Raster& src, bool mirror, int rotation) {
  if (!mirror && rotation == 0) return src;
  const uint32_t w = src.width, h = src.height;
  const uint16_t ch = src.channels;
  const bool swap = rotation == 90 || rotation == 270;
  Raster dst{swap ? h : w, swap ? w : h, ch, std::vector<uint8_t>(src.pixels.size())};
  for (uint32_t y = 0; y < h; ++y) {
    for (uint32_t x0 = 0; x0 < w; ++x0) {
      const uint32_t x = mirror ? w - 1 - x0 : x0;  // mirrored source column
      uint32_t dx, dy;
      switch (rotation) {
        case 90: dx = h - 1 - y; dy = x0; break;   // clockwise
        case 180: dx = w - 1 - x0; dy = h - 1 - y; break;
        case 270: dx = y; dy = w - 1 - x0; break;
        default: dx = x0; dy = y; break;
      }
      std::memcpy(dst.pixels.data() + (size_t{dy} * dst.width + dx) * ch,
                  src.pixels.data() + (size_t{y} * w + x) * ch, ch);
    }
  }
  return dst;
}

Raster ApplyQuality(Raster src, Quality quality) {
  if (quality == Quality::kDefault || quality == Quality::kColor) return src;
  if (src.channels == 3) {
    Raster gray{src.width, src.height, 1, std::vector<uint8_t>(size_t{src.width} * src.height)};
    for (size_t i = 0; i < gray.pixels.size(); ++i) {
      const uint8_t* p = src.pixels.data() + i * 3;
      gray.pixels[i] = Clamp8(0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]);
    }
    src = std::move(gray);
  }
  if (quality == Quality::kBitonal) {
    for (uint8_t& v : src.pixels) v = v >= 128 ? 255 : 0;
  }
  return src;
}

Result<std::string> EncodeAs(const Raster& image, Format format) {
  switch (format) {
    case Format::kJpg: return EncodeJpeg(image.view(), 90);
    case Format::kPng: return EncodePng(image.view());
    case Format::kWebp: return EncodeWebp(image.view(), 90);
  }
  return Status::Internal("iiif: format");
}

Result<std::string> RenderRegion(const RasterView& region, const Resolved& r) {
  if (region.width == 0 || region.height == 0) return Status::InvalidArgument("iiif: empty region");
  Raster out = Resize(region, r.out_w, r.out_h);
  out = MirrorRotate(out, r.mirror, r.rotation);
  out = ApplyQuality(std::move(out), r.quality);
  return EncodeAs(out, r.format);
}

}  // namespace dcmfs::iiif
