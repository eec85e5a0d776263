#include "codecs/zstd_seekable.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Compressible but not trivial: random bytes from a small alphabet mixed with runs.
std::string TestData(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) {
    s[i] = (i / 4096) % 2 ? static_cast<char>(rng() & 0x0F) : static_cast<char>(rng());
  }
  return s;
}

// Reads a blob the way the blob store does: footer, then table, then frames.
Result<std::string> ReadViaSeekTable(const std::string& blob) {
  auto bytes = AsBytes(blob);
  if (bytes.size() < kSeekFooterSize) return Status::Corruption("short");
  ASSIGN_OR_RETURN(uint64_t len,
                   SeekTableLength(bytes.last(kSeekFooterSize), bytes.size()));
  ASSIGN_OR_RETURN(SeekTable table, ParseSeekTable(bytes.last(len), bytes.size()));
  std::string out;
  for (const auto& f : table.frames) {
    ASSIGN_OR_RETURN(std::string part,
                     DecompressFrame(bytes.subspan(f.compressed_offset, f.compressed_size),
                                     f.decompressed_size));
    out += part;
  }
  return out;
}

class RoundTripTest : public ::testing::TestWithParam<size_t> {};

TEST_P(RoundTripTest, SeekTableAndStreamAgree) {
  const std::string data = TestData(GetParam(), 42);
  const std::string blob = CompressSeekable(AsBytes(data));
  auto via_table = ReadViaSeekTable(blob);
  ASSERT_TRUE(via_table.ok()) << via_table.status().ToString();
  EXPECT_EQ(*via_table, data);
  auto all = DecompressAll(AsBytes(blob));
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, data);

  auto bytes = AsBytes(blob);
  auto len = SeekTableLength(bytes.last(kSeekFooterSize), bytes.size());
  ASSERT_TRUE(len.ok());
  auto table = ParseSeekTable(bytes.last(*len), bytes.size());
  ASSERT_TRUE(table.ok());
  const size_t expected_frames = (data.size() + kSeekableFrameSize - 1) / kSeekableFrameSize;
  EXPECT_EQ(table->frames.size(), expected_frames);
  EXPECT_EQ(table->decompressed_size, data.size());
  EXPECT_EQ(table->table_offset + *len, blob.size());
}

INSTANTIATE_TEST_SUITE_P(Sizes, RoundTripTest,
                         ::testing::Values(0, 1, kSeekableFrameSize, kSeekableFrameSize + 1,
                                           kSeekableFrameSize * 7 / 2));

TEST(ZstdSeekableTest, Deterministic) {
  const std::string data = TestData(3 * kSeekableFrameSize / 2, 7);
  EXPECT_EQ(CompressSeekable(AsBytes(data)), CompressSeekable(AsBytes(data)));
}

// The zstd CLI is an independent reader of the format.
TEST(ZstdSeekableTest, ZstdCliDecompressesToIdenticalBytes) {
  testing::TempDir dir;
  for (size_t size : {size_t{0}, size_t{5}, size_t{kSeekableFrameSize * 5 / 2}}) {
    const std::string data = TestData(size, 3);
    const std::string zst = dir.Sub("blob" + std::to_string(size) + ".zst");
    const std::string raw = dir.Sub("blob" + std::to_string(size));
    testing::WriteFileOrDie(zst, CompressSeekable(AsBytes(data)));
    const std::string cmd = "zstd -q -d -f '" + zst + "' -o '" + raw + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    EXPECT_EQ(testing::ReadFileOrEmpty(raw), data) << "size " << size;
  }
}

// And it reads what the zstd CLI wrote (a plain, non-seekable stream).
TEST(ZstdSeekableTest, DecompressAllReadsZstdCliOutput) {
  testing::TempDir dir;
  const std::string data = TestData(300000, 9);
  testing::WriteFileOrDie(dir.Sub("in"), data);
  const std::string cmd = "zstd -q -f '" + dir.Sub("in") + "' -o '" + dir.Sub("in.zst") + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto all = DecompressAll(AsBytes(testing::ReadFileOrEmpty(dir.Sub("in.zst"))));
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, data);
}

TEST(ZstdSeekableTest, FrameAt) {
  const std::string data = TestData(kSeekableFrameSize * 5 / 2, 1);
  const std::string blob = CompressSeekable(AsBytes(data));
  auto bytes = AsBytes(blob);
  auto len = SeekTableLength(bytes.last(kSeekFooterSize), bytes.size());
  ASSERT_TRUE(len.ok());
  auto table = ParseSeekTable(bytes.last(*len), bytes.size());
  ASSERT_TRUE(table.ok());
  ASSERT_EQ(table->frames.size(), 3u);
  EXPECT_EQ(table->FrameAt(0), 0u);
  EXPECT_EQ(table->FrameAt(kSeekableFrameSize - 1), 0u);
  EXPECT_EQ(table->FrameAt(kSeekableFrameSize), 1u);
  EXPECT_EQ(table->FrameAt(2 * kSeekableFrameSize), 2u);
  EXPECT_EQ(table->FrameAt(data.size() - 1), 2u);
  EXPECT_EQ(table->FrameAt(data.size()), 3u);
  EXPECT_EQ(table->FrameAt(UINT64_MAX), 3u);
  // A random range read through one frame equals the original bytes.
  const uint64_t off = kSeekableFrameSize + 12345;
  const auto& f = table->frames[table->FrameAt(off)];
  auto part = DecompressFrame(bytes.subspan(f.compressed_offset, f.compressed_size),
                              f.decompressed_size);
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(part->substr(off - f.decompressed_offset, 100), data.substr(off, 100));

  SeekTable empty;
  EXPECT_EQ(empty.FrameAt(0), 0u);
}

// The in-place and prefix decoders (the blob store's bulk and header reads)
// return the original bytes; wrong sizes are Corruption, never a short read.
TEST(ZstdSeekableTest, FrameIntoAndPrefixGiveTheOriginalBytes) {
  const std::string data = TestData(kSeekableFrameSize + 5000, 13);
  const std::string blob = CompressSeekable(AsBytes(data));
  auto bytes = AsBytes(blob);
  auto len = SeekTableLength(bytes.last(kSeekFooterSize), bytes.size());
  ASSERT_TRUE(len.ok());
  auto table = ParseSeekTable(bytes.last(*len), bytes.size());
  ASSERT_TRUE(table.ok());
  for (const auto& f : table->frames) {
    const auto frame = bytes.subspan(f.compressed_offset, f.compressed_size);
    const std::string want = data.substr(f.decompressed_offset, f.decompressed_size);
    std::vector<uint8_t> out(f.decompressed_size);
    ASSERT_TRUE(DecompressFrameInto(frame, out).ok());
    EXPECT_EQ(0, std::memcmp(out.data(), want.data(), out.size()));
    for (size_t n : {size_t{0}, size_t{1}, size_t{65536}, size_t{200001},
                     size_t{f.decompressed_size}}) {
      if (n > f.decompressed_size) continue;  // the last frame is 5000 bytes
      std::vector<uint8_t> prefix(n);
      Status s = DecompressFramePrefix(frame, prefix);
      ASSERT_TRUE(s.ok()) << n << ": " << s.ToString();
      // (memcmp of an empty vector's null data() is undefined, even for 0 bytes.)
      if (n > 0) EXPECT_EQ(0, std::memcmp(prefix.data(), want.data(), n)) << n;
    }
    std::vector<uint8_t> too_long(f.decompressed_size + 1);
    EXPECT_EQ(DecompressFramePrefix(frame, too_long).code(), StatusCode::kCorruption);
    EXPECT_EQ(DecompressFrameInto(frame, too_long).code(), StatusCode::kCorruption);
    std::vector<uint8_t> too_short(f.decompressed_size - 1);
    EXPECT_EQ(DecompressFrameInto(frame, too_short).code(), StatusCode::kCorruption);
  }
}

TEST(ZstdSeekableTest, FlippedBytesAreCorruptionNeverWrongData) {
  const std::string data = TestData(kSeekableFrameSize + 5000, 11);
  const std::string blob = CompressSeekable(AsBytes(data));
  std::mt19937 rng(5);
  for (int i = 0; i < 400; ++i) {
    std::string bad = blob;
    const size_t pos = (i < 40) ? bad.size() - 1 - i : rng() % bad.size();
    bad[pos] = static_cast<char>(bad[pos] ^ (1 << (rng() % 8)));
    auto r = ReadViaSeekTable(bad);
    if (r.ok()) {
      // Only possible when the flip hit a field that does not affect the data.
      EXPECT_EQ(*r, data) << "flip at " << pos;
    } else {
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
    }
    auto all = DecompressAll(AsBytes(bad));
    if (all.ok()) {
      EXPECT_EQ(*all, data) << "flip at " << pos;
    } else {
      EXPECT_EQ(all.status().code(), StatusCode::kCorruption);
    }
  }
}

TEST(ZstdSeekableTest, TruncatedBlobsAreCorruption) {
  const std::string data = TestData(kSeekableFrameSize + 5000, 12);
  const std::string blob = CompressSeekable(AsBytes(data));
  for (size_t cut = 0; cut < blob.size(); cut += 997) {
    const std::string bad = blob.substr(0, cut);
    auto r = ReadViaSeekTable(bad);
    ASSERT_FALSE(r.ok()) << "cut " << cut;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    auto all = DecompressAll(AsBytes(bad));
    if (all.ok()) {
      // Cutting inside the trailing skippable frame still leaves every data frame.
      EXPECT_EQ(*all, data) << "cut " << cut;
    } else {
      EXPECT_EQ(all.status().code(), StatusCode::kCorruption);
    }
  }
}

TEST(ZstdSeekableTest, MalformedTables) {
  const std::string blob = CompressSeekable(AsBytes(TestData(1000, 1)));
  auto bytes = AsBytes(blob);
  EXPECT_FALSE(SeekTableLength(bytes.first(3), bytes.size()).ok());
  // A footer claiming 2^32-1 frames cannot fit in the blob.
  std::string footer(blob.end() - 9, blob.end());
  footer[0] = footer[1] = footer[2] = footer[3] = '\xff';
  auto len = SeekTableLength(AsBytes(footer), bytes.size());
  ASSERT_FALSE(len.ok());
  EXPECT_EQ(len.status().code(), StatusCode::kCorruption);
  // Reserved descriptor bits.
  footer = std::string(blob.end() - 9, blob.end());
  footer[4] = 0x04;
  EXPECT_EQ(SeekTableLength(AsBytes(footer), bytes.size()).status().code(),
            StatusCode::kCorruption);
  // A frame given the wrong expected size.
  EXPECT_EQ(DecompressFrame(bytes.first(bytes.size() - 25), 999).status().code(),
            StatusCode::kCorruption);
  EXPECT_EQ(DecompressAll({}).status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace dcmfs
