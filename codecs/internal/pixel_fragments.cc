#include "codecs/internal/pixel_fragments.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace dcmfs::codecs_internal {
namespace {

constexpr uint64_t kItemHeader = 8;  // (FFFE,E000) tag + 32-bit length, PS3.5 7.5

Result<std::vector<FrameSpan>> FromOffsets(std::span<const FragmentInfo> fragments,
                                           std::span<const uint64_t> offsets, uint32_t frames,
                                           const char* table) {
  if (offsets.size() != frames) {
    return Status::DataLoss(std::string(table) + " has " + std::to_string(offsets.size()) +
                            " entries for " + std::to_string(frames) + " frames");
  }
  // Position of each fragment's Item tag relative to the first one.
  std::vector<uint64_t> starts(fragments.size());
  uint64_t pos = 0;
  for (size_t i = 0; i < fragments.size(); ++i) {
    starts[i] = pos;
    pos += kItemHeader + fragments[i].length;
  }
  std::vector<FrameSpan> out(frames);
  for (uint32_t f = 0; f < frames; ++f) {
    auto it = std::lower_bound(starts.begin(), starts.end(), offsets[f]);
    if (it == starts.end() || *it != offsets[f] || (f > 0 && offsets[f] <= offsets[f - 1])) {
      return Status::DataLoss(std::string(table) + " entry " + std::to_string(f) + " (" +
                              std::to_string(offsets[f]) + ") is not the start of a fragment");
    }
    out[f].first = static_cast<uint32_t>(it - starts.begin());
  }
  for (uint32_t f = 0; f < frames; ++f) {
    const uint32_t end =
        f + 1 < frames ? out[f + 1].first : static_cast<uint32_t>(fragments.size());
    out[f].count = end - out[f].first;
  }
  return out;
}

}  // namespace

bool StartsCodestream(std::span<const uint8_t> head) {
  static constexpr uint8_t kJp2Signature[] = {0, 0, 0, 0x0C, 'j', 'P', ' ', ' '};
  if (head.size() >= 2 && head[0] == 0xFF && (head[1] == 0xD8 || head[1] == 0x4F)) return true;
  return head.size() >= sizeof(kJp2Signature) &&
         std::memcmp(head.data(), kJp2Signature, sizeof(kJp2Signature)) == 0;
}

Result<std::vector<FrameSpan>> MapFramesToFragments(std::span<const FragmentInfo> fragments,
                                                    std::span<const uint64_t> offset_table,
                                                    uint32_t frames) {
  if (frames == 0) return Status::DataLoss("no frames");
  if (fragments.empty()) return Status::DataLoss("encapsulated Pixel Data has no fragments");
  if (!offset_table.empty()) {
    return FromOffsets(fragments, offset_table, frames, "offset table");
  }
  const auto n = static_cast<uint32_t>(fragments.size());
  if (frames == 1) return std::vector<FrameSpan>{{0, n}};
  std::vector<FrameSpan> out;
  if (n == frames) {
    for (uint32_t i = 0; i < n; ++i) out.push_back({i, 1});
    return out;
  }
  for (uint32_t i = 0; i < n; ++i) {
    const FragmentInfo& f = fragments[i];
    const size_t head_size = std::min<uint64_t>(f.length, sizeof(f.head));
    if (i == 0 || StartsCodestream({f.head, head_size})) {
      out.push_back({i, 0});
    }
    ++out.back().count;
  }
  if (out.size() != frames) {
    return Status::DataLoss("empty offset table and " + std::to_string(n) + " fragments for " +
                            std::to_string(frames) + " frames: found " +
                            std::to_string(out.size()) + " codestream starts");
  }
  return out;
}

}  // namespace dcmfs::codecs_internal
