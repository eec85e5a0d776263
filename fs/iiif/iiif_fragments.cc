#include "fs/iiif/iiif_fragments.h"

#include <cstring>

namespace dcmfs::iiif {
namespace {

uint32_t Le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

bool IsItem(const uint8_t* p) {
  return p[0] == 0xFE && p[1] == 0xFF && p[2] == 0x00 && p[3] == 0xE0;
}

Status ReadExactly(const BlobReader& reader, uint64_t offset, std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ASSIGN_OR_RETURN(size_t n, reader.ReadAt(offset + done, out.subspan(done)));
    if (n == 0) return Status::DataLoss("blob shorter than its size");
    done += n;
  }
  return Status::Ok();
}

}  // namespace

Result<std::optional<FragmentIndex>> LocateFragments(const BlobStore& blobs, const Digest& digest,
                                                     uint32_t frames) {
  ASSIGN_OR_RETURN(std::shared_ptr<BlobReader> reader, blobs.Open(digest));
  const std::vector<uint64_t> starts = reader->PieceStarts();
  const uint64_t size = reader->size();
  // A header frame, the offset table, `frames` fragments.
  if (frames == 0 || starts.size() < uint64_t{frames} + 2) return std::optional<FragmentIndex>();
  const size_t first = starts.size() - frames;
  const uint64_t table = starts[first - 1];
  if (table < 12 || size < 8 || starts[first] >= size - 8) return std::optional<FragmentIndex>();
  // (7FE0,0010) OB, reserved 00 00, undefined length, then the offset table item.
  uint8_t h[20];
  RETURN_IF_ERROR(ReadExactly(*reader, table - 12, h));
  static const uint8_t kPixelData[12] = {0xE0, 0x7F, 0x10, 0x00, 'O',  'B',
                                         0,    0,    0xFF, 0xFF, 0xFF, 0xFF};
  const bool ow = std::memcmp(h, kPixelData, 5) == 0 && h[5] == 'W' &&
                  std::memcmp(h + 6, kPixelData + 6, 6) == 0;
  if ((std::memcmp(h, kPixelData, 12) != 0 && !ow) || !IsItem(h + 12) ||
      table + 8 + Le32(h + 16) != starts[first]) {
    return std::optional<FragmentIndex>();
  }
  FragmentIndex index;
  index.reader = std::move(reader);
  index.items.assign(starts.begin() + static_cast<std::ptrdiff_t>(first), starts.end());
  index.items.push_back(size - 8);  // the sequence delimiter (FFFE,E0DD)
  return std::optional<FragmentIndex>(std::move(index));
}

Result<std::vector<uint8_t>> ReadFragment(const BlobStore& blobs, const Digest& digest,
                                          const FragmentIndex& index, uint32_t i) {
  if (i + 1 >= index.items.size())
    return Status::InvalidArgument("fragment index past the last frame");
  const uint64_t start = index.items[i], end = index.items[i + 1];
  const bool last = i + 2 == index.items.size();
  std::vector<uint8_t> bytes(static_cast<size_t>(end - start) + (last ? 8 : 0));
  RETURN_IF_ERROR(ReadExactly(*index.reader, start, bytes).WithContext(blobs.Locate(digest)));
  const bool delimited =
      !last || (bytes[bytes.size() - 8] == 0xFE && bytes[bytes.size() - 7] == 0xFF &&
                bytes[bytes.size() - 6] == 0xDD && bytes[bytes.size() - 5] == 0xE0);
  if (!IsItem(bytes.data()) || Le32(bytes.data() + 4) != end - start - 8 || !delimited) {
    return Status::DataLoss(blobs.Locate(digest) + ": fragment " + std::to_string(i) +
                            " is not where the blob's frames say");
  }
  bytes.resize(static_cast<size_t>(end - start));
  bytes.erase(bytes.begin(), bytes.begin() + 8);
  // A JPEG whose end-of-image marker (FFD9) ended on an odd byte has one 00 pad (PS3.5 A.4).
  const size_t n = bytes.size();
  if (n >= 3 && bytes[n - 1] == 0 && bytes[n - 2] == 0xD9 && bytes[n - 3] == 0xFF) bytes.pop_back();
  return bytes;
}

}  // namespace dcmfs::iiif
