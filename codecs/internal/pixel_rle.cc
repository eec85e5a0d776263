#include "codecs/internal/pixel_rle.h"

#include <cstring>
#include <string>

namespace dcmfs::codecs_internal {
namespace {

uint32_t Le32(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | uint32_t{p[3]} << 24; }

// PS3.5 G.3.2: header byte n in 0..127 copies n+1 literal bytes, -1..-127
// repeats the next byte 1-n times, -128 is a no-op. Stops at `want` bytes.
Status UnpackBits(std::span<const uint8_t> in, size_t want, std::vector<uint8_t>& out) {
  size_t i = 0;
  while (out.size() < want && i < in.size()) {
    const auto n = static_cast<int8_t>(in[i++]);
    if (n >= 0) {
      const size_t count = static_cast<size_t>(n) + 1;
      if (i + count > in.size()) return Status::DataLoss("RLE literal run past the segment end");
      out.insert(out.end(), in.begin() + i, in.begin() + i + count);
      i += count;
    } else if (n != -128) {
      if (i >= in.size()) return Status::DataLoss("RLE replicate run past the segment end");
      out.insert(out.end(), static_cast<size_t>(1 - n), in[i++]);
    }
  }
  if (out.size() < want) {
    return Status::DataLoss("RLE segment decodes to " + std::to_string(out.size()) +
                            " bytes, the frame needs " + std::to_string(want));
  }
  out.resize(want);
  return Status::Ok();
}

}  // namespace

Result<RawFrame> DecodeBitPackedRle(const PixelAttributes& a, std::span<const uint8_t> frame) {
  if (a.bits_allocated != 1 || a.samples != 1) {
    return Status::Unsupported("bit-packed RLE needs BitsAllocated 1 and one sample");
  }
  constexpr size_t kHeader = 64;  // PS3.5 G.5: segment count + 15 offsets
  if (frame.size() < kHeader) return Status::DataLoss("RLE frame shorter than its header");
  const uint32_t segments = Le32(frame.data());
  const uint32_t offset = Le32(frame.data() + 4);
  if (segments != 1 || offset < kHeader || offset >= frame.size()) {
    return Status::DataLoss("RLE header: " + std::to_string(segments) +
                            " segments, first at " + std::to_string(offset) +
                            " (1-bit data has one segment)");
  }
  const uint64_t pixels = a.pixels();
  std::vector<uint8_t> packed;
  packed.reserve((pixels + 7) / 8);
  RETURN_IF_ERROR(UnpackBits(frame.subspan(offset), (pixels + 7) / 8, packed));
  RawFrame raw;
  raw.photometric = a.photometric;
  raw.data.resize(pixels);
  for (uint64_t k = 0; k < pixels; ++k) raw.data[k] = (packed[k >> 3] >> (k & 7)) & 1;  // PS3.5 8.1.1
  return raw;
}

}  // namespace dcmfs::codecs_internal
