// RLE Lossless (PS3.5 Annex G) for BitsAllocated 1, which DCMTK's RLE
// decoder refuses ("only multiples of 8"): each frame is one segment of
// PackBits-coded bytes holding the frame's bit-packed pixels (as GDCM and
// pydicom-data's liver_rle.dcm write it). Other depths go to DCMTK.
#pragma once

#include <span>

#include "base/status.h"
#include "codecs/internal/pixel_layout.h"

namespace dcmfs::codecs_internal {

// One frame of 1-bit RLE to one byte (0/1) per pixel.
Result<RawFrame> DecodeBitPackedRle(const PixelAttributes& a, std::span<const uint8_t> frame);

}  // namespace dcmfs::codecs_internal
