// The on-disk cache of fetched blob frames: bounded, least recently used
// evicted first (also across a reopen), corrupt entries detected.
#include "index/internal/frame_disk_cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

std::string Payload(char c, size_t n) { return std::string(n, c); }

// mtimes order entries across a reopen; keep successive writes apart.
void Tick() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }

TEST(FrameDiskCacheTest, EvictsLeastRecentlyUsedWithinTheBound) {
  testing::TempDir tmp;
  auto cache = FrameDiskCache::Open(tmp.Sub("c"), 3000);
  ASSERT_NE(cache, nullptr);
  cache->Put("aa-1", Payload('a', 1000));
  Tick();
  cache->Put("bb-1", Payload('b', 1000));
  Tick();
  cache->Put("cc-1", Payload('c', 1000));
  Tick();
  EXPECT_EQ(cache->Get("aa-1"), Payload('a', 1000));  // now the most recent
  Tick();
  cache->Put("dd-1", Payload('d', 1000));  // over the bound: "bb-1" goes
  EXPECT_EQ(cache->Get("bb-1"), std::nullopt);
  EXPECT_EQ(cache->Get("cc-1"), Payload('c', 1000));
  EXPECT_EQ(cache->Stats().bytes, 3000u);
  EXPECT_EQ(cache->Stats().entries, 3u);
  EXPECT_EQ(cache->Stats().evictions, 1u);
  EXPECT_FALSE(std::filesystem::exists(tmp.Sub("c/bb/bb-1")));
  cache->Put("ee-1", Payload('e', 5000));  // larger than the whole bound: not kept
  EXPECT_EQ(cache->Get("ee-1"), std::nullopt);
  EXPECT_EQ(cache->Get("cc-1"), Payload('c', 1000));
}

// A hit in the memory cache above (Touch) keeps an entry from being the
// next evicted, though the disk copy was not read.
TEST(FrameDiskCacheTest, TouchedEntriesAreKept) {
  testing::TempDir tmp;
  auto cache = FrameDiskCache::Open(tmp.Sub("c"), 2000);
  cache->Put("aa-1", Payload('a', 1000));
  cache->Put("bb-1", Payload('b', 1000));
  cache->Touch("aa-1");
  cache->Touch("zz-1");  // unknown: nothing happens
  cache->Put("cc-1", Payload('c', 1000));
  EXPECT_EQ(cache->Get("aa-1"), Payload('a', 1000));
  EXPECT_EQ(cache->Get("bb-1"), std::nullopt);
}

TEST(FrameDiskCacheTest, OrderAndContentSurviveAReopen) {
  testing::TempDir tmp;
  {
    auto cache = FrameDiskCache::Open(tmp.Sub("c"), 10000);
    cache->Put("aa-1", Payload('a', 1000));
    Tick();
    cache->Put("bb-1", Payload('b', 1000));
    Tick();
    ASSERT_TRUE(cache->Get("aa-1"));  // "bb-1" is now the least recent
    Tick();
  }
  // Reopened with a smaller bound: the least recent entry is evicted at once.
  auto cache = FrameDiskCache::Open(tmp.Sub("c"), 1500);
  EXPECT_EQ(cache->Stats().entries, 1u);
  EXPECT_EQ(cache->Get("aa-1"), Payload('a', 1000));
  EXPECT_EQ(cache->Get("bb-1"), std::nullopt);
}

TEST(FrameDiskCacheTest, ACorruptEntryIsDroppedNotServed) {
  testing::TempDir tmp;
  auto cache = FrameDiskCache::Open(tmp.Sub("c"), 10000);
  cache->Put("aa-1", Payload('a', 1000));
  cache->Put("aa-2", Payload('b', 1000));
  {
    std::fstream f(tmp.Sub("c/aa/aa-1"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(500);
    f.put('z');
  }
  std::filesystem::resize_file(tmp.Sub("c/aa/aa-2"), 20);  // torn: shorter than its header
  EXPECT_EQ(cache->Get("aa-1"), std::nullopt);
  EXPECT_EQ(cache->Get("aa-2"), std::nullopt);
  EXPECT_EQ(cache->Stats().corrupt, 2u);
  EXPECT_EQ(cache->Stats().entries, 0u);
  EXPECT_FALSE(std::filesystem::exists(tmp.Sub("c/aa/aa-1")));
  cache->Put("aa-1", Payload('a', 1000));  // fetched again, stored again
  EXPECT_EQ(cache->Get("aa-1"), Payload('a', 1000));
}

TEST(FrameDiskCacheTest, AnUnwritableFolderMeansNoCache) {
  testing::TempDir tmp;
  std::ofstream(tmp.Sub("file")) << "x";
  EXPECT_EQ(FrameDiskCache::Open(tmp.Sub("file/c"), 1000), nullptr);
}

}  // namespace
}  // namespace dcmfs
