#include "codecs/internal/pixel_native.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

namespace dcmfs::codecs_internal {
namespace {

bool IsYbr422(const PixelAttributes& a) {
  return a.samples == 3 && a.photometric == "YBR_FULL_422";
}

// Reverses every `unit`-byte group of `data` in place.
void SwapInPlace(uint8_t* data, size_t size, unsigned unit) {
  if (unit == 2) {
    for (size_t i = 0; i + 1 < size; i += 2) std::swap(data[i], data[i + 1]);
  } else if (unit == 4) {
    for (size_t i = 0; i + 3 < size; i += 4) {
      uint32_t v;
      std::memcpy(&v, data + i, 4);
      v = __builtin_bswap32(v);
      std::memcpy(data + i, &v, 4);
    }
  } else if (unit == 8) {
    for (size_t i = 0; i + 7 < size; i += 8) {
      uint64_t v;
      std::memcpy(&v, data + i, 8);
      v = __builtin_bswap64(v);
      std::memcpy(data + i, &v, 8);
    }
  }
}

// PS3.5 8.1.1: pixel k of the value is bit (k % 8) of byte k / 8.
std::vector<uint8_t> UnpackBits(const uint8_t* bytes, uint64_t first_bit, uint64_t count) {
  std::vector<uint8_t> out(count);
  for (uint64_t k = 0; k < count; ++k) {
    const uint64_t bit = first_bit + k;
    out[k] = (bytes[bit >> 3] >> (bit & 7)) & 1;
  }
  return out;
}

// YBR_FULL_422 native (PS3.3 C.7.6.3.1.2): each pair of pixels is stored as
// Y1 Y2 Cb Cr; both pixels share the chroma. Expands to Y Cb Cr per pixel.
std::vector<uint8_t> Expand422(const uint8_t* in, const PixelAttributes& a, unsigned bytes) {
  std::vector<uint8_t> out(a.pixels() * 3 * bytes);
  const uint64_t pairs = a.pixels() / 2;
  for (uint64_t p = 0; p < pairs; ++p) {
    const uint8_t* src = in + p * 4 * bytes;
    uint8_t* dst = out.data() + p * 6 * bytes;
    for (int px = 0; px < 2; ++px) {
      std::memcpy(dst + (px * 3 + 0) * bytes, src + px * bytes, bytes);
      std::memcpy(dst + (px * 3 + 1) * bytes, src + 2 * bytes, bytes);
      std::memcpy(dst + (px * 3 + 2) * bytes, src + 3 * bytes, bytes);
    }
  }
  return out;
}

std::vector<uint8_t> DoublesToFloats(const uint8_t* in, uint64_t count) {
  std::vector<uint8_t> out(count * 4);
  for (uint64_t i = 0; i < count; ++i) {
    double d;
    std::memcpy(&d, in + i * 8, 8);
    const auto f = static_cast<float>(d);
    std::memcpy(out.data() + i * 4, &f, 4);
  }
  return out;
}

}  // namespace

Result<unsigned> NativeSampleBytes(const PixelAttributes& a) {
  switch (a.bits_allocated) {
    case 1:
    case 8:
      return 1u;
    case 16:
      return 2u;
    case 32:
      return 4u;
    case 64:
      if (a.is_float) return 8u;
      break;
    default:
      break;
  }
  return Status::Unsupported("BitsAllocated " + std::to_string(a.bits_allocated) +
                             " is not decodable (PS3.5 8.1.1 allows 1 or a multiple of 8)");
}

uint64_t PixelAttributes::native_frame_bytes() const {
  auto bytes = NativeSampleBytes(*this);
  if (!bytes.ok() || bits_allocated == 1) return 0;
  const uint64_t values = IsYbr422(*this) ? pixels() * 2 : pixels() * samples;
  return values * *bytes;
}

Result<RawFrame> ReadNativeFrame(const PixelAttributes& a, uint32_t index, uint64_t value_length,
                                 unsigned swap_unit, const ValueReader& read) {
  ASSIGN_OR_RETURN(const unsigned bytes, NativeSampleBytes(a));
  if (IsYbr422(a) && (bytes != 1 || a.columns % 2 != 0 || a.planar != 0)) {
    return Status::Unsupported(
        "YBR_FULL_422 native data needs 8 bits, even Columns and "
        "PlanarConfiguration 0");
  }
  const bool bits = a.bits_allocated == 1;
  const uint64_t first_bit = bits ? uint64_t{index} * a.pixels() * a.samples : 0;
  const uint64_t start = bits ? first_bit / 8 : uint64_t{index} * a.native_frame_bytes();
  const uint64_t end =
      bits ? (first_bit + a.pixels() * a.samples + 7) / 8 : start + a.native_frame_bytes();
  if (end > value_length) {
    return Status::DataLoss("Pixel Data holds " + std::to_string(value_length) + " bytes; frame " +
                            std::to_string(index) + " needs bytes up to " + std::to_string(end));
  }
  // Byte swapping works on whole VR values, so read an aligned superset.
  const unsigned unit = std::max(1u, swap_unit);
  const uint64_t aligned_start = start - start % unit;
  const uint64_t aligned_end = std::min(value_length, (end + unit - 1) / unit * unit);
  RawFrame raw;
  raw.photometric = a.photometric;
  raw.bytes_per_sample = static_cast<uint8_t>(std::min(bytes, 4u));
  std::vector<uint8_t> buf(((aligned_end - aligned_start) + unit - 1) / unit * unit);
  RETURN_IF_ERROR(read(aligned_start, aligned_end - aligned_start, buf.data()));
  if (unit > 1) SwapInPlace(buf.data(), buf.size(), unit);
  const uint8_t* at = buf.data() + (start - aligned_start);
  if (bits) {
    raw.data = UnpackBits(at, first_bit % 8, a.pixels() * a.samples);
  } else if (IsYbr422(a)) {
    raw.data = Expand422(at, a, bytes);
    raw.photometric = "YBR_FULL";
  } else if (bytes == 8) {
    raw.data = DoublesToFloats(at, a.pixels() * a.samples);
  } else if (at == buf.data() && buf.size() == end - start) {
    raw.data = std::move(buf);  // the common case: no second copy
  } else {
    raw.data.assign(at, at + (end - start));
  }
  raw.planar = a.samples > 1 && a.planar == 1 && !IsYbr422(a);
  return raw;
}

}  // namespace dcmfs::codecs_internal
