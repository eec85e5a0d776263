#include "index/internal/frame_plan.h"

#include <algorithm>
#include <cstring>
#include <optional>

namespace dcmfs {
namespace {

constexpr size_t kHeaderWindow = 1u << 20;  // Pixel Data is looked for in the first MiB
constexpr uint32_t kUndefined = 0xFFFFFFFFu;

uint32_t Le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

struct PixelData {
  uint64_t element = 0;  // offset of the (7FE0,0010) tag
  uint64_t value = 0;    // offset of its value
  uint32_t length = 0;   // kUndefined when encapsulated
};

// The last plausible top-level Pixel Data element header in `head`, explicit
// VR little endian (OB/OW, 12-byte header) or implicit (8-byte header, value
// reaching the end of the file). The last, because an Icon Image Sequence
// (0088,0200) holds an earlier, nested one.
std::optional<PixelData> FindPixelData(std::span<const uint8_t> head, uint64_t size) {
  static const uint8_t kTag[4] = {0xE0, 0x7F, 0x10, 0x00};
  std::optional<PixelData> found;
  for (size_t i = 0; i + 8 <= head.size(); ++i) {
    if (std::memcmp(head.data() + i, kTag, 4) != 0) continue;
    const uint8_t* p = head.data() + i + 4;
    if (i + 12 <= head.size() && (p[0] == 'O' && (p[1] == 'B' || p[1] == 'W')) && p[2] == 0 &&
        p[3] == 0) {
      const uint32_t len = Le32(p + 4);
      if (len == kUndefined || i + 12 + uint64_t{len} <= size) found = PixelData{i, i + 12, len};
    } else if (i + 8 + uint64_t{Le32(p)} == size) {
      found = PixelData{i, i + 8, Le32(p)};
    }
  }
  return found;
}

// Offsets of each item of encapsulated Pixel Data starting at `pos`.
Result<std::vector<uint64_t>> ItemStarts(const ReadFn& read, uint64_t pos, uint64_t size) {
  std::vector<uint64_t> starts;
  uint8_t h[8];
  while (pos + 8 <= size) {
    ASSIGN_OR_RETURN(size_t n, read(pos, h));
    if (n < 8) break;
    const bool item = h[0] == 0xFE && h[1] == 0xFF && h[2] == 0x00 && h[3] == 0xE0;
    if (!item) break;  // sequence delimiter (FFFE,E0DD) or not what we thought
    starts.push_back(pos);
    const uint32_t len = Le32(h + 4);
    if (len == kUndefined) break;
    pos += 8 + uint64_t{len};
  }
  return starts;
}

}  // namespace

Result<std::vector<uint32_t>> PlanFrames(const ReadFn& read, uint64_t size, uint32_t max_frame,
                                         uint32_t max_native_frame) {
  std::vector<uint64_t> cuts;  // ascending starts of aligned segments
  uint64_t native_from = size;  // where native Pixel Data starts (none: the end)
  std::vector<uint8_t> head(static_cast<size_t>(std::min<uint64_t>(size, kHeaderWindow)));
  size_t got = 0;
  while (got < head.size()) {
    ASSIGN_OR_RETURN(size_t n, read(got, std::span<uint8_t>(head).subspan(got)));
    if (n == 0) break;
    got += n;
  }
  head.resize(got);
  if (std::optional<PixelData> pd = FindPixelData(head, size)) {
    // No cut at the element's own 8- or 12-byte header: it stays with the
    // data set before it rather than making a frame of its own.
    if (pd->length == kUndefined) {
      ASSIGN_OR_RETURN(std::vector<uint64_t> items, ItemStarts(read, pd->value, size));
      cuts.insert(cuts.end(), items.begin(), items.end());
    } else {
      cuts.push_back(pd->value);
      native_from = pd->value;
    }
  }
  cuts.push_back(size);
  std::vector<uint32_t> frames;
  uint64_t pos = 0;
  for (uint64_t cut : cuts) {
    if (cut <= pos || cut > size) continue;
    const uint32_t limit = pos >= native_from ? std::min(max_frame, max_native_frame) : max_frame;
    while (pos < cut) {
      const uint64_t n = std::min<uint64_t>(limit, cut - pos);
      frames.push_back(static_cast<uint32_t>(n));
      pos += n;
    }
  }
  return frames;
}

}  // namespace dcmfs
