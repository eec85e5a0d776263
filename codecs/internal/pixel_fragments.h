// Which fragments of an encapsulated Pixel Data element hold which frame
// (PS3.5 A.4). Pure bookkeeping over fragment lengths and first bytes, so it
// is testable without DCMTK and is shared by decoding and pass-through.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"

namespace dcmfs::codecs_internal {

// One fragment (an Item of the pixel sequence after the Basic Offset Table).
struct FragmentInfo {
  uint64_t length = 0;    // value length of the Item
  uint8_t head[12] = {};  // its first bytes (fewer if shorter), to spot frame starts
};

// The fragments [first, first + count) that make up one frame.
struct FrameSpan {
  uint32_t first = 0;
  uint32_t count = 0;
};

// Maps `frames` frames onto `fragments`, in this order of preference:
//   1. the Extended Offset Table (7FE0,0001), PS3.3 C.7.6.3.1.8, when given;
//   2. the Basic Offset Table (first Item), PS3.5 A.4, when not empty;
//      both hold byte offsets of each frame's first fragment Item, counted
//      from the first fragment's Item tag (each Item adds 8 header bytes);
//   3. one frame: every fragment; as many fragments as frames: one each;
//   4. otherwise (empty table, several fragments per frame), a new frame
//      begins at each fragment that starts with a JPEG SOI (FFD8, also
//      JPEG-LS), a JPEG 2000 SOC (FF4F) or a JP2 signature box, which is
//      what DCMTK and pydicom do.
// DataLoss when the table points between fragments or the frames cannot be
// told apart.
Result<std::vector<FrameSpan>> MapFramesToFragments(std::span<const FragmentInfo> fragments,
                                                    std::span<const uint64_t> offset_table,
                                                    uint32_t frames);

// True if `head` starts a JPEG, JPEG-LS or JPEG 2000 bitstream.
bool StartsCodestream(std::span<const uint8_t> head);

}  // namespace dcmfs::codecs_internal
