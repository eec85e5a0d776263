#include "index/derived_cache.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

namespace fs = std::filesystem;

DerivedKey Key(const std::string& series, const std::string& kind = "nifti",
               const std::string& generation = "g1") {
  return DerivedKey{series, generation, kind, ""};
}

std::string Pattern(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(size, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string ReadAll(const CachedFile& f) {
  std::string out(f.size(), '\0');
  auto n = f.ReadAt(0, {reinterpret_cast<uint8_t*>(out.data()), out.size()});
  EXPECT_TRUE(n.ok());
  out.resize(n.ok() ? *n : 0);
  return out;
}

// Writes `bytes` in a few Appends and commits.
std::shared_ptr<CachedFile> Put(DerivedCache& cache, const DerivedKey& key,
                                const std::string& bytes) {
  auto w = cache.Begin(key);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  if (!w.ok()) return nullptr;
  const size_t half = bytes.size() / 2;
  EXPECT_TRUE((*w)->Append(AsBytes(bytes).first(half)).ok());
  EXPECT_TRUE((*w)->Append(AsBytes(bytes).subspan(half)).ok());
  auto f = (*w)->Commit();
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return f.ok() ? *f : nullptr;
}

std::unique_ptr<DerivedCache> OpenOrDie(const std::string& dir, uint64_t max_bytes = 1 << 20) {
  auto c = DerivedCache::Open({dir, max_bytes});
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

size_t CountFiles(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

TEST(DerivedKeyTest, IdIsHexAndSeparatesFields) {
  const std::string id = Key("1.2.3").Id();
  EXPECT_EQ(id.size(), 64u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(id, Key("1.2.3").Id());
  EXPECT_NE((DerivedKey{"ab", "c", "k", ""}.Id()), (DerivedKey{"a", "bc", "k", ""}.Id()));
  EXPECT_NE(Key("1.2.3", "nifti", "g1").Id(), Key("1.2.3", "nifti", "g2").Id());
}

TEST(DerivedCacheTest, RoundTripAndRandomReads) {
  testing::TempDir dir;
  auto cache = OpenOrDie(dir.path());
  auto miss = cache->Find(Key("s"));
  ASSERT_TRUE(miss.ok());
  EXPECT_EQ(*miss, nullptr);

  const std::string data = Pattern(100000, 1);
  auto written = Put(*cache, Key("s"), data);
  ASSERT_NE(written, nullptr);
  EXPECT_EQ(ReadAll(*written), data);

  auto hit = cache->Find(Key("s"));
  ASSERT_TRUE(hit.ok());
  ASSERT_NE(*hit, nullptr);
  EXPECT_EQ((*hit)->size(), data.size());
  uint8_t buf[100];
  auto n = (*hit)->ReadAt(54321, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 100u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), 100), data.substr(54321, 100));
  n = (*hit)->ReadAt(data.size() - 10, buf);  // short read at the end
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 10u);
  n = (*hit)->ReadAt(data.size() + 5, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);

  const DerivedCacheStats s = cache->Stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.bytes, data.size());
  EXPECT_EQ(s.max_bytes, 1u << 20);

  // An empty entry is a valid entry.
  auto empty = Put(*cache, Key("s", "empty"), "");
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->size(), 0u);
  auto found = cache->Find(Key("s", "empty"));
  ASSERT_TRUE(found.ok() && *found != nullptr);
}

TEST(DerivedCacheTest, DroppedWriterLeavesNothing) {
  testing::TempDir dir;
  auto cache = OpenOrDie(dir.path());
  {
    auto w = cache->Begin(Key("s"));
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(AsBytes(Pattern(1000, 2))).ok());
  }
  EXPECT_EQ(CountFiles(dir.Sub("tmp")), 0u);
  EXPECT_EQ(CountFiles(dir.Sub("entries")), 0u);
  auto f = cache->Find(Key("s"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, nullptr);
}

TEST(DerivedCacheTest, PersistsAcrossReopenWithStats) {
  testing::TempDir dir;
  const std::string data = Pattern(5000, 3);
  {
    auto cache = OpenOrDie(dir.path());
    Put(*cache, Key("s"), data);
    ASSERT_TRUE(cache->Find(Key("nope")).ok());  // a miss
  }
  auto stats = ReadDerivedCacheStats(dir.path());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->entries, 1u);
  EXPECT_EQ(stats->bytes, data.size());
  EXPECT_EQ(stats->misses, 1u);

  auto cache = OpenOrDie(dir.path());
  auto f = cache->Find(Key("s"));
  ASSERT_TRUE(f.ok() && *f != nullptr);
  EXPECT_EQ(ReadAll(**f), data);
  EXPECT_EQ(cache->Stats().hits, 1u);
  EXPECT_EQ(cache->Stats().misses, 1u);  // carried over
  // Readable while the cache is open (the mount holds the lock).
  auto live = ReadDerivedCacheStats(dir.path());
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->entries, 1u);
  EXPECT_EQ(ReadDerivedCacheStats(dir.Sub("missing")).status().code(), StatusCode::kNotFound);
}

TEST(DerivedCacheTest, GenerationChangeMisses) {
  testing::TempDir dir;
  auto cache = OpenOrDie(dir.path());
  Put(*cache, Key("s", "nifti", "gen1"), "old volume");
  auto f = cache->Find(Key("s", "nifti", "gen2"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, nullptr);
  f = cache->Find(Key("s", "nifti", "gen1"));
  ASSERT_TRUE(f.ok());
  EXPECT_NE(*f, nullptr);
}

TEST(DerivedCacheTest, EvictsLeastRecentlyUsedByBytes) {
  testing::TempDir dir;
  auto cache = OpenOrDie(dir.path(), 3000);
  Put(*cache, Key("a"), Pattern(1000, 1));
  Put(*cache, Key("b"), Pattern(1000, 2));
  Put(*cache, Key("c"), Pattern(1000, 3));
  ASSERT_NE(*cache->Find(Key("a")), nullptr);  // a is now newer than b
  Put(*cache, Key("d"), Pattern(1000, 4));      // evicts b
  EXPECT_EQ(*cache->Find(Key("b")), nullptr);
  EXPECT_NE(*cache->Find(Key("a")), nullptr);
  EXPECT_NE(*cache->Find(Key("c")), nullptr);
  EXPECT_NE(*cache->Find(Key("d")), nullptr);
  DerivedCacheStats s = cache->Stats();
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.bytes, 3000u);
  EXPECT_EQ(CountFiles(dir.Sub("entries")), 3u);

  // A big entry pushes out several; an entry larger than the cache is still
  // returned to its writer, then dropped.
  Put(*cache, Key("e"), Pattern(2500, 5));
  s = cache->Stats();
  EXPECT_LE(s.bytes, 3000u);
  EXPECT_EQ(s.entries, 1u);
  auto huge = Put(*cache, Key("f"), Pattern(4000, 6));
  ASSERT_NE(huge, nullptr);
  EXPECT_EQ(ReadAll(*huge), Pattern(4000, 6));
  EXPECT_EQ(cache->Stats().bytes, 0u);
}

TEST(DerivedCacheTest, RecencySurvivesReopenAndSmallerLimitEvicts) {
  testing::TempDir dir;
  {
    auto cache = OpenOrDie(dir.path(), 10000);
    Put(*cache, Key("a"), Pattern(1000, 1));
    Put(*cache, Key("b"), Pattern(1000, 2));
    ASSERT_NE(*cache->Find(Key("a")), nullptr);  // b is now the oldest
  }
  auto cache = OpenOrDie(dir.path(), 1500);
  EXPECT_EQ(*cache->Find(Key("b")), nullptr);
  EXPECT_NE(*cache->Find(Key("a")), nullptr);
}

TEST(DerivedCacheTest, CrashLeftoversAreCleanedOnOpen) {
  testing::TempDir dir;
  {
    auto cache = OpenOrDie(dir.path());
    Put(*cache, Key("kept"), Pattern(100, 1));
    Put(*cache, Key("lost"), Pattern(100, 2));
    Put(*cache, Key("resized"), Pattern(100, 3));
  }
  // Simulated crash debris and tampering:
  testing::WriteFileOrDie(dir.Sub("tmp/" + Key("x").Id() + ".7.tmp"), "half written");
  testing::WriteFileOrDie(dir.Sub("entries/" + Key("orphan").Id()), "no record");
  fs::remove(dir.Sub("entries/" + Key("lost").Id()));
  testing::WriteFileOrDie(dir.Sub("entries/" + Key("resized").Id()), "short");

  auto cache = OpenOrDie(dir.path());
  EXPECT_EQ(CountFiles(dir.Sub("tmp")), 0u);
  EXPECT_FALSE(fs::exists(dir.Sub("entries/" + Key("orphan").Id())));
  EXPECT_FALSE(fs::exists(dir.Sub("entries/" + Key("resized").Id())));
  EXPECT_EQ(cache->Stats().entries, 1u);
  EXPECT_EQ(cache->Stats().bytes, 100u);
  EXPECT_NE(*cache->Find(Key("kept")), nullptr);
  EXPECT_EQ(*cache->Find(Key("lost")), nullptr);
  EXPECT_EQ(*cache->Find(Key("resized")), nullptr);
  EXPECT_EQ(*cache->Find(Key("orphan")), nullptr);
}

TEST(DerivedCacheTest, FileRemovedWhileOpenIsAMiss) {
  testing::TempDir dir;
  auto cache = OpenOrDie(dir.path());
  Put(*cache, Key("s"), "bytes");
  fs::remove(dir.Sub("entries/" + Key("s").Id()));
  EXPECT_EQ(*cache->Find(Key("s")), nullptr);
  EXPECT_EQ(cache->Stats().entries, 0u);
}

TEST(DerivedCacheTest, EvictedEntryStaysReadableForItsHolder) {
  testing::TempDir dir;
  auto cache = OpenOrDie(dir.path(), 1000);
  const std::string data = Pattern(800, 1);
  auto held = Put(*cache, Key("a"), data);
  Put(*cache, Key("b"), Pattern(800, 2));  // evicts a
  EXPECT_EQ(*cache->Find(Key("a")), nullptr);
  EXPECT_EQ(ReadAll(*held), data);
}

TEST(DerivedCacheTest, SecondOpenIsBusy) {
  testing::TempDir dir;
  auto cache = OpenOrDie(dir.path());
  auto again = DerivedCache::Open({dir.path(), 1 << 20});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kBusy) << again.status().ToString();
}

// Another process holds the cache: Open in this one says Busy.
TEST(DerivedCacheTest, OtherProcessHoldingTheCacheIsBusy) {
  testing::TempDir dir;
  int to_child[2], to_parent[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(to_parent), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(20);
    auto c = DerivedCache::Open({dir.path(), 1 << 20});
    const char ok = c.ok() ? 'y' : 'n';
    (void)!write(to_parent[1], &ok, 1);
    char go;
    (void)!read(to_child[0], &go, 1);
    _exit(0);
  }
  char ok = 0;
  ASSERT_EQ(read(to_parent[0], &ok, 1), 1);
  ASSERT_EQ(ok, 'y');
  auto busy = DerivedCache::Open({dir.path(), 1 << 20});
  EXPECT_FALSE(busy.ok());
  EXPECT_EQ(busy.status().code(), StatusCode::kBusy) << busy.status().ToString();
  ASSERT_EQ(write(to_child[1], "g", 1), 1);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  auto after = DerivedCache::Open({dir.path(), 1 << 20});
  EXPECT_TRUE(after.ok()) << after.status().ToString();
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) close(fd);
}

TEST(DerivedCacheTest, ConcurrentFindAndBegin) {
  testing::TempDir dir;
  auto cache = OpenOrDie(dir.path(), 40 * 1000);
  constexpr int kThreads = 8, kKeys = 64, kOps = 300;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < kOps; ++i) {
        const int k = static_cast<int>(rng() % kKeys);
        const DerivedKey key = Key("series" + std::to_string(k));
        const std::string expect = Pattern(1000, static_cast<uint32_t>(k));
        auto f = cache->Find(key);
        if (!f.ok()) {
          ++wrong;
          continue;
        }
        std::shared_ptr<CachedFile> file = *f;
        if (file == nullptr) file = Put(*cache, key, expect);
        if (file == nullptr || ReadAll(*file) != expect) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  const DerivedCacheStats s = cache->Stats();
  EXPECT_EQ(s.hits + s.misses, static_cast<uint64_t>(kThreads * kOps));
  EXPECT_LE(s.bytes, 40u * 1000u);
  EXPECT_EQ(s.bytes, s.entries * 1000);
  EXPECT_EQ(CountFiles(dir.Sub("entries")), s.entries);
  EXPECT_EQ(CountFiles(dir.Sub("tmp")), 0u);
}

}  // namespace
}  // namespace dcmfs
