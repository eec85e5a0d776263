// A compact, versioned binary encoding of ImageHeader (codecs/image_header.h),
// so that the catalog can keep, per instance, what volume planning needs and
// the mount never reads blob prefixes to plan a series (index/catalog.h,
// ForEachImageHeaderInSeries).
//
// Format (version 1), all integers LEB128 varints (signed ones zigzagged):
//   u8 version | fields of ImageHeader in declaration order | frames | sidecar
// Optional fields are announced by a presence bitmask before them. A double
// is a tag byte then: an integer varint (integral values), a float32 (values a
// float holds exactly) or the 8 IEEE bytes, so every value decodes to exactly
// the double that was encoded. Sidecar keys that dcm2niix uses are one byte
// (an index into a fixed list that only ever grows at its end).
// Decoding is the exact inverse: Decode(Encode(h)) == h field by field.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "codecs/image_header.h"

namespace dcmfs {

// The encoding's version byte; Decode refuses others (the caller falls back
// to parsing the blob, so a future format never yields a wrong plan).
inline constexpr uint8_t kImageHeaderRecordVersion = 2;  // 2: PixelPaddingValue

std::string EncodeImageHeader(const ImageHeader& h);

// Corruption (naming the defect) on a truncated or malformed record or an
// unknown version. Thread-safe (pure).
Result<ImageHeader> DecodeImageHeader(std::string_view bytes);

}  // namespace dcmfs
