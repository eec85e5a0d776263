// Encoding and decoding of 8-bit raster images as PNG (libpng), JPEG
// (libjpeg-turbo's TurboJPEG API) and WebP (libwebp), for previews, MPR
// slices and IIIF tiles. Plain bytes in and out: no library types leak.
//
// Pixel layout everywhere: rows top to bottom, `channels` interleaved 8-bit
// samples per pixel (1 = gray, 3 = RGB), `stride` bytes from one row to the
// next (0 means width * channels).
//
// Thread-safe: every call uses its own codec state.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace dcmfs {

struct RasterView {
  const uint8_t* pixels = nullptr;
  uint32_t width = 0;
  uint32_t height = 0;
  uint16_t channels = 1;  // 1 or 3
  size_t stride = 0;      // bytes per row; 0 = width * channels
};

// An owned 8-bit raster with tightly packed rows (stride = width * channels).
struct Raster {
  uint32_t width = 0;
  uint32_t height = 0;
  uint16_t channels = 1;
  std::vector<uint8_t> pixels;

  RasterView view() const { return {pixels.data(), width, height, channels, 0}; }
};

// InvalidArgument for an empty image, channels other than 1 or 3, or a
// stride shorter than a row; Internal if the library fails.
Result<std::string> EncodePng(const RasterView& image);
// `quality` 1..100 (libjpeg's scale). Gray stays 1-channel JPEG; RGB is
// written as YCbCr 4:2:0 (what browsers and IIIF viewers expect).
Result<std::string> EncodeJpeg(const RasterView& image, int quality = 90);
// Lossy WebP at `quality` 0..100 (gray is expanded to RGB: WebP has no gray).
Result<std::string> EncodeWebp(const RasterView& image, int quality = 90);

// Decoders (tests, and checks of stored JPEG tiles before pass-through).
// Gray stays 1 channel; anything else comes out RGB. DataLoss when the bytes
// are not a decodable image of that format.
Result<Raster> DecodeJpeg(std::span<const uint8_t> bytes);
Result<Raster> DecodePng(std::span<const uint8_t> bytes);
Result<Raster> DecodeWebp(std::span<const uint8_t> bytes);

// Width, height and channel count from a JPEG header, without decoding.
struct JpegHeader {
  uint32_t width = 0;
  uint32_t height = 0;
  uint16_t channels = 0;  // 1 or 3
};
Result<JpegHeader> ReadJpegHeader(std::span<const uint8_t> bytes);

}  // namespace dcmfs
