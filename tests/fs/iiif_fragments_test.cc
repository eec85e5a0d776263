// Locating one tile's fragment from a blob's frame starts
// (fs/iiif/iiif_fragments.h), over the object-store blob layout in a local
// folder: the right bytes when the layout is as expected, and "not
// indexable" or DataLoss -- never wrong bytes -- when it is not.
#include "fs/iiif/iiif_fragments.h"

#include <gtest/gtest.h>

#include <random>

#include "index/object_store_dir.h"
#include "tests/support/temp_dir.h"

namespace dcmfs::iiif {
namespace {

void Append32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}

// Explicit VR LE header stand-in, (7FE0,0010) OB undefined length, an
// empty offset table, one item per size (random bytes), the delimiter, then
// `trailer` (data after Pixel Data, as some files have).
std::string Encapsulated(const std::vector<uint32_t>& sizes, std::vector<std::string>* items,
                         const std::string& trailer = "") {
  std::mt19937 rng(5);
  std::string f(128, '\0');
  f += "DICM";
  for (int i = 0; i < 2000; ++i) f.push_back(static_cast<char>(rng()));
  f += std::string("\xE0\x7F\x10\x00OB\0\0", 8);
  Append32(f, 0xFFFFFFFFu);
  f += std::string("\xFE\xFF\x00\xE0", 4);
  Append32(f, 0);
  for (uint32_t size : sizes) {
    std::string item;
    for (uint32_t i = 0; i < size; ++i) item.push_back(static_cast<char>(rng()));
    items->push_back(item);
    f += std::string("\xFE\xFF\x00\xE0", 4);
    Append32(f, size);
    f += item;
  }
  f += std::string("\xFE\xFF\xDD\xE0\0\0\0\0", 8);
  return f + trailer;
}

class IiifFragmentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenDirectoryObjectStore(tmp_.Sub("objects"));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ObjectBlobStoreOptions o;
    o.tmp_dir = tmp_.Sub("staging");
    auto blobs = BlobStore::OpenObject(std::shared_ptr<ObjectStore>(std::move(store).value()), o);
    ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
    blobs_ = std::move(blobs).value();
  }
  Digest Put(const std::string& file) {
    const Digest d = Sha256(file);
    EXPECT_TRUE(blobs_->Put(d, {reinterpret_cast<const uint8_t*>(file.data()), file.size()}).ok());
    return d;
  }
  testing::TempDir tmp_;
  std::unique_ptr<BlobStore> blobs_;
};

TEST_F(IiifFragmentsTest, EachFrameIsItsOwnFragment) {
  std::vector<std::string> items;
  const Digest d = Put(Encapsulated({3000, 70000, 5, 120000, 4001}, &items));
  auto index = LocateFragments(*blobs_, d, 5);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  ASSERT_TRUE(index->has_value());
  for (uint32_t i = 0; i < 5; ++i) {
    auto got = ReadFragment(*blobs_, d, **index, i);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(std::string(got->begin(), got->end()), items[i]) << "frame " << i;
  }
  EXPECT_FALSE(ReadFragment(*blobs_, d, **index, 5).ok());
}

TEST_F(IiifFragmentsTest, AFragmentSplitAcrossBlobFramesIsNotIndexed) {
  std::vector<std::string> items;  // 300 KB > the 256 KiB frame bound: two blob frames
  const Digest d = Put(Encapsulated({3000, 300000, 4000}, &items));
  auto index = LocateFragments(*blobs_, d, 3);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_FALSE(index->has_value());
  // A frame count that does not match the items is not indexed either.
  std::vector<std::string> more;
  const Digest e = Put(Encapsulated({3000, 4000, 5000}, &more));
  EXPECT_FALSE(LocateFragments(*blobs_, e, 2)->has_value());
  EXPECT_FALSE(LocateFragments(*blobs_, e, 4)->has_value());
}

TEST_F(IiifFragmentsTest, DataAfterPixelDataIsDataLossForTheLastFrameOnly) {
  std::vector<std::string> items;
  const Digest d = Put(Encapsulated(
      {3000, 4000}, &items, std::string("\xFC\xFF\xFC\xFFOB\0\0", 8) + std::string(12, 'x')));
  auto index = LocateFragments(*blobs_, d, 2);
  ASSERT_TRUE(index.ok());
  ASSERT_TRUE(index->has_value());  // the frames look right; the last item does not
  auto first = ReadFragment(*blobs_, d, **index, 0);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(std::string(first->begin(), first->end()), items[0]);
  auto last = ReadFragment(*blobs_, d, **index, 1);
  EXPECT_EQ(last.status().code(), StatusCode::kDataLoss) << last.status().ToString();
}

TEST_F(IiifFragmentsTest, TheLocalStoreGivesNoFrameStarts) {
  LocalBlobStoreOptions o;
  o.dir = tmp_.Sub("blobs");
  auto local = BlobStore::OpenLocal(o);
  ASSERT_TRUE(local.ok());
  std::vector<std::string> items;
  const std::string file = Encapsulated({3000, 4000}, &items);
  const Digest d = Sha256(file);
  ASSERT_TRUE((*local)->Put(d, {reinterpret_cast<const uint8_t*>(file.data()), file.size()}).ok());
  auto index = LocateFragments(**local, d, 2);
  ASSERT_TRUE(index.ok());
  EXPECT_FALSE(index->has_value());
}

}  // namespace
}  // namespace dcmfs::iiif
