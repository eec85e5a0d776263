// The stored pixel layout of an instance (PS3.3 C.7.6.3 Image Pixel Module)
// and the intermediate "raw frame" every codec path produces before colour
// and bit-depth normalisation (pixel_color.h) turns it into a DecodedFrame.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dcmfs::codecs_internal {

// A Palette Color Lookup Table (PS3.3 C.7.6.3.1.5-6), one per channel.
struct PaletteLut {
  uint32_t entries = 0;      // descriptor value 1 (0 means 65536)
  int32_t first_mapped = 0;  // descriptor value 2 (signed if PixelRepresentation 1)
  uint16_t bits = 0;         // descriptor value 3: 8 or 16
  std::vector<uint16_t> data;
};

struct PixelAttributes {
  uint32_t rows = 0;
  uint32_t columns = 0;
  uint16_t samples = 1;
  uint16_t bits_allocated = 0;
  uint16_t bits_stored = 0;
  uint16_t high_bit = 0;
  bool is_signed = false;
  uint16_t planar = 0;
  std::string photometric;  // as stored, trimmed
  uint32_t frames = 1;
  // Float Pixel Data (7FE0,0008) is 32-bit, Double Float (7FE0,0009) 64-bit.
  bool is_float = false;
  PaletteLut palette[3];  // red, green, blue when photometric is PALETTE COLOR

  uint64_t pixels() const { return uint64_t{rows} * columns; }
  // Bytes of one native (uncompressed) frame; 0 for BitsAllocated 1,
  // whose frames are bit-packed and may straddle bytes (PS3.5 8.1.1).
  uint64_t native_frame_bytes() const;
};

// One decoded frame before normalisation: samples in host byte order, in
// containers of `bytes_per_sample` bytes (1, 2 or 4; 4 is float when
// attributes say so), interleaved unless `planar`.
struct RawFrame {
  std::vector<uint8_t> data;
  uint8_t bytes_per_sample = 1;
  bool planar = false;
  std::string photometric;  // what the samples are now (a codec may convert)
};

}  // namespace dcmfs::codecs_internal
