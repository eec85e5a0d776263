#include "index/object_store_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

using testing::TempDir;

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::vector<std::string> Keys(const ObjectStore& store, const std::string& prefix,
                              const std::string& after = "") {
  std::vector<std::string> keys;
  EXPECT_TRUE(store.List(prefix, after, [&](const ObjectInfo& info) {
                     keys.push_back(info.key);
                     return true;
                   }).ok());
  return keys;
}

TEST(DirectoryObjectStoreTest, PutGetRangeHeadDelete) {
  TempDir tmp;
  auto store = OpenDirectoryObjectStore(tmp.Sub("bucket"));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ObjectStore& s = **store;
  ASSERT_TRUE(s.Put("a/b/c.bin", Bytes("0123456789")).ok());
  // The object is the file, byte for byte, where the key says.
  EXPECT_EQ(testing::ReadFileOrEmpty(tmp.Sub("bucket/a/b/c.bin")), "0123456789");
  EXPECT_EQ(*s.Get("a/b/c.bin"), "0123456789");
  auto head = s.Head("a/b/c.bin");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->value_or(0), 10u);
  EXPECT_FALSE(s.Head("a/b/none")->has_value());
  EXPECT_TRUE(s.Get("a/b/none").status().IsNotFound());

  std::vector<uint8_t> buf(4);
  auto n = s.GetRange("a/b/c.bin", 8, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);  // short only at the end
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + 2), "89");
  EXPECT_EQ(*s.GetRange("a/b/c.bin", 3, buf), 4u);
  EXPECT_EQ(std::string(buf.begin(), buf.end()), "3456");
  EXPECT_EQ(*s.GetRange("a/b/c.bin", 10, buf), 0u);

  ASSERT_TRUE(s.Put("a/b/c.bin", Bytes("new")).ok());  // overwrites
  EXPECT_EQ(*s.Get("a/b/c.bin"), "new");
  ASSERT_TRUE(s.Delete("a/b/c.bin").ok());
  EXPECT_TRUE(s.Get("a/b/c.bin").status().IsNotFound());
  EXPECT_TRUE(s.Delete("a/b/c.bin").ok());  // absent: fine
}

TEST(DirectoryObjectStoreTest, ListIsSortedByKeyAndHonoursPrefixAndStartAfter) {
  TempDir tmp;
  auto store = OpenDirectoryObjectStore(tmp.Sub("bucket"));
  ASSERT_TRUE(store.ok());
  ObjectStore& s = **store;
  for (const char* k : {"log/0003", "log/0001", "log/0010", "log/x/0002", "logs", "other/1"}) {
    ASSERT_TRUE(s.Put(k, Bytes(k)).ok());
  }
  EXPECT_EQ(Keys(s, "log/"),
            (std::vector<std::string>{"log/0001", "log/0003", "log/0010", "log/x/0002"}));
  EXPECT_EQ(Keys(s, "log/", "log/0003"), (std::vector<std::string>{"log/0010", "log/x/0002"}));
  EXPECT_EQ(Keys(s, "log"), (std::vector<std::string>{"log/0001", "log/0003", "log/0010",
                                                      "log/x/0002", "logs"}));
  EXPECT_EQ(Keys(s, "").size(), 6u);  // the temp folder is not an object
  EXPECT_TRUE(Keys(s, "nothing/").empty());
  // Sizes come with the keys.
  uint64_t size = 0;
  ASSERT_TRUE(s.List("other/", "", [&](const ObjectInfo& i) {
                 size = i.size;
                 return false;
               }).ok());
  EXPECT_EQ(size, 7u);
}

TEST(DirectoryObjectStoreTest, PutFileStreamsAFile) {
  TempDir tmp;
  auto store = OpenDirectoryObjectStore(tmp.Sub("bucket"));
  ASSERT_TRUE(store.ok());
  std::string big(3u << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i / 4096);
  testing::WriteFileOrDie(tmp.Sub("src"), big);
  ASSERT_TRUE((*store)->PutFile("k/big", tmp.Sub("src")).ok());
  EXPECT_EQ(*(*store)->Get("k/big"), big);
  EXPECT_FALSE((*store)->PutFile("k/none", tmp.Sub("missing")).ok());
  EXPECT_FALSE((*store)->Head("k/none")->has_value());  // nothing half-written
}

TEST(DirectoryObjectStoreTest, RefusesKeysThatLeaveTheFolder) {
  TempDir tmp;
  auto store = OpenDirectoryObjectStore(tmp.Sub("bucket"));
  ASSERT_TRUE(store.ok());
  for (const char* bad : {"", "/abs", "a/../../x", "a//b", "./a", "a/", ".tmp/x"}) {
    Status s = (*store)->Put(bad, Bytes("x"));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("object key"), std::string::npos) << s.message();
  }
  struct stat st;
  EXPECT_NE(::stat(tmp.Sub("x").c_str(), &st), 0);
}

}  // namespace
}  // namespace dcmfs
