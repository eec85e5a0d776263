// The blob store over an object store, against a real Ceph RADOS Gateway:
// round trips, ranged reads that fetch only the frames they need, listing,
// and a store that goes away (cached frames still served).
#include <gtest/gtest.h>

#include <cstring>
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

}  // namespace
}  // namespace dcmfs
