// Deflated Image Frame Compression (1.2.840.10008.1.2.8.1, PS3.5 8.2.16 and
// A.4.13, Sup 244): each frame is its native little-endian bytes compressed
// with raw Deflate (RFC 1951, no zlib header), one fragment per frame.
// DCMTK 3.6.7 predates it; zlib (which DCMTK already links) inflates it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"

namespace dcmfs::codecs_internal {

inline constexpr char kDeflatedImageFrameUid[] = "1.2.840.10008.1.2.8.1";

// Inflates `frame`; DataLoss unless it yields at least `expected` bytes
// (extra bytes, e.g. a pad, are dropped). Never inflates beyond `expected`
// plus a little, so a deflate bomb cannot exhaust memory.
Result<std::vector<uint8_t>> InflateFrame(std::span<const uint8_t> frame, uint64_t expected);

}  // namespace dcmfs::codecs_internal
