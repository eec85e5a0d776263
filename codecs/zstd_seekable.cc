// The zstd seekable format (zstd/contrib/seekable_format/
// zstd_seekable_compression_format.md), written and read by hand because
// Debian ships the spec but not the library.
//
// Layout of a blob:
//   frame_0 ... frame_{n-1}   independent zstd frames, kSeekableFrameSize
//                             original bytes each (the last may be shorter)
//   skippable frame           magic 0x184D2A5E, u32 Frame_Size, then
//                             n x {u32 Compressed_Size, u32 Decompressed_Size}
//                             (+ u32 checksum each if the descriptor says so),
//                             then the footer: u32 Number_Of_Frames,
//                             u8 Seek_Table_Descriptor, u32 0x8F92EAB1.
// All integers little endian.
//
// Each data frame carries zstd's own content checksum (XXH64 low 32 bits,
// RFC 8878 section 3.1.1.1.1 Content_Checksum_Flag) so that a flipped byte is
// reported as Corruption instead of silently decoding to different bytes; the
// seek table's own checksum flag stays off, as the spec allows.
#include "codecs/zstd_seekable.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "base/check.h"

namespace dcmfs {
namespace {

constexpr uint32_t kSkippableMagic = 0x184D2A5E;
constexpr uint32_t kSeekableMagic = 0x8F92EAB1;
constexpr size_t kSkippableHeaderSize = 8;  // magic + Frame_Size
constexpr uint8_t kChecksumFlag = 0x80;
constexpr uint8_t kReservedBits = 0x7C;  // bits 2..6 must be zero

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint32_t GetU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};
struct DStreamDeleter {
  void operator()(ZSTD_DStream* d) const { ZSTD_freeDStream(d); }
};

// Appends one independent zstd frame holding `chunk`; returns its size.
size_t AppendFrame(ZSTD_CCtx* cctx, std::span<const uint8_t> chunk, std::string& out) {
  const size_t bound = ZSTD_compressBound(chunk.size());
  const size_t start = out.size();
  out.resize(start + bound);
  const size_t n = ZSTD_compress2(cctx, out.data() + start, bound, chunk.data(), chunk.size());
  // With a destination of ZSTD_compressBound bytes compression cannot fail
  // except on allocation failure, which is not a recoverable input error.
  CHECK(!ZSTD_isError(n)) << "ZSTD_compress2: " << ZSTD_getErrorName(n);
  out.resize(start + n);
  return n;
}

Status CorruptionFromZstd(const char* what, size_t code) {
  return Status::Corruption(std::string(what) + ": " + ZSTD_getErrorName(code));
}

}  // namespace

struct SeekableWriter::Impl {
  std::unique_ptr<ZSTD_CCtx, CCtxDeleter> cctx{ZSTD_createCCtx()};
  std::vector<std::pair<uint32_t, uint32_t>> entries;  // {compressed, decompressed}
};

SeekableWriter::SeekableWriter(int level) : impl_(std::make_unique<Impl>()) {
  ZSTD_CCtx* cctx = impl_->cctx.get();
  CHECK(cctx != nullptr);
  CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)));
  CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)));
  CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1)));
}

SeekableWriter::~SeekableWriter() = default;

void SeekableWriter::AddFrame(std::span<const uint8_t> chunk, std::string& out) {
  CHECK(chunk.size() <= kSeekableFrameSize && !chunk.empty()) << chunk.size();
  const size_t c = AppendFrame(impl_->cctx.get(), chunk, out);
  impl_->entries.emplace_back(static_cast<uint32_t>(c), static_cast<uint32_t>(chunk.size()));
}

void SeekableWriter::Finish(std::string& out) {
  // An empty input gets zero data frames: `zstd -d` accepts a stream made of
  // only a skippable frame and writes an empty file.
  const uint32_t n = static_cast<uint32_t>(impl_->entries.size());
  PutU32(out, kSkippableMagic);
  PutU32(out, n * 8 + static_cast<uint32_t>(kSeekFooterSize));
  for (const auto& [c, d] : impl_->entries) {
    PutU32(out, c);
    PutU32(out, d);
  }
  PutU32(out, n);
  out.push_back(0);  // Seek_Table_Descriptor: no checksums
  PutU32(out, kSeekableMagic);
}

std::string CompressSeekable(std::span<const uint8_t> bytes, int level) {
  SeekableWriter writer(level);
  std::string out;
  out.reserve(ZSTD_compressBound(bytes.size()) + 64);
  for (size_t pos = 0; pos < bytes.size(); pos += kSeekableFrameSize) {
    writer.AddFrame(bytes.subspan(pos, std::min<size_t>(kSeekableFrameSize, bytes.size() - pos)),
                    out);
  }
  writer.Finish(out);
  return out;
}

size_t SeekTable::FrameAt(uint64_t offset) const {
  if (offset >= decompressed_size) return frames.size();
  // The first frame whose end lies beyond `offset`.
  auto it = std::upper_bound(frames.begin(), frames.end(), offset,
                             [](uint64_t off, const Frame& f) {
                               return off < f.decompressed_offset + f.decompressed_size;
                             });
  return static_cast<size_t>(it - frames.begin());
}

Result<uint64_t> SeekTableLength(std::span<const uint8_t> footer, uint64_t blob_size) {
  if (footer.size() != kSeekFooterSize) {
    return Status::Corruption("seek table footer must be 9 bytes, got " +
                              std::to_string(footer.size()));
  }
  if (GetU32(footer.data() + 5) != kSeekableMagic) {
    return Status::Corruption("not a seekable zstd blob: bad seekable magic");
  }
  const uint8_t descriptor = footer[4];
  if (descriptor & kReservedBits) {
    return Status::Corruption("seek table descriptor has reserved bits set");
  }
  const uint64_t entry_size = (descriptor & kChecksumFlag) ? 12 : 8;
  const uint64_t frames = GetU32(footer.data());
  const uint64_t length = kSkippableHeaderSize + frames * entry_size + kSeekFooterSize;
  if (length > blob_size) {
    return Status::Corruption("seek table of " + std::to_string(length) +
                              " bytes is larger than the blob (" + std::to_string(blob_size) +
                              ")");
  }
  return length;
}

Result<SeekTable> ParseSeekTable(std::span<const uint8_t> table_bytes, uint64_t blob_size) {
  if (table_bytes.size() < kSkippableHeaderSize + kSeekFooterSize) {
    return Status::Corruption("seek table too short");
  }
  const uint8_t* footer = table_bytes.data() + table_bytes.size() - kSeekFooterSize;
  ASSIGN_OR_RETURN(uint64_t length,
                   SeekTableLength(std::span<const uint8_t>(footer, kSeekFooterSize), blob_size));
  if (length != table_bytes.size()) {
    return Status::Corruption("seek table length mismatch: footer says " +
                              std::to_string(length) + ", given " +
                              std::to_string(table_bytes.size()));
  }
  const uint8_t* p = table_bytes.data();
  if (GetU32(p) != kSkippableMagic) return Status::Corruption("seek table: bad skippable magic");
  if (GetU32(p + 4) != length - kSkippableHeaderSize) {
    return Status::Corruption("seek table: skippable frame size disagrees with footer");
  }
  const size_t entry_size = (footer[4] & kChecksumFlag) ? 12 : 8;
  const uint32_t count = GetU32(footer);
  SeekTable table;
  table.frames.reserve(count);
  uint64_t c_off = 0, d_off = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* e = p + kSkippableHeaderSize + static_cast<size_t>(i) * entry_size;
    SeekTable::Frame f{c_off, GetU32(e), d_off, GetU32(e + 4)};
    // A zstd frame is at least 9 bytes (magic, header, one block header); a
    // smaller size can only come from a damaged table.
    if (f.compressed_size < 9) return Status::Corruption("seek table: impossible frame size");
    c_off += f.compressed_size;
    d_off += f.decompressed_size;
    table.frames.push_back(f);
  }
  table.decompressed_size = d_off;
  table.table_offset = c_off;
  if (c_off + length != blob_size) {
    return Status::Corruption("seek table: frames add up to " + std::to_string(c_off + length) +
                              " bytes, blob has " + std::to_string(blob_size));
  }
  return table;
}

Status DecompressFrameInto(std::span<const uint8_t> frame, std::span<uint8_t> out) {
  const size_t frame_len = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
  if (ZSTD_isError(frame_len)) return CorruptionFromZstd("zstd frame", frame_len);
  if (frame_len != frame.size()) {
    return Status::Corruption("zstd frame: " + std::to_string(frame.size() - frame_len) +
                              " trailing bytes");
  }
  const unsigned long long content = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != out.size()) {
    return Status::Corruption("zstd frame: content size " + std::to_string(content) +
                              ", seek table says " + std::to_string(out.size()));
  }
  // One context per thread: creating one per frame costs more than decoding
  // a small frame (a volume read decodes thousands).
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx(ZSTD_createDCtx());
  CHECK(dctx != nullptr);
  // A frame decoding to more than out.size() fails with dstSize_tooSmall.
  const size_t n =
      ZSTD_decompressDCtx(dctx.get(), out.data(), out.size(), frame.data(), frame.size());
  if (ZSTD_isError(n)) return CorruptionFromZstd("zstd frame", n);
  if (n != out.size()) {
    return Status::Corruption("zstd frame decoded to " + std::to_string(n) + " bytes, expected " +
                              std::to_string(out.size()));
  }
  return Status::Ok();
}

Status DecompressFramePrefix(std::span<const uint8_t> frame, std::span<uint8_t> out) {
  thread_local std::unique_ptr<ZSTD_DStream, DStreamDeleter> ds(ZSTD_createDStream());
  CHECK(ds != nullptr);
  const size_t reset = ZSTD_DCtx_reset(ds.get(), ZSTD_reset_session_only);
  if (ZSTD_isError(reset)) return CorruptionFromZstd("zstd frame", reset);
  // The streaming decoder stops once `out` is full: at most one block
  // (<= 128 KiB) more than asked is decoded, into its own window.
  ZSTD_inBuffer in{frame.data(), frame.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  while (o.pos < o.size) {
    const size_t before_in = in.pos, before_out = o.pos;
    const size_t r = ZSTD_decompressStream(ds.get(), &o, &in);
    if (ZSTD_isError(r)) return CorruptionFromZstd("zstd frame", r);
    if (r == 0 || (in.pos == before_in && o.pos == before_out)) break;
  }
  if (o.pos != out.size()) {
    return Status::Corruption("zstd frame holds " + std::to_string(o.pos) + " bytes, wanted " +
                              std::to_string(out.size()));
  }
  return Status::Ok();
}

Result<std::string> DecompressFrame(std::span<const uint8_t> frame, uint32_t expected_size) {
  std::string out(expected_size, '\0');
  RETURN_IF_ERROR(DecompressFrameInto(
      frame, std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), out.size())));
  return out;
}

Result<std::string> DecompressAll(std::span<const uint8_t> blob) {
  if (blob.empty()) return Status::Corruption("empty zstd blob");
  std::unique_ptr<ZSTD_DStream, DStreamDeleter> ds(ZSTD_createDStream());
  CHECK(ds != nullptr);
  std::string out;
  std::string chunk(ZSTD_DStreamOutSize(), '\0');
  ZSTD_inBuffer in{blob.data(), blob.size(), 0};
  size_t last = 0;
  while (in.pos < in.size) {
    ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
    last = ZSTD_decompressStream(ds.get(), &o, &in);
    if (ZSTD_isError(last)) return CorruptionFromZstd("zstd blob", last);
    out.append(chunk.data(), o.pos);
  }
  // Drain output still buffered inside the decoder after the input ended.
  while (last != 0) {
    ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
    last = ZSTD_decompressStream(ds.get(), &o, &in);
    if (ZSTD_isError(last)) return CorruptionFromZstd("zstd blob", last);
    out.append(chunk.data(), o.pos);
    if (o.pos == 0 && last != 0) return Status::Corruption("zstd blob: truncated frame");
  }
  return out;
}

}  // namespace dcmfs
