#include "codecs/internal/pixel_color.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>

namespace dcmfs::codecs_internal {
namespace {

bool IsColour(const PixelAttributes& a) {
  return a.samples == 3 || a.photometric == "PALETTE COLOR";
}

// Reads sample `i` of a container of `bytes` bytes as an unsigned integer.
inline uint32_t Load(const uint8_t* data, unsigned bytes, uint64_t i) {
  if (bytes == 1) return data[i];
  if (bytes == 2) {
    uint16_t v;
    std::memcpy(&v, data + i * 2, 2);
    return v;
  }
  uint32_t v;
  std::memcpy(&v, data + i * 4, 4);
  return v;
}

// Masks to `bits_stored` bits after shifting HighBit down to BitsStored-1
// (PS3.5 8.1.1: stored bits sit at HighBit+1-BitsStored..HighBit), then
// sign-extends when signed; garbage above BitsStored (overlays in old
// 12-bit data, PS3.5 8.1.2) is dropped. The hot loop of 12-bit CT/MR, so
// templated on both container types (one tight loop the compiler vectorises).
template <typename In, typename Out>
void MaskLoop(const uint8_t* bytes, uint64_t count, unsigned shift, unsigned bits, Out* out) {
  const uint32_t mask = bits >= 32 ? 0xFFFFFFFFu : (1u << bits) - 1;
  const uint32_t sign = 1u << (bits - 1);
  const In* in = reinterpret_cast<const In*>(bytes);  // vectors are suitably aligned
  for (uint64_t i = 0; i < count; ++i) {
    uint32_t v = (static_cast<uint32_t>(in[i]) >> shift) & mask;
    if constexpr (std::is_signed_v<Out>) v = (v ^ sign) - sign;  // sign-extend from bit bits-1
    out[i] = static_cast<Out>(v);
  }
}

template <typename Out>
void MaskMonochrome(const uint8_t* in, unsigned in_bytes, uint64_t count, unsigned shift,
                    unsigned bits, Out* out) {
  if (in_bytes == 1) {
    MaskLoop<uint8_t>(in, count, shift, bits, out);
  } else if (in_bytes == 2) {
    MaskLoop<uint16_t>(in, count, shift, bits, out);
  } else {
    MaskLoop<uint32_t>(in, count, shift, bits, out);
  }
}

template <typename Out>
void MaskInto(RawFrame& raw, const PixelAttributes& a, uint64_t count, DecodedFrame& f) {
  const unsigned out_bits = sizeof(Out) * 8;
  unsigned bits = std::clamp<unsigned>(a.bits_stored, 1, out_bits);
  if (a.bits_allocated == 1) bits = 1;
  const unsigned shift =
      a.high_bit + 1u > bits && a.high_bit < out_bits ? a.high_bit + 1u - bits : 0;
  const bool same = raw.bytes_per_sample == sizeof(Out) && raw.data.size() == count * sizeof(Out);
  if (same && bits == out_bits && shift == 0) {
    f.data = std::move(raw.data);  // nothing to clear: the stored value is the container
    return;
  }
  if (same) {  // mask in place: no second 512 KiB buffer to allocate, zero and fault in
    MaskMonochrome(raw.data.data(), raw.bytes_per_sample, count, shift, bits,
                   reinterpret_cast<Out*>(raw.data.data()));
    f.data = std::move(raw.data);
    return;
  }
  f.data.resize(count * sizeof(Out));
  MaskMonochrome(raw.data.data(), raw.bytes_per_sample, count, shift, bits,
                 reinterpret_cast<Out*>(f.data.data()));
}

// PS3.3 C.7.6.3.1.2, YBR_FULL to RGB (the JFIF equations), rounded.
void YbrFullToRgb(uint8_t* px, uint64_t pixels) {
  for (uint64_t i = 0; i < pixels; ++i, px += 3) {
    const double y = px[0], cb = px[1] - 128.0, cr = px[2] - 128.0;
    const auto clamp8 = [](double v) {
      return static_cast<uint8_t>(std::clamp(v + 0.5, 0.0, 255.0));
    };
    px[0] = clamp8(y + 1.402 * cr);
    px[1] = clamp8(y - 0.344136 * cb - 0.714136 * cr);
    px[2] = clamp8(y + 1.772 * cb);
  }
}

// Interleaves, scales to 8 bits and converts to RGB.
Result<DecodedFrame> NormalizeColour(const RawFrame& raw, const PixelAttributes& a,
                                     DecodedFrame f) {
  const uint64_t n = a.pixels();
  if (raw.data.size() < n * 3 * raw.bytes_per_sample) {
    return Status::DataLoss("decoded colour frame is short");
  }
  const unsigned bits = std::clamp<unsigned>(a.bits_stored, 8, raw.bytes_per_sample * 8u);
  const unsigned down = bits - 8;  // 16-bit RGB keeps its 8 most significant stored bits
  f.data.resize(n * 3);
  for (uint64_t i = 0; i < n; ++i) {
    for (unsigned c = 0; c < 3; ++c) {
      const uint64_t at = raw.planar ? c * n + i : i * 3 + c;
      f.data[i * 3 + c] =
          static_cast<uint8_t>((Load(raw.data.data(), raw.bytes_per_sample, at) >> down) & 0xFF);
    }
  }
  if (raw.photometric == "YBR_FULL" || raw.photometric == "YBR_FULL_422") {
    YbrFullToRgb(f.data.data(), n);
  } else if (raw.photometric != "RGB") {
    return Status::Unsupported("colour model " + raw.photometric + " is not converted to RGB");
  }
  return f;
}

// PS3.3 C.7.6.3.1.5: index = stored value - first mapped, clamped to the
// table; 16-bit entries keep their high byte.
Result<DecodedFrame> ApplyPalette(const RawFrame& raw, const PixelAttributes& a, DecodedFrame f) {
  const uint64_t n = a.pixels();
  if (raw.data.size() < n * raw.bytes_per_sample) {
    return Status::DataLoss("decoded palette frame is short");
  }
  const unsigned bits = std::clamp<unsigned>(a.bits_stored, 1, raw.bytes_per_sample * 8u);
  const uint32_t mask = bits >= 32 ? 0xFFFFFFFFu : (1u << bits) - 1;
  f.data.resize(n * 3);
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t u = Load(raw.data.data(), raw.bytes_per_sample, i) & mask;
    int64_t v = u;
    if (a.is_signed && bits < 32 && (u >> (bits - 1)) != 0) v -= int64_t{1} << bits;
    for (unsigned c = 0; c < 3; ++c) {
      const PaletteLut& lut = a.palette[c];
      const int64_t last = static_cast<int64_t>(lut.data.size()) - 1;
      const int64_t idx = std::clamp<int64_t>(v - lut.first_mapped, 0, last);
      const uint16_t e = lut.data[static_cast<size_t>(idx)];
      f.data[i * 3 + c] = static_cast<uint8_t>(lut.bits > 8 ? e >> 8 : e & 0xFF);
    }
  }
  return f;
}

}  // namespace

Result<PixelFormat> OutputFormat(const PixelAttributes& a) {
  PixelFormat f;
  f.rows = a.rows;
  f.columns = a.columns;
  if (IsColour(a)) {
    if (a.samples == 1) {  // PALETTE COLOR
      for (const PaletteLut& lut : a.palette) {
        if (lut.data.empty()) {
          return Status::Unsupported("PALETTE COLOR without (non-segmented) LUT data");
        }
      }
    }
    f.samples = 3;
    f.type = SampleType::kUint8;
    f.bits_stored = 8;
    f.photometric = "RGB";
    return f;
  }
  if (a.samples != 1) {
    return Status::Unsupported("SamplesPerPixel " + std::to_string(a.samples));
  }
  f.photometric = a.photometric == "MONOCHROME1" ? "MONOCHROME1" : "MONOCHROME2";
  f.bits_stored = a.bits_allocated == 1 ? 1 : a.bits_stored;
  if (a.is_float) {
    f.type = SampleType::kFloat32;
    f.bits_stored = 32;
  } else if (a.bits_allocated <= 8) {
    f.type = a.is_signed && a.bits_allocated == 8 ? SampleType::kInt8 : SampleType::kUint8;
  } else if (a.bits_allocated == 16) {
    f.type = a.is_signed ? SampleType::kInt16 : SampleType::kUint16;
  } else if (a.bits_allocated == 32) {
    f.type = a.is_signed ? SampleType::kInt32 : SampleType::kUint32;
  } else {
    return Status::Unsupported("BitsAllocated " + std::to_string(a.bits_allocated));
  }
  return f;
}

Result<DecodedFrame> Normalize(RawFrame raw, const PixelAttributes& a, const PixelFormat& format) {
  DecodedFrame f;
  f.format = format;
  if (format.samples == 3) {
    if (a.samples == 1) return ApplyPalette(raw, a, std::move(f));
    return NormalizeColour(raw, a, std::move(f));
  }
  const uint64_t count = a.pixels();
  const size_t need = count * raw.bytes_per_sample;
  if (raw.data.size() < need) {
    return Status::DataLoss("decoded frame has " + std::to_string(raw.data.size()) +
                            " bytes, expected " + std::to_string(need));
  }
  switch (format.type) {
    case SampleType::kFloat32:
      raw.data.resize(count * 4);
      f.data = std::move(raw.data);
      break;
    case SampleType::kUint8:
      MaskInto<uint8_t>(raw, a, count, f);
      break;
    case SampleType::kInt8:
      MaskInto<int8_t>(raw, a, count, f);
      break;
    case SampleType::kUint16:
      MaskInto<uint16_t>(raw, a, count, f);
      break;
    case SampleType::kInt16:
      MaskInto<int16_t>(raw, a, count, f);
      break;
    case SampleType::kUint32:
      MaskInto<uint32_t>(raw, a, count, f);
      break;
    case SampleType::kInt32:
      MaskInto<int32_t>(raw, a, count, f);
      break;
  }
  return f;
}

}  // namespace dcmfs::codecs_internal
