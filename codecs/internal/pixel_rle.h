// RLE Lossless (PS3.5 Annex G), decoded here rather than by DCMTK: DCMTK's
// frame decoder refuses BitsAllocated 1 ("only multiples of 8"; pydicom-data's
// liver_rle.dcm is 1-bit, one segment per frame of bit-packed bytes, as GDCM
// writes it) and measured 1.5-3x slower per 512x512 frame than this loop
// (tests/codecs/pixel_robustness_test.cc prints both). The format is small:
// a 64-byte header of segment offsets, then PackBits segments, one per byte
// of each sample, most significant byte first (G.2).
#pragma once

#include <span>

#include "base/status.h"
#include "codecs/internal/pixel_layout.h"

namespace dcmfs::codecs_internal {

// One RLE frame to samples interleaved by pixel in host order (containers of
// BitsAllocated/8 bytes); BitsAllocated 1 to one byte (0/1) per pixel.
Result<RawFrame> DecodeRle(const PixelAttributes& a, std::span<const uint8_t> frame);

}  // namespace dcmfs::codecs_internal
