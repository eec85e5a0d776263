// DecodeNativeFrame: native (uncompressed little-endian) monochrome frames
// read straight from the blob, without parsing the file again. Written here
// rather than through PixelDecoder because a volume read touches every
// frame: reading only the frame's bytes from the blob (not the whole file)
// and masking them is the fast path that makes series.nii stream.
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "codecs/image_header.h"

namespace dcmfs {
namespace {

// PS3.5 8.1.1: only BitsStored bits at HighBit are the value; the bits above
// may hold garbage (overlays of old 12-bit scanners). Clear them, and
// sign-extend signed values from the top stored bit. In place (the output
// type has the stored type's width), branch-free so the loop vectorizes:
// this runs over every voxel of a volume read.
template <typename Stored>
void UnpackInPlace(uint8_t* data, size_t n, const ImageHeader& h, bool sign) {
  using Signed = std::make_signed_t<Stored>;
  constexpr int kWidth = sizeof(Stored) * 8;
  const int shift = std::max(0, h.high_bit + 1 - h.bits_stored);
  const int bits = h.bits_stored;
  if (shift == 0 && bits == kWidth) return;  // every bit is the value
  Stored* p = reinterpret_cast<Stored*>(data);
  if (sign) {
    // Move the top stored bit to the sign bit, then shift back arithmetically.
    const int up = kWidth - 1 - h.high_bit;
    const int down = kWidth - bits;
    for (size_t i = 0; i < n; ++i) {
      const Signed v = static_cast<Signed>(static_cast<Stored>(p[i] << up));
      p[i] = static_cast<Stored>(static_cast<Signed>(v >> down));
    }
  } else {
    const Stored mask = static_cast<Stored>(~Stored{0} >> (kWidth - bits));
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<Stored>((p[i] >> shift) & mask);
  }
}

}  // namespace

Result<DecodedFrame> DecodeNativeFrame(const ImageHeader& h, std::vector<uint8_t>&& raw) {
  if (h.samples_per_pixel != 1) return Status::Unsupported("native fast path: colour image");
  if (raw.size() < NativeFrameBytes(h)) return Status::DataLoss("native frame: truncated");
  if (h.bits_stored == 0 || h.bits_stored > h.bits_allocated || h.high_bit >= h.bits_allocated) {
    return Status::Unsupported("native fast path: inconsistent BitsStored/HighBit");
  }
  DecodedFrame f;
  f.format.rows = h.rows;
  f.format.columns = h.columns;
  f.format.samples = 1;
  f.format.bits_stored = h.bits_stored;
  f.format.photometric = h.photometric;
  const size_t n = size_t{h.rows} * h.columns;
  const bool sign = h.pixel_representation == 1;
  switch (h.bits_allocated) {
    case 8:
      f.format.type = sign ? SampleType::kInt8 : SampleType::kUint8;
      UnpackInPlace<uint8_t>(raw.data(), n, h, sign);
      break;
    case 16:
      f.format.type = sign ? SampleType::kInt16 : SampleType::kUint16;
      UnpackInPlace<uint16_t>(raw.data(), n, h, sign);
      break;
    case 32:
      f.format.type = sign ? SampleType::kInt32 : SampleType::kUint32;
      UnpackInPlace<uint32_t>(raw.data(), n, h, sign);
      break;
    default:
      return Status::Unsupported("native fast path: BitsAllocated " +
                                 std::to_string(h.bits_allocated));
  }
  raw.resize(f.format.frame_bytes());
  f.data = std::move(raw);
  return f;
}

Result<DecodedFrame> DecodeNativeFrame(const ImageHeader& h, std::span<const uint8_t> raw) {
  if (raw.size() < NativeFrameBytes(h)) return Status::DataLoss("native frame: truncated");
  return DecodeNativeFrame(h, std::vector<uint8_t>(raw.begin(), raw.begin() + NativeFrameBytes(h)));
}

}  // namespace dcmfs
