// The DCMTK side of pixel decoding: parses a file held in memory once,
// leaving Pixel Data (and every large fragment) unread on the caller's
// buffer, and hands out the pixel layout, the transfer syntax and readers of
// the pixel bytes.
//
// Thread-safety: a PixelSource is read-only after Parse. Large values are
// read through DcmElement::getPartialValue, which opens a fresh stream over
// the caller's bytes per call and touches no member of the element; values
// DCMTK already loaded (small ones, or all of a deflated dataset) are copied
// out once at parse time, since reading those through DCMTK again would
// write the element's error flag and byte order.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "codecs/internal/pixel_fragments.h"
#include "codecs/internal/pixel_layout.h"

class DcmElement;
class DcmFileFormat;

namespace dcmfs::codecs_internal {

// One value (native Pixel Data, or one fragment) readable in pieces.
class ValueSource {
 public:
  ValueSource() = default;
  // `element` must outlive this; `big_endian` is the file's byte order.
  static Result<ValueSource> Of(DcmElement* element, bool big_endian);
  uint64_t length() const { return length_; }
  // Copies bytes [offset, offset + n) in file byte order.
  Status Read(uint64_t offset, uint64_t n, uint8_t* dst) const;

 private:
  DcmElement* element_ = nullptr;  // deferred: read through DCMTK on demand
  std::vector<uint8_t> owned_;     // already in memory: copied at parse time
  uint64_t length_ = 0;
  bool big_endian_ = false;
};

struct PixelSource {
  std::shared_ptr<DcmFileFormat> file;  // owns the elements the sources read
  std::string ts_uid;
  bool big_endian = false;
  bool encapsulated = false;
  PixelAttributes attributes;
  ValueSource native;                  // when !encapsulated
  unsigned native_vr_width = 1;        // 1 OB, 2 OW, 4 OF, 8 OD
  std::vector<ValueSource> fragments;  // when encapsulated
  std::vector<FrameSpan> frames;       // fragments of each frame
};

// Human name of a transfer syntax UID ("JPEG 2000 Image Compression",
// "HTJ2K", ...), or "unknown transfer syntax".
std::string TransferSyntaxName(const std::string& uid);

// Parses `bytes` (Part 10 or a raw dataset). DataLoss if not DICOM or
// truncated, InvalidArgument without Pixel Data, Unsupported for transfer
// syntaxes DCMTK cannot even parse.
Result<PixelSource> ParsePixelSource(std::span<const uint8_t> bytes);

}  // namespace dcmfs::codecs_internal
