// Frames in JPEG baseline/extended/lossless (PS3.5 A.4.1) and JPEG-LS
// (A.4.3), decoded by DCMTK's dcmjpeg/dcmjpls codecs. (RLE: pixel_rle.h.)
//
// Each call builds a private one-frame pixel sequence holding only this
// frame's bytes and asks DcmCodecList::decodeFrame for frame 0. DCMTK's
// decoders load and cache fragments inside the shared DcmPixelItems they
// read (not safe to share across threads, and memory would grow with every
// frame read); a private sequence per call is thread-safe and drops the
// compressed copy on return. The codecs themselves keep no shared state
// (the codec list is read-locked).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/status.h"
#include "codecs/internal/pixel_layout.h"

namespace dcmfs::codecs_internal {

// True if `ts_uid` is decoded here.
bool IsDcmtkCodecSyntax(const std::string& ts_uid);

// Decodes one frame (its fragments joined) to samples interleaved by pixel,
// host order; photometric as DCMTK delivers it (YBR JPEG becomes RGB).
Result<RawFrame> DecodeWithDcmtk(const PixelAttributes& a, const std::string& ts_uid,
                                 std::span<const uint8_t> frame);

}  // namespace dcmfs::codecs_internal
