#include "codecs/internal/pixel_rle.h"

#include <cstring>
#include <string>

namespace dcmfs::codecs_internal {
namespace {

constexpr size_t kHeader = 64;  // PS3.5 G.5: segment count + 15 offsets

uint32_t Le32(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | uint32_t{p[3]} << 24; }

// PS3.5 G.3.2: header byte n in 0..127 copies n+1 literal bytes, -1..-127
// repeats the next byte 1-n times, -128 is a no-op. Writes exactly `want`
// bytes to `out` (every `stride` bytes), DataLoss if the segment is short.
Status UnpackBits(std::span<const uint8_t> in, size_t want, uint8_t* out, size_t stride) {
  size_t i = 0, n = 0;
  while (n < want && i < in.size()) {
    const auto h = static_cast<int8_t>(in[i++]);
    if (h >= 0) {
      size_t count = static_cast<size_t>(h) + 1;
      if (i + count > in.size()) return Status::DataLoss("RLE literal run past the segment end");
      if (count > want - n) count = want - n;
      for (size_t k = 0; k < count; ++k) out[(n + k) * stride] = in[i + k];
      i += static_cast<size_t>(h) + 1;
      n += count;
    } else if (h != -128) {
      if (i >= in.size()) return Status::DataLoss("RLE replicate run past the segment end");
      size_t count = static_cast<size_t>(1 - h);
      if (count > want - n) count = want - n;
      const uint8_t v = in[i++];
      for (size_t k = 0; k < count; ++k) out[(n + k) * stride] = v;
      n += count;
    }
  }
  if (n < want) {
    return Status::DataLoss("RLE segment decodes to " + std::to_string(n) + " bytes, needs " +
                            std::to_string(want));
  }
  return Status::Ok();
}

}  // namespace

Result<RawFrame> DecodeRle(const PixelAttributes& a, std::span<const uint8_t> frame) {
  const bool bits = a.bits_allocated == 1;
  if (!bits && (a.bits_allocated % 8 != 0 || a.bits_allocated > 32)) {
    return Status::Unsupported("RLE with BitsAllocated " + std::to_string(a.bits_allocated));
  }
  const unsigned bytes = bits ? 1 : a.bits_allocated / 8;
  const unsigned expected = bits ? 1 : bytes * a.samples;
  if (frame.size() < kHeader) return Status::DataLoss("RLE frame shorter than its header");
  const uint32_t segments = Le32(frame.data());
  if (segments != expected) {
    return Status::DataLoss("RLE header lists " + std::to_string(segments) + " segments; " +
                            std::to_string(expected) + " expected (PS3.5 G.2)");
  }
  const uint64_t pixels = a.pixels();
  const uint64_t per_segment = bits ? (pixels * a.samples + 7) / 8 : pixels;
  std::vector<uint8_t> out(bits ? per_segment : pixels * a.samples * bytes);
  for (uint32_t k = 0; k < segments; ++k) {
    const uint32_t begin = Le32(frame.data() + 4 + 4 * k);
    const uint64_t end = k + 1 < segments ? Le32(frame.data() + 8 + 4 * k) : frame.size();
    if (begin < kHeader || begin > end || end > frame.size()) {
      return Status::DataLoss("RLE segment " + std::to_string(k) + " offsets out of range");
    }
    // Segment k holds byte (k % bytes) of sample (k / bytes), most
    // significant first; our containers are little endian (host order).
    const unsigned sample = k / bytes, byte = bytes - 1 - k % bytes;
    uint8_t* dst = bits ? out.data() : out.data() + sample * bytes + byte;
    const size_t stride = bits ? 1 : size_t{a.samples} * bytes;
    RETURN_IF_ERROR(UnpackBits(frame.subspan(begin, end - begin), per_segment, dst, stride));
  }
  RawFrame raw;
  raw.photometric = a.photometric;
  raw.bytes_per_sample = static_cast<uint8_t>(bytes);
  if (!bits) {
    raw.data = std::move(out);
    return raw;
  }
  raw.data.resize(pixels * a.samples);
  for (uint64_t k = 0; k < raw.data.size(); ++k) raw.data[k] = (out[k >> 3] >> (k & 7)) & 1;
  return raw;
}

}  // namespace dcmfs::codecs_internal
