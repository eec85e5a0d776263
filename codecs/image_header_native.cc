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
// sign-extend signed values from the top stored bit. Branch-free so the loop
// vectorizes: this runs over every voxel of a volume read.
template <typename Stored>
Stored UnpackOne(Stored v, int shift, int up, int down, Stored mask, bool sign) {
  using Signed = std::make_signed_t<Stored>;
  if (sign) {
    // Move the top stored bit to the sign bit, then shift back arithmetically.
    return static_cast<Stored>(static_cast<Signed>(static_cast<Signed>(static_cast<Stored>(v << up)) >> down));
  }
  return static_cast<Stored>((v >> shift) & mask);
}

// Unpacks n values stored at data + at into data + 0 (at == 0: in place),
// so a frame read together with the bytes before it needs no second buffer.
// Blockwise through a small local copy: the source lies at or after the
// destination, so each block is read before anything overwrites it.
template <typename Stored>
void UnpackInPlace(uint8_t* data, size_t at, size_t n, const ImageHeader& h, bool sign) {
  constexpr int kWidth = sizeof(Stored) * 8;
  const int shift = std::max(0, h.high_bit + 1 - h.bits_stored);
  const int bits = h.bits_stored;
  if (shift == 0 && bits == kWidth) {  // every bit is the value
    if (at != 0) std::memmove(data, data + at, n * sizeof(Stored));
    return;
  }
  const int up = kWidth - 1 - h.high_bit;
  const int down = kWidth - bits;
  const Stored mask = static_cast<Stored>(~Stored{0} >> (kWidth - bits));
  constexpr size_t kBlock = 256;
  Stored block[kBlock];
  for (size_t i0 = 0; i0 < n; i0 += kBlock) {
    const size_t m = std::min(kBlock, n - i0);
    std::memcpy(block, data + at + i0 * sizeof(Stored), m * sizeof(Stored));
    if (sign) {
      for (size_t j = 0; j < m; ++j) block[j] = UnpackOne<Stored>(block[j], shift, up, down, mask, true);
    } else {
      for (size_t j = 0; j < m; ++j) block[j] = UnpackOne<Stored>(block[j], shift, up, down, mask, false);
    }
    std::memcpy(data + i0 * sizeof(Stored), block, m * sizeof(Stored));
  }
}

}  // namespace

Result<DecodedFrame> DecodeNativeFrame(const ImageHeader& h, std::vector<uint8_t>&& raw) {
  return DecodeNativeFrameAt(h, std::move(raw), 0);
}

Result<DecodedFrame> DecodeNativeFrameAt(const ImageHeader& h, std::vector<uint8_t>&& raw,
                                         uint64_t at) {
  if (h.samples_per_pixel != 1) return Status::Unsupported("native fast path: colour image");
  if (at > raw.size() || raw.size() - at < NativeFrameBytes(h)) {
    return Status::DataLoss("native frame: truncated");
  }
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
      UnpackInPlace<uint8_t>(raw.data(), at, n, h, sign);
      break;
    case 16:
      f.format.type = sign ? SampleType::kInt16 : SampleType::kUint16;
      UnpackInPlace<uint16_t>(raw.data(), at, n, h, sign);
      break;
    case 32:
      f.format.type = sign ? SampleType::kInt32 : SampleType::kUint32;
      UnpackInPlace<uint32_t>(raw.data(), at, n, h, sign);
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
