// DecodeNativeFrame: native (uncompressed little-endian) monochrome frames
// read straight from the blob, without parsing the file again. Written here
// rather than through PixelDecoder because a volume read touches every
// frame: reading only the frame's bytes from the blob (not the whole file)
// and masking them is the fast path that makes series.nii stream.
#include <cstring>

#include "codecs/image_header.h"

namespace dcmfs {
namespace {

// PS3.5 8.1.1: only BitsStored bits at HighBit are the value; the bits above
// may hold garbage (overlays of old 12-bit scanners). Clear them, and
// sign-extend signed values from the top stored bit.
template <typename Stored, typename Out>
void Unpack(const uint8_t* in, size_t n, const ImageHeader& h, Out* out) {
  const int shift = h.high_bit + 1 - h.bits_stored;
  const int bits = h.bits_stored;
  const uint64_t mask = bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  const bool full = shift == 0 && size_t(bits) == sizeof(Stored) * 8;
  for (size_t i = 0; i < n; ++i) {
    Stored raw;
    std::memcpy(&raw, in + i * sizeof(Stored), sizeof(Stored));
    if (full) {
      out[i] = static_cast<Out>(raw);
      continue;
    }
    uint64_t v = (static_cast<uint64_t>(raw) >> shift) & mask;
    if (h.pixel_representation == 1 && (v >> (bits - 1)) & 1) v |= ~mask;
    out[i] = static_cast<Out>(static_cast<int64_t>(v));
  }
}

}  // namespace

Result<DecodedFrame> DecodeNativeFrame(const ImageHeader& h, std::span<const uint8_t> raw) {
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
      f.data.resize(n);
      if (sign) Unpack<uint8_t>(raw.data(), n, h, reinterpret_cast<int8_t*>(f.data.data()));
      else Unpack<uint8_t>(raw.data(), n, h, f.data.data());
      break;
    case 16:
      f.format.type = sign ? SampleType::kInt16 : SampleType::kUint16;
      f.data.resize(n * 2);
      if (sign) Unpack<uint16_t>(raw.data(), n, h, reinterpret_cast<int16_t*>(f.data.data()));
      else Unpack<uint16_t>(raw.data(), n, h, reinterpret_cast<uint16_t*>(f.data.data()));
      break;
    case 32:
      f.format.type = sign ? SampleType::kInt32 : SampleType::kUint32;
      f.data.resize(n * 4);
      if (sign) Unpack<uint32_t>(raw.data(), n, h, reinterpret_cast<int32_t*>(f.data.data()));
      else Unpack<uint32_t>(raw.data(), n, h, reinterpret_cast<uint32_t*>(f.data.data()));
      break;
    default:
      return Status::Unsupported("native fast path: BitsAllocated " +
                                 std::to_string(h.bits_allocated));
  }
  return f;
}

}  // namespace dcmfs
