#include "index/blob_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "codecs/zstd_seekable.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

namespace fs = std::filesystem;
using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::WriteFileOrDie;

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// ~3.5 frames: compressible runs mixed with noise so frames differ in compressed size.
std::string MakeData(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) {
    s[i] = (i / 4096) % 3 == 0 ? static_cast<char>(rng()) : static_cast<char>(i / 4096);
  }
  return s;
}

std::string RunToString(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

std::unique_ptr<BlobStore> OpenStore(const std::string& dir, size_t frame_cache = 64u << 20) {
  LocalBlobStoreOptions options;
  options.dir = dir;
  options.frame_cache_bytes = frame_cache;
  auto store = BlobStore::OpenLocal(options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return std::move(store).value();
}

size_t CountFiles(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

TEST(BlobStoreTest, PutTwiceStoresOnceAndZstdCliAgrees) {
  TempDir tmp;
  auto store = OpenStore(tmp.Sub("blobs"));
  const std::string data = MakeData(3 * kSeekableFrameSize + 12345, 1);
  const Digest digest = Sha256(data);
  auto first = store->Put(digest, AsBytes(data));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(*first);
  auto second = store->Put(digest, AsBytes(data));
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  EXPECT_EQ(CountFiles(tmp.Sub("blobs")), 1u);

  const std::string hex = ToHex(digest);
  const std::string path = tmp.Sub("blobs/" + hex.substr(0, 2) + "/" +
                                   hex + ".zst");
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(store->Locate(digest), "blobs/" + hex.substr(0, 2) + "/" +
                                       hex + ".zst");
  // The zstd command line tool, not our reader, says what the blob holds.
  const std::string sum = RunToString("zstd -q -d -c '" + path + "' | sha256sum");
  EXPECT_EQ(sum.substr(0, 64), hex);
  EXPECT_TRUE(*store->Contains(digest));
  auto all = store->ReadAll(digest);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(*all == data);
}

TEST(BlobStoreTest, RandomOffsetReadsAcrossFrameBoundaries) {
  TempDir tmp;
  auto store = OpenStore(tmp.Sub("blobs"), 2 * kSeekableFrameSize);  // forces evictions
  const std::string data = MakeData(3 * kSeekableFrameSize + 777, 2);
  const Digest digest = Sha256(data);
  ASSERT_TRUE(store->Put(digest, AsBytes(data)).ok());
  auto reader = store->Open(digest);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->size(), data.size());

  std::vector<std::pair<uint64_t, size_t>> reads = {
      {0, 10},
      {kSeekableFrameSize - 5, 10},               // straddles frames 0 and 1
      {kSeekableFrameSize - 1, 2 * kSeekableFrameSize + 2},  // spans three frames
      {data.size() - 3, 100},                     // short read at the end
      {data.size(), 10},                          // at the end
      {data.size() + 100, 10},                    // past the end
      {kSeekableFrameSize, kSeekableFrameSize},   // exactly frame 1 (ReadOnce: in place)
      {0, 2 * kSeekableFrameSize + 10},           // two whole frames and a piece
  };
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200; ++i) reads.push_back({rng() % data.size(), 1 + rng() % 300000});
  // ReadOnce (uncached, decompressed in place or via scratch) must return
  // the same bytes as ReadAt, whether or not ReadAt cached the frame before.
  for (const bool once : {false, true, false, true}) {
    for (const auto& [offset, len] : reads) {
      std::vector<uint8_t> out(len);
      auto n = once ? (*reader)->ReadOnce(offset, out) : (*reader)->ReadAt(offset, out);
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      const size_t expected =
          offset >= data.size() ? 0 : std::min<size_t>(len, data.size() - offset);
      ASSERT_EQ(*n, expected) << offset;
      ASSERT_EQ(0, std::memcmp(out.data(), data.data() + std::min<size_t>(offset, data.size()), *n))
          << "offset " << offset << (once ? " (ReadOnce)" : " (ReadAt)");
    }
  }
}

TEST(BlobStoreTest, ConcurrentReaders) {
  TempDir tmp;
  auto store = OpenStore(tmp.Sub("blobs"), kSeekableFrameSize + 1);
  std::vector<std::string> blobs = {MakeData(2 * kSeekableFrameSize + 9, 4),
                                    MakeData(kSeekableFrameSize / 3, 5),
                                    MakeData(4 * kSeekableFrameSize, 6)};
  for (const auto& b : blobs) ASSERT_TRUE(store->Put(Sha256(b), AsBytes(b)).ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      for (int i = 0; i < 150; ++i) {
        const std::string& b = blobs[rng() % blobs.size()];
        auto reader = store->Open(Sha256(b));
        if (!reader.ok()) {
          ++failures;
          continue;
        }
        const uint64_t offset = rng() % b.size();
        std::vector<uint8_t> out(1 + rng() % 70000);
        auto n = (*reader)->ReadAt(offset, out);
        if (!n.ok() || *n != std::min<size_t>(out.size(), b.size() - offset) ||
            std::memcmp(out.data(), b.data() + offset, *n) != 0) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(BlobStoreTest, ForEachSkipsStraysAndCleanupRemovesTemporaries) {
  TempDir tmp;
  auto store = OpenStore(tmp.Sub("blobs"));
  std::set<std::string> expected;
  for (int i = 0; i < 5; ++i) {
    const std::string data = "blob number " + std::to_string(i);
    ASSERT_TRUE(store->Put(Sha256(data), AsBytes(data)).ok());
    expected.insert(ToHex(Sha256(data)));
  }
  WriteFileOrDie(tmp.Sub("blobs/tmp/123-456.tmp"), "half written");
  WriteFileOrDie(tmp.Sub("blobs/ab/not-a-blob.zst"), "x");
  WriteFileOrDie(tmp.Sub("blobs/README"), "x");
  std::set<std::string> seen;
  ASSERT_TRUE(store->ForEach([&](const Digest& d) {
                seen.insert(ToHex(d));
                return true;
              }).ok());
  EXPECT_EQ(seen, expected);
  ASSERT_TRUE(store->CleanupTemporaries().ok());
  EXPECT_FALSE(fs::exists(tmp.Sub("blobs/tmp/123-456.tmp")));
  // Stopping early is honoured.
  int visits = 0;
  ASSERT_TRUE(store->ForEach([&](const Digest&) { return ++visits < 2; }).ok());
  EXPECT_EQ(visits, 2);
}

TEST(BlobStoreTest, MissingBlobIsNotFound) {
  TempDir tmp;
  auto store = OpenStore(tmp.Sub("blobs"));
  const Digest d = Sha256(std::string_view("nothing"));
  EXPECT_FALSE(*store->Contains(d));
  EXPECT_EQ(store->Open(d).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->ReadAll(d).status().code(), StatusCode::kNotFound);
}

TEST(BlobStoreTest, FlippedByteIsAnErrorNotACrash) {
  const std::string data = MakeData(2 * kSeekableFrameSize + 100, 7);
  const Digest digest = Sha256(data);
  const std::string hex = ToHex(digest);
  // Positions: inside the first frame's data, inside the second frame, in the seek table footer.
  for (int where = 0; where < 3; ++where) {
    TempDir tmp;
    auto store = OpenStore(tmp.Sub("blobs"));
    ASSERT_TRUE(store->Put(digest, AsBytes(data)).ok());
    const std::string path = tmp.Sub("blobs/" + hex.substr(0, 2) + "/" +
                                     hex + ".zst");
    std::string stored = ReadFileOrEmpty(path);
    ASSERT_GT(stored.size(), 1000u);
    const size_t pos = where == 0 ? 200 : where == 1 ? stored.size() / 2 : stored.size() - 2;
    stored[pos] = static_cast<char>(stored[pos] ^ 0x5a);
    WriteFileOrDie(path, stored);

    auto reader = store->Open(digest);
    if (where == 2) {
      // The frames are intact (a whole-blob read may still succeed) but the seek table is not.
      EXPECT_EQ(reader.status().code(), StatusCode::kCorruption);
      continue;
    }
    auto all = store->ReadAll(digest);
    EXPECT_TRUE(!all.ok() || Sha256(*all) != digest) << "flip at " << pos;
    if (!reader.ok()) continue;
    // Half frames (ReadOnce via scratch) and whole frames (ReadOnce in place).
    for (const size_t chunk : {size_t{kSeekableFrameSize / 2}, size_t{kSeekableFrameSize}}) {
      for (const bool once : {false, true}) {
        bool bad = false;
        for (uint64_t off = 0; off < data.size(); off += chunk) {
          std::vector<uint8_t> out(chunk);
          auto n = once ? (*reader)->ReadOnce(off, out) : (*reader)->ReadAt(off, out);
          if (!n.ok() || std::memcmp(out.data(), data.data() + off, *n) != 0) bad = true;
        }
        EXPECT_TRUE(bad) << "flip at " << pos << " went unnoticed" << (once ? " (ReadOnce)" : "");
      }
    }
  }
}

}  // namespace
}  // namespace dcmfs

namespace dcmfs {
namespace {

TEST(BlobStoreTest, PutFileStreamsTheSameBlobAsPut) {
  TempDir tmp;
  const std::string data = MakeData(2 * kSeekableFrameSize + 777, 5);
  WriteFileOrDie(tmp.Sub("in.bin"), data);
  const Digest digest = Sha256(data);
  auto streamed = OpenStore(tmp.Sub("a"));
  auto put = streamed->PutFile(digest, tmp.Sub("in.bin"));
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_TRUE(*put);
  auto in_memory = OpenStore(tmp.Sub("b"));
  ASSERT_TRUE(in_memory->Put(digest, AsBytes(data)).ok());
  const std::string rel = streamed->Locate(digest).substr(std::string("a/").size());
  // Frame by frame or all at once, the stored bytes are the same.
  EXPECT_EQ(ReadFileOrEmpty(tmp.Sub("a/") + rel), ReadFileOrEmpty(tmp.Sub("b/") + rel));
  const std::string sum = RunToString("zstd -q -d -c '" + tmp.Sub("a/") + rel + "' | sha256sum");
  EXPECT_EQ(sum.substr(0, 64), ToHex(digest));
}

TEST(BlobStoreTest, PutFileRefusesAFileThatNoLongerMatchesItsDigest) {
  TempDir tmp;
  const std::string data = MakeData(kSeekableFrameSize + 5, 6);
  const Digest digest = Sha256(data);
  WriteFileOrDie(tmp.Sub("in.bin"), data + "changed");
  auto store = OpenStore(tmp.Sub("blobs"));
  auto put = store->PutFile(digest, tmp.Sub("in.bin"));
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), StatusCode::kDataLoss) << put.status().ToString();
  EXPECT_FALSE(*store->Contains(digest));
  EXPECT_EQ(CountFiles(tmp.Sub("blobs")), 0u) << "no temp file or blob left behind";
}

}  // namespace
}  // namespace dcmfs
