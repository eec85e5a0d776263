// Blob compression: zstd in independent frames of a fixed uncompressed size,
// followed by a seek table, so that any byte range of the original can be
// read by decompressing only the frames that hold it.
//
// The layout is the zstd "seekable format" (zstd/contrib/seekable_format,
// zstd_seekable_compression_format.md): frames, then a skippable frame
// (magic 0x184D2A5E) holding per-frame {compressed size, decompressed size}
// and a footer {number of frames, descriptor, seekable magic 0x8F92EAB1}.
// A blob is therefore also a plain .zst file that `zstd -d` decompresses.
// We write our own reader/writer because Debian ships the format's spec but
// not its library.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace dcmfs {

inline constexpr uint32_t kSeekableFrameSize = 1u << 20;  // 1 MiB of original bytes per frame

// Compresses `bytes` into the seekable format. Deterministic for given input and level.
std::string CompressSeekable(std::span<const uint8_t> bytes, int level = 3);

// The same output, produced frame by frame so that a file of any size is
// compressed with memory bounded by one frame: feed consecutive chunks of
// exactly kSeekableFrameSize bytes (the last may be shorter, never empty),
// write what each call appends to `out`, then Finish. Not thread-safe.
class SeekableWriter {
 public:
  explicit SeekableWriter(int level = 3);
  ~SeekableWriter();
  SeekableWriter(const SeekableWriter&) = delete;
  SeekableWriter& operator=(const SeekableWriter&) = delete;
  void AddFrame(std::span<const uint8_t> chunk, std::string& out);
  void Finish(std::string& out);  // appends the seek table

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The seek table of a seekable blob: where each frame starts.
struct SeekTable {
  struct Frame {
    uint64_t compressed_offset;
    uint32_t compressed_size;
    uint64_t decompressed_offset;
    uint32_t decompressed_size;
  };
  std::vector<Frame> frames;
  uint64_t decompressed_size = 0;
  uint64_t table_offset = 0;  // where the skippable frame begins (end of data frames)
  // Index of the frame holding decompressed byte `offset`; frames.size() if past the end.
  size_t FrameAt(uint64_t offset) const;
};

// The seek table is read in two steps because a blob may be remote (S3):
// first its last 9 bytes (the footer) give the table's total length, then
// that many trailing bytes are parsed. Corruption if malformed.
inline constexpr size_t kSeekFooterSize = 9;
Result<uint64_t> SeekTableLength(std::span<const uint8_t> footer, uint64_t blob_size);
Result<SeekTable> ParseSeekTable(std::span<const uint8_t> table_bytes, uint64_t blob_size);

// Decompresses one frame. Corruption if it does not decode to `expected_size` bytes.
Result<std::string> DecompressFrame(std::span<const uint8_t> frame, uint32_t expected_size);
// The same into `out`, which must be exactly the frame's decompressed size
// (the seek table's); Corruption otherwise. No allocation: the bulk path of
// volume reads decodes straight into its destination.
Status DecompressFrameInto(std::span<const uint8_t> frame, std::span<uint8_t> out);
// The first out.size() bytes of a frame, decoding little more than those
// (a header prefix of a 1 MiB frame costs a fraction of the whole). The
// frame's checksum is at its end, so it is NOT verified here: readers that
// need the integrity check read whole frames. Corruption if the frame is
// shorter or does not decode.
Status DecompressFramePrefix(std::span<const uint8_t> frame, std::span<uint8_t> out);

// Decompresses a whole blob held in memory (any zstd stream; skippable frames ignored).
Result<std::string> DecompressAll(std::span<const uint8_t> blob);

}  // namespace dcmfs
