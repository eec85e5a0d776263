// DerivedFiles: single flight, memory LRU, persistent cache, invalidation.
#include "fs/derived/derived_files.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

// Produces "<series>/<generation>/<params>" slowly, counting calls.
class CountingProvider final : public DerivedProvider {
 public:
  explicit CountingProvider(bool persist) : persist_(persist) {}
  std::string kind() const override { return "counting"; }
  bool view_dependent() const override { return false; }
  bool persist() const override { return persist_; }
  std::vector<std::string> Names(const SeriesContext&) const override { return {"count.txt"}; }
  std::optional<std::string> Match(const SeriesContext&, std::string_view name) const override {
    if (name == "count.txt") return "";
    if (name.starts_with("iso-")) return std::string(name.substr(4));  // unlisted, on lookup
    return std::nullopt;
  }
  Result<std::shared_ptr<DerivedContent>> Produce(const SeriesContext& ctx,
                                                  std::string_view params) const override {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (params == "fail") return Status::Internal("asked to fail");
    return std::shared_ptr<DerivedContent>(std::make_shared<StringContent>(
        ctx.series.uid + "/" + ctx.series.generation + "/" + std::string(params)));
  }
  mutable std::atomic<int> calls{0};

 private:
  bool persist_;
};

SeriesContext Ctx(const std::string& generation) {
  SeriesContext ctx;
  ctx.series.uid = "1.2.3";
  ctx.series.generation = generation;
  return ctx;
}

std::string Text(const DerivedContent& c) {
  std::string s(c.size(), '\0');
  auto n = c.ReadAt(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(s.data()), s.size()));
  EXPECT_TRUE(n.ok());
  return s;
}

struct Fixture {
  explicit Fixture(bool persist, std::unique_ptr<DerivedCache> cache = nullptr)
      : files(DerivedFilesOptions{}, std::move(cache)) {
    auto p = std::make_unique<CountingProvider>(persist);
    provider = p.get();
    files.Register(std::move(p));
  }
  Result<std::shared_ptr<DerivedContent>> Get(const SeriesContext& ctx, const std::string& name) {
    std::optional<DerivedName> m = files.Match(ctx, name);
    CHECK(m.has_value());
    return files.Get(ctx, *m);
  }
  DerivedFiles files;
  CountingProvider* provider;
};

TEST(DerivedFilesTest, ManyReadersAtOnceProduceOnce) {
  Fixture f(false);
  SeriesContext ctx = Ctx("g1");
  std::vector<std::thread> threads;
  std::vector<std::string> got(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto c = f.Get(ctx, "count.txt");
      ASSERT_TRUE(c.ok());
      got[i] = Text(**c);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(f.provider->calls, 1);
  for (const std::string& g : got) EXPECT_EQ(g, "1.2.3/g1/");
  // Later readers hit memory.
  ASSERT_TRUE(f.Get(ctx, "count.txt").ok());
  EXPECT_EQ(f.provider->calls, 1);
  EXPECT_GE(f.files.Stats().memory_hits, 1u);
}

TEST(DerivedFilesTest, GenerationChangeInvalidates) {
  Fixture f(false);
  EXPECT_EQ(Text(**f.Get(Ctx("g1"), "count.txt")), "1.2.3/g1/");
  EXPECT_EQ(Text(**f.Get(Ctx("g2"), "count.txt")), "1.2.3/g2/");
  EXPECT_EQ(f.provider->calls, 2);
}

TEST(DerivedFilesTest, UnlistedNamesResolveAndErrorsAreNotCached) {
  Fixture f(false);
  SeriesContext ctx = Ctx("g1");
  EXPECT_EQ(f.files.Names(ctx), std::vector<std::string>{"count.txt"});
  EXPECT_FALSE(f.files.Match(ctx, "other").has_value());
  EXPECT_EQ(Text(**f.Get(ctx, "iso-300")), "1.2.3/g1/300");
  EXPECT_FALSE(f.Get(ctx, "iso-fail").ok());
  EXPECT_FALSE(f.Get(ctx, "iso-fail").ok());
  EXPECT_EQ(f.provider->calls, 3);  // the failure was retried
}

TEST(DerivedFilesTest, InodesAreStableAndViewIndependentHere) {
  Fixture f(false);
  SeriesContext a = Ctx("g1");
  SeriesContext b = Ctx("g2");
  b.view = View::kStudies;
  EXPECT_EQ(DerivedFiles::InodeOf(*f.provider, a, "count.txt"),
            DerivedFiles::InodeOf(*f.provider, b, "count.txt"));
  EXPECT_GE(DerivedFiles::InodeOf(*f.provider, a, "count.txt"), kFirstDerivedIno);
}

TEST(DerivedFilesTest, PersistentCacheSurvivesReopen) {
  testing::TempDir dir;
  DerivedCacheOptions options{dir.Sub("cache"), 1 << 20};
  {
    auto cache = DerivedCache::Open(options);
    ASSERT_TRUE(cache.ok()) << cache.status().ToString();
    Fixture f(true, std::move(cache).value());
    EXPECT_EQ(Text(**f.Get(Ctx("g1"), "count.txt")), "1.2.3/g1/");
    EXPECT_EQ(f.provider->calls, 1);
  }
  {
    auto cache = DerivedCache::Open(options);
    ASSERT_TRUE(cache.ok()) << cache.status().ToString();
    Fixture f(true, std::move(cache).value());
    EXPECT_EQ(Text(**f.Get(Ctx("g1"), "count.txt")), "1.2.3/g1/");
    EXPECT_EQ(f.provider->calls, 0);  // served from ARCHIVE/cache
    EXPECT_EQ(f.files.Stats().persistent_hits, 1u);
    // A new generation misses the persistent cache too.
    EXPECT_EQ(Text(**f.Get(Ctx("g2"), "count.txt")), "1.2.3/g2/");
    EXPECT_EQ(f.provider->calls, 1);
  }
}

TEST(DerivedFilesTest, SecondOwnerRunsMemoryOnly) {
  testing::TempDir dir;
  DerivedCacheOptions options{dir.Sub("cache"), 1 << 20};
  auto first = DerivedFiles::OpenForArchive(DerivedFilesOptions{}, options);
  auto second = DerivedFiles::OpenForArchive(DerivedFilesOptions{}, options);
  EXPECT_TRUE(first->Stats().persistent);
  EXPECT_FALSE(second->Stats().persistent);
}

}  // namespace
}  // namespace dcmfs
