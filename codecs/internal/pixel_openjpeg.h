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

// Decodes one frame (a J2K codestream or a JP2 file, fragments joined) into
// samples interleaved by pixel, host order, in containers of the size
// BitsAllocated calls for. OpenJPEG undoes the multi-component transform
// itself, so YBR_ICT/YBR_RCT come out as RGB (PS3.5 8.2.4). `threads` > 1
// lets OpenJPEG decode code blocks in parallel.
Result<RawFrame> DecodeWithOpenJpeg(const PixelAttributes& a, std::span<const uint8_t> frame,
                                    int threads);

}  // namespace dcmfs::codecs_internal
