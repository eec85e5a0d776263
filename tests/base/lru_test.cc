#include "base/lru.h"

#include <gtest/gtest.h>

#include <string>

namespace dcmfs {
namespace {

TEST(LruCacheTest, EvictsLeastRecentlyUsedByCost) {
  LruCache<std::string, int> cache(10);
  cache.Put("a", 1, 4);
  cache.Put("b", 2, 4);
  ASSERT_EQ(cache.Get("a"), 1);  // a is now newer than b
  cache.Put("c", 3, 4);          // 12 > 10: b goes
  EXPECT_FALSE(cache.Get("b").has_value());
  EXPECT_EQ(cache.Get("a"), 1);
  EXPECT_EQ(cache.Get("c"), 3);
  EXPECT_EQ(cache.total_cost(), 8u);
  EXPECT_EQ(cache.evictions(), 1u);
}

TEST(LruCacheTest, ReplacingKeepsCostExact) {
  LruCache<int, int> cache(10);
  cache.Put(1, 1, 6);
  cache.Put(1, 2, 3);
  EXPECT_EQ(cache.total_cost(), 3u);
  EXPECT_EQ(cache.Get(1), 2);
}

TEST(LruCacheTest, OversizedEntryIsNotKept) {
  LruCache<int, int> cache(10);
  cache.Put(1, 1, 5);
  cache.Put(2, 2, 11);
  EXPECT_FALSE(cache.Get(2).has_value());
  EXPECT_EQ(cache.Get(1), 1);
}

}  // namespace
}  // namespace dcmfs
