// Normalises a RawFrame into the DecodedFrame layout of codecs/pixel_decode.h:
// monochrome stored values masked to BitsStored and sign-extended from
// HighBit; colour as 8-bit interleaved RGB (planar data interleaved, YBR_FULL
// converted, PALETTE COLOR looked up, deeper samples scaled down).
#pragma once

#include "base/status.h"
#include "codecs/internal/pixel_layout.h"
#include "codecs/pixel_decode.h"

namespace dcmfs::codecs_internal {

// The format every frame of `a` decodes to; Unsupported for photometric
// interpretations and layouts we do not convert (names the reason).
Result<PixelFormat> OutputFormat(const PixelAttributes& a);

// Converts `raw` (consumed) into `format` (from OutputFormat(a)).
Result<DecodedFrame> Normalize(RawFrame raw, const PixelAttributes& a, const PixelFormat& format);

}  // namespace dcmfs::codecs_internal
