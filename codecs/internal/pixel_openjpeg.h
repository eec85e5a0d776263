// JPEG 2000 (PS3.5 A.4.4: .4.90 lossless, .4.91 lossy, .4.92/.4.93 Part 2)
// and High-Throughput JPEG 2000 (A.4.11: .4.201/.4.202/.4.203) frames,
// decoded by OpenJPEG (2.5 decodes HTJ2K) from memory.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/status.h"
#include "codecs/internal/pixel_layout.h"

namespace dcmfs::codecs_internal {

bool IsOpenJpegSyntax(const std::string& ts_uid);

// The rows of a frame to decode: [first_row, first_row + rows).
struct OpenJpegArea {
  uint32_t first_row = 0;
  uint32_t rows = 0;
};

// Decodes rows `area` of one frame of `a` (a J2K codestream or a JP2 file,
// fragments joined) into samples interleaved by pixel, host order, in
// containers of the size BitsAllocated calls for: area.rows x a.columns
// pixels. OpenJPEG undoes the multi-component transform itself, so
// YBR_ICT/YBR_RCT come out as RGB (PS3.5 8.2.4). Fewer rows than the frame
// decode only the code blocks (and wavelet rows) those rows depend on.
// `threads` > 1 lets OpenJPEG decode code blocks in parallel.
// InvalidArgument for an area outside the frame; DataLoss for a codestream
// that does not decode or does not match `a`.
Result<RawFrame> DecodeWithOpenJpeg(const PixelAttributes& a, std::span<const uint8_t> frame,
                                    int threads, OpenJpegArea area);

}  // namespace dcmfs::codecs_internal
