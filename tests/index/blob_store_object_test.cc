// The blob store over an object store, against a real Ceph RADOS Gateway:
// round trips, ranged reads that fetch only the frames they need, listing,
// and a store that goes away (cached frames still served).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "codecs/sha256.h"
#include "index/blob_store.h"
#include "index/s3/s3_object_store.h"
#include "tests/support/ceph_cluster.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}
std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
void Append32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}

// A file shaped like DICOM with encapsulated Pixel Data (PS3.5 A.4): a
// header, (7FE0,0010) OB of undefined length, an empty offset table item,
// then items of the given sizes of random (incompressible, like JPEG) bytes.
// Returns the file and each fragment's [offset, size].
std::string EncapsulatedFile(const std::vector<uint32_t>& sizes,
                             std::vector<std::pair<uint64_t, uint32_t>>* fragments) {
  std::string f(128, '\0');
  f += "DICM";
  f += RandomBytes(3000, 7);  // stands for the data set before Pixel Data
  f += std::string("\xE0\x7F\x10\x00OB\0\0", 8);
  Append32(f, 0xFFFFFFFFu);
  f += std::string("\xFE\xFF\x00\xE0", 4);
  Append32(f, 0);
  uint32_t seed = 100;
  for (uint32_t size : sizes) {
    f += std::string("\xFE\xFF\x00\xE0", 4);
    Append32(f, size);
    fragments->push_back({f.size(), size});
    f += RandomBytes(size, seed++);
  }
  f += std::string("\xFE\xFF\xDD\xE0\0\0\0\0", 8);
  return f;
}

class ObjectBlobStoreTest : public testing::CephSuite {
 protected:
  void SetUp() override {
    CephSuite::SetUp();
    if (HasFatalFailure()) return;
    settings_ = Settings("dcmfs-blob-test",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name() +
                             std::string("/"));
    settings_.timeout_ms = 2000;
    const Status made = CreateS3BucketIfMissing(settings_);
    ASSERT_TRUE(made.ok()) << made.ToString();
    auto store = OpenS3ObjectStore(settings_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ObjectBlobStoreOptions o;
    o.tmp_dir = tmp_.Sub("staging");
    auto blobs = BlobStore::OpenObject(std::shared_ptr<ObjectStore>(std::move(store).value()), o);
    ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
    blobs_ = std::move(blobs).value();
  }

  // A second store over the same bucket and prefix: what another mount sees.
  std::unique_ptr<BlobStore> OpenBlobs(uint64_t disk_cache_bytes) {
    auto store = OpenS3ObjectStore(settings_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return nullptr;
    ObjectBlobStoreOptions o;
    o.tmp_dir = tmp_.Sub("staging");
    o.disk_cache_dir = tmp_.Sub("blob-cache");
    o.disk_cache_bytes = disk_cache_bytes;
    auto blobs = BlobStore::OpenObject(std::shared_ptr<ObjectStore>(std::move(store).value()), o);
    EXPECT_TRUE(blobs.ok()) << blobs.status().ToString();
    return blobs.ok() ? std::move(blobs).value() : nullptr;
  }

  // Files and bytes under the disk cache folder, counted by the filesystem.
  std::pair<size_t, uint64_t> DiskUsage() {
    size_t files = 0;
    uint64_t bytes = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::recursive_directory_iterator(tmp_.Sub("blob-cache"), ec)) {
      if (!e.is_regular_file()) continue;
      ++files;
      bytes += e.file_size();
    }
    return {files, bytes};
  }

  testing::TempDir tmp_;
  S3Settings settings_;
  std::unique_ptr<BlobStore> blobs_;
};

TEST_F(ObjectBlobStoreTest, RoundTripsAndLists) {
  const std::string a = RandomBytes(700000, 1), b = std::string(3 << 20, 'z') + "tail";
  testing::WriteFileOrDie(tmp_.Sub("b"), b);
  auto put = blobs_->Put(Sha256(a), AsBytes(a));
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_TRUE(*put);
  EXPECT_FALSE(*blobs_->Put(Sha256(a), AsBytes(a)));  // already there: not rewritten
  ASSERT_TRUE(blobs_->PutFile(Sha256(b), tmp_.Sub("b")).ok());
  // A file that does not hash to the digest it is stored under is refused.
  auto refused = blobs_->PutFile(Sha256(std::string("other")), tmp_.Sub("b"));
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss) << refused.status().ToString();
  EXPECT_FALSE(*blobs_->Contains(Sha256(std::string("other"))));

  EXPECT_EQ(*blobs_->ReadAll(Sha256(a)), a);
  EXPECT_EQ(*blobs_->ReadAll(Sha256(b)), b);
  auto reader = blobs_->Open(Sha256(a));
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->size(), a.size());
  std::mt19937 rng(3);
  for (int i = 0; i < 50; ++i) {
    const uint64_t off = rng() % a.size();
    std::vector<uint8_t> buf(rng() % 300000 + 1);
    auto n = (*reader)->ReadAt(off, buf);
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(*n, std::min<uint64_t>(buf.size(), a.size() - off));
    EXPECT_EQ(std::memcmp(buf.data(), a.data() + off, *n), 0);
  }
  std::set<std::string> listed;
  ASSERT_TRUE(blobs_->ForEach([&](const Digest& d) {
    listed.insert(ToHex(d));
    return true;
  }).ok());
  EXPECT_EQ(listed, (std::set<std::string>{ToHex(Sha256(a)), ToHex(Sha256(b))}));
  EXPECT_EQ(blobs_->Locate(Sha256(a)), "s3://dcmfs-blob-test/RoundTripsAndLists/blobs/" +
                                           ToHex(Sha256(a)).substr(0, 2) + "/" +
                                           ToHex(Sha256(a)) + ".zst");
  EXPECT_TRUE(blobs_->Open(Sha256(std::string("absent"))).status().IsNotFound());
}

// Reading one fragment fetches about that fragment's bytes: frames start at
// fragments, so no neighbour comes along.
TEST_F(ObjectBlobStoreTest, AFragmentCostsAboutItsOwnBytes) {
  std::vector<std::pair<uint64_t, uint32_t>> fragments;
  const std::string file =
      EncapsulatedFile({30000, 45000, 12000, 700000, 28000, 33000}, &fragments);
  ASSERT_TRUE(blobs_->Put(Sha256(file), AsBytes(file)).ok());
  auto reader = blobs_->Open(Sha256(file));
  ASSERT_TRUE(reader.ok());
  for (size_t i : {0u, 2u, 4u}) {
    const auto [offset, size] = fragments[i];
    const uint64_t before = blobs_->Stats().bytes_fetched;
    std::vector<uint8_t> buf(size);
    ASSERT_EQ(*(*reader)->ReadAt(offset, buf), size);
    EXPECT_EQ(std::memcmp(buf.data(), file.data() + offset, size), 0);
    const uint64_t fetched = blobs_->Stats().bytes_fetched - before;
    EXPECT_GE(fetched, size) << "fragment " << i;  // random bytes do not compress
    EXPECT_LT(fetched, size + size / 10 + 64) << "fragment " << i;
  }
}

TEST_F(ObjectBlobStoreTest, CachedFramesOutliveTheGateway) {
  const std::string a = RandomBytes(600000, 9), b = RandomBytes(600000, 10);
  ASSERT_TRUE(blobs_->Put(Sha256(a), AsBytes(a)).ok());
  ASSERT_TRUE(blobs_->Put(Sha256(b), AsBytes(b)).ok());
  auto ra = blobs_->Open(Sha256(a));
  ASSERT_TRUE(ra.ok());
  std::vector<uint8_t> buf(100000);
  ASSERT_EQ(*(*ra)->ReadAt(1000, buf), buf.size());
  ASSERT_EQ(cluster_->StopGateway(), "");
  auto again = (*ra)->ReadAt(1000, buf);  // served from the frame cache
  EXPECT_TRUE(again.ok()) << again.status().ToString();
  auto rb = blobs_->Open(Sha256(b));
  EXPECT_EQ(rb.status().code(), StatusCode::kIoError) << rb.status().ToString();
  EXPECT_NE(rb.status().message().find(ToHex(Sha256(b))), std::string::npos);
  ASSERT_EQ(cluster_->StartGateway(), "");
  rb = blobs_->Open(Sha256(b));
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  EXPECT_EQ(*(*rb)->ReadAt(0, buf), buf.size());
  EXPECT_EQ(std::memcmp(buf.data(), b.data(), buf.size()), 0);
}

// A blob is opened with one request (a suffix-range GET gives the seek
// table and the object's size), not a HEAD and a GET.
TEST_F(ObjectBlobStoreTest, OpeningABlobIsOneRequest) {
  const std::string a = RandomBytes(900000, 11);
  ASSERT_TRUE(blobs_->Put(Sha256(a), AsBytes(a)).ok());
  std::unique_ptr<BlobStore> other = OpenBlobs(0);
  ASSERT_NE(other, nullptr);
  auto reader = other->Open(Sha256(a));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->size(), a.size());
  EXPECT_EQ(other->Stats().requests, 1u);
  EXPECT_LE(other->Stats().bytes_fetched, 512u);
  std::vector<uint8_t> buf(1000);
  ASSERT_EQ(*(*reader)->ReadAt(a.size() - 1000, buf), 1000u);
  EXPECT_EQ(std::memcmp(buf.data(), a.data() + a.size() - 1000, 1000), 0);
  // A tiny object (shorter than the suffix asked for) and an absent one.
  const std::string tiny = "x";
  ASSERT_TRUE(blobs_->Put(Sha256(tiny), AsBytes(tiny)).ok());
  EXPECT_EQ(*other->ReadAll(Sha256(tiny)), tiny);
  auto small = other->Open(Sha256(tiny));
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_EQ((*small)->size(), 1u);
  EXPECT_TRUE(other->Open(Sha256(std::string("absent"))).status().IsNotFound());
}

// What one mount fetched, the next mount on the same workstation reads from
// its disk cache: nothing fetched again, and it keeps serving with the
// gateway down; what was never fetched fails with IoError then.
TEST_F(ObjectBlobStoreTest, DiskCacheSurvivesARemountAndAnOutage) {
  const std::string a = RandomBytes(800000, 12), b = RandomBytes(300000, 13);
  ASSERT_TRUE(blobs_->Put(Sha256(a), AsBytes(a)).ok());
  ASSERT_TRUE(blobs_->Put(Sha256(b), AsBytes(b)).ok());
  std::vector<uint8_t> buf(400000);
  {
    std::unique_ptr<BlobStore> first = OpenBlobs(64 << 20);
    ASSERT_NE(first, nullptr);
    auto r = first->Open(Sha256(a));
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(*(*r)->ReadAt(100000, buf), buf.size());
    EXPECT_GT(first->Stats().bytes_fetched, buf.size());
  }
  std::unique_ptr<BlobStore> second = OpenBlobs(64 << 20);
  ASSERT_NE(second, nullptr);
  auto r = second->Open(Sha256(a));
  ASSERT_TRUE(r.ok());
  std::fill(buf.begin(), buf.end(), 0);
  ASSERT_EQ(*(*r)->ReadAt(100000, buf), buf.size());
  EXPECT_EQ(std::memcmp(buf.data(), a.data() + 100000, buf.size()), 0);
  EXPECT_EQ(second->Stats().bytes_fetched, 0u);
  EXPECT_EQ(second->Stats().requests, 0u);
  EXPECT_GE(second->Stats().disk_hits, 3u);  // the seek table and two frames at least

  std::unique_ptr<BlobStore> third = OpenBlobs(64 << 20);  // a cold memory cache
  ASSERT_EQ(cluster_->StopGateway(), "");
  auto r3 = third->Open(Sha256(a));
  ASSERT_TRUE(r3.ok()) << r3.status().ToString();
  auto n = (*r3)->ReadAt(100000, buf);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(std::memcmp(buf.data(), a.data() + 100000, buf.size()), 0);
  auto never = third->Open(Sha256(b));
  EXPECT_EQ(never.status().code(), StatusCode::kIoError) << never.status().ToString();
  ASSERT_EQ(cluster_->StartGateway(), "");
}

// A flipped byte in a cache file is caught by its checksum: the entry is
// dropped, the frame fetched again, the bytes right.
TEST_F(ObjectBlobStoreTest, DiskCacheCorruptEntryIsFetchedAgain) {
  const std::string a = RandomBytes(600000, 14);
  ASSERT_TRUE(blobs_->Put(Sha256(a), AsBytes(a)).ok());
  std::vector<uint8_t> buf(a.size());
  {
    std::unique_ptr<BlobStore> first = OpenBlobs(64 << 20);
    ASSERT_EQ(*(*first->Open(Sha256(a)))->ReadAt(0, buf), a.size());
  }
  size_t flipped = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(tmp_.Sub("blob-cache"))) {
    if (!e.is_regular_file() || e.path().filename().string().ends_with("-t")) continue;
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(e.file_size() / 2);
    const char c = static_cast<char>(f.get());
    f.seekp(e.file_size() / 2);
    f.put(static_cast<char>(c ^ 0x20));
    ++flipped;
    break;
  }
  ASSERT_EQ(flipped, 1u);
  std::unique_ptr<BlobStore> second = OpenBlobs(64 << 20);
  std::fill(buf.begin(), buf.end(), 0);
  ASSERT_EQ(*(*second->Open(Sha256(a)))->ReadAt(0, buf), a.size());
  EXPECT_EQ(std::memcmp(buf.data(), a.data(), a.size()), 0);
  EXPECT_EQ(second->Stats().disk_corrupt, 1u);
  EXPECT_GT(second->Stats().bytes_fetched, 0u);
  EXPECT_LT(second->Stats().bytes_fetched, a.size());  // only the bad frame
}

// The cache never holds more than its bound, counted on disk, and evicts
// the least recently used.
TEST_F(ObjectBlobStoreTest, DiskCacheStaysWithinItsBound) {
  const std::string a = RandomBytes(3 << 20, 15);
  ASSERT_TRUE(blobs_->Put(Sha256(a), AsBytes(a)).ok());
  constexpr uint64_t kBound = 700000;
  std::unique_ptr<BlobStore> store = OpenBlobs(kBound);
  auto r = store->Open(Sha256(a));
  std::vector<uint8_t> buf(a.size());
  ASSERT_EQ(*(*r)->ReadAt(0, buf), a.size());
  EXPECT_EQ(std::memcmp(buf.data(), a.data(), a.size()), 0);
  const auto [files, bytes] = DiskUsage();
  EXPECT_LE(bytes, kBound + files * 40);  // 40 bytes of header per file
  EXPECT_GT(bytes, kBound / 2);
  EXPECT_GT(store->Stats().disk_evictions, 0u);
  EXPECT_LE(store->Stats().disk_bytes, kBound);
  // The last frames read are the ones kept: a remount reads the end of the
  // blob from disk (the seek table, read first, was evicted: one small GET).
  std::unique_ptr<BlobStore> again = OpenBlobs(kBound);
  std::vector<uint8_t> tail(200000);
  ASSERT_EQ(*(*again->Open(Sha256(a)))->ReadAt(a.size() - tail.size(), tail), tail.size());
  EXPECT_EQ(std::memcmp(tail.data(), a.data() + a.size() - tail.size(), tail.size()), 0);
  EXPECT_LE(again->Stats().bytes_fetched, 512u);
}

}  // namespace
}  // namespace dcmfs
