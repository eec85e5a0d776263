// The S3 client against a real Ceph RADOS Gateway (tests/support/ceph_cluster.h).
// Where a check can be made with someone else's tool, it is: objects our
// client wrote are fetched back with `curl --aws-sigv4` and hashed with
// sha256sum.
#include "index/s3/s3_object_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <map>
#include <random>

#include "codecs/sha256.h"
#include "tests/support/ceph_cluster.h"
#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

using testing::ShellQuote;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class S3ObjectStoreTest : public testing::CephSuite {
 protected:
  void SetUp() override {
    CephSuite::SetUp();
    if (HasFatalFailure()) return;
    const Status made = CreateS3BucketIfMissing(Settings());
    ASSERT_TRUE(made.ok()) << made.ToString();
  }

  static S3Settings Settings(const std::string& prefix = "t/") {
    return CephSuite::Settings("dcmfs-client-test", prefix);
  }
  static std::unique_ptr<ObjectStore> Open(const S3Settings& s = Settings()) {
    auto store = OpenS3ObjectStore(s);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }
  // `curl --aws-sigv4` on the object at `full_key`, as the service README shows.
  // `path` is bucket-relative ("t/key" or "?uploads="); `then` a pipe to append.
  static testing::CommandResult Curl(const std::string& args, const std::string& path,
                                     const std::string& then = "") {
    return testing::Shell(
        "curl -sS --fail --max-time 30 --aws-sigv4 " +
        ShellQuote("aws:amz:" + cluster_->region() + ":s3") + " --user " +
        ShellQuote(cluster_->access_key() + ":" + cluster_->secret_key()) +
        " -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' " + args + " " +
        ShellQuote(cluster_->endpoint() + "/dcmfs-client-test" + path) + then);
  }
};

TEST_F(S3ObjectStoreTest, PutGetHeadRangeDelete) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string bytes = RandomBytes(300000, 1);
  ASSERT_TRUE(store->Put("a/one.bin", AsBytes(bytes)).ok());
  // Fetched by curl and hashed by sha256sum: the bytes arrived unchanged.
  const auto got_by_curl = Curl("", "/t/a/one.bin", " | sha256sum");
  EXPECT_EQ(got_by_curl.output.substr(0, 64), ToHex(Sha256(bytes)));

  auto all = store->Get("a/one.bin");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_TRUE(*all == bytes);
  auto head = store->Head("a/one.bin");
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ(**head, bytes.size());

  std::vector<uint8_t> buf(1000);
  auto n = store->GetRange("a/one.bin", 12345, buf);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1000u);
  EXPECT_EQ(std::memcmp(buf.data(), bytes.data() + 12345, 1000), 0);
  n = store->GetRange("a/one.bin", bytes.size() - 10, buf);  // short at the end
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 10u);
  EXPECT_EQ(std::memcmp(buf.data(), bytes.data() + bytes.size() - 10, 10), 0);
  n = store->GetRange("a/one.bin", bytes.size() + 5, buf);  // past the end
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);

  ASSERT_TRUE(store->Delete("a/one.bin").ok());
  EXPECT_TRUE(store->Delete("a/one.bin").ok());  // absent: still OK
  head = store->Head("a/one.bin");
  ASSERT_TRUE(head.ok());
  EXPECT_FALSE(head->has_value());
  auto gone = store->Get("a/one.bin");
  EXPECT_TRUE(gone.status().IsNotFound()) << gone.status().ToString();
  EXPECT_NE(gone.status().message().find("s3://dcmfs-client-test/t/a/one.bin"), std::string::npos);
  EXPECT_TRUE(store->GetRange("a/one.bin", 0, buf).status().IsNotFound());
}

TEST_F(S3ObjectStoreTest, ListPagesInKeyOrder) {
  S3Settings s = Settings("list/");
  s.list_page_size = 3;  // 10 objects: four pages
  auto store = Open(s);
  ASSERT_NE(store, nullptr);
  std::map<std::string, size_t> want;
  for (int i = 0; i < 10; ++i) {
    const std::string key = "k/" + std::to_string(100 + i) + (i % 2 ? "&odd" : "");
    want[key] = static_cast<size_t>(i * 7);
    ASSERT_TRUE(store->Put(key, AsBytes(std::string(want[key], 'x'))).ok());
  }
  ASSERT_TRUE(store->Put("other/x", AsBytes(std::string("y"))).ok());
  std::vector<ObjectInfo> seen;
  ASSERT_TRUE(store->List("k/", "", [&](const ObjectInfo& o) {
    seen.push_back(o);
    return true;
  }).ok());
  ASSERT_EQ(seen.size(), want.size());
  size_t i = 0;
  for (const auto& [key, size] : want) {  // std::map: byte order, as S3 lists
    EXPECT_EQ(seen[i].key, key);
    EXPECT_EQ(seen[i].size, size);
    ++i;
  }
  // start_after and stopping early.
  seen.clear();
  ASSERT_TRUE(store->List("k/", "k/104", [&](const ObjectInfo& o) {
    seen.push_back(o);
    return seen.size() < 4;
  }).ok());
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].key, "k/105&odd");
  EXPECT_EQ(seen[3].key, "k/108");
}

TEST_F(S3ObjectStoreTest, MultipartPutFile) {
  S3Settings s = Settings();
  s.multipart_threshold = 6u << 20;
  s.part_size = 5u << 20;  // the S3 minimum: 13 MiB go up in three parts
  auto store = Open(s);
  ASSERT_NE(store, nullptr);
  testing::TempDir tmp;
  const std::string bytes = RandomBytes((13u << 20) + 17, 2);
  testing::WriteFileOrDie(tmp.Sub("big"), bytes);
  ASSERT_TRUE(store->PutFile("big.bin", tmp.Sub("big")).ok());
  // A multipart object's ETag ends in -<parts> (S3's documented format).
  const auto head = Curl("-I", "/t/big.bin");
  EXPECT_NE(head.output.find("-3\""), std::string::npos) << head.output;
  const auto sum = Curl("", "/t/big.bin", " | sha256sum");
  EXPECT_EQ(sum.output.substr(0, 64), ToHex(Sha256(bytes)));
  // A small file goes up in one PUT: no part suffix.
  testing::WriteFileOrDie(tmp.Sub("small"), "small");
  ASSERT_TRUE(store->PutFile("small.bin", tmp.Sub("small")).ok());
  EXPECT_EQ(Curl("-I", "/t/small.bin").output.find("-1\""), std::string::npos);
  // No upload is left open (a failed one would be aborted, a done one completed).
  const auto uploads = Curl("", "?uploads=");
  EXPECT_EQ(uploads.output.find("<Upload>"), std::string::npos) << uploads.output;
}

TEST_F(S3ObjectStoreTest, WrongKeysFailWithoutShowingThem) {
  S3Settings s = Settings();
  s.secret_key = "not-the-secret-0123456789";
  auto store = Open(s);
  ASSERT_NE(store, nullptr);
  auto got = store->Get("anything");
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("HTTP 403"), std::string::npos) << got.status().ToString();
  EXPECT_EQ(got.status().message().find(s.secret_key), std::string::npos);
  EXPECT_EQ(got.status().message().find(s.access_key), std::string::npos);
}

// A stopped gateway (connections refused) and a frozen one (connections
// accepted, nothing answered): both give IoError naming the object within
// the configured budget; the same call works once the gateway is back.
TEST_F(S3ObjectStoreTest, GivesUpInBoundedTimeAndRecovers) {
  S3Settings s = Settings();
  s.timeout_ms = 2000;
  auto store = Open(s);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put("r.bin", AsBytes(std::string("still here"))).ok());
  using Clock = std::chrono::steady_clock;
  for (const bool freeze : {true, false}) {
    SCOPED_TRACE(freeze ? "SIGSTOP" : "killed");
    ASSERT_EQ(freeze ? cluster_->PauseGateway() : cluster_->StopGateway(), "");
    const auto start = Clock::now();
    auto got = store->Get("r.bin");
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), StatusCode::kIoError);
    EXPECT_NE(got.status().message().find("s3://dcmfs-client-test/t/r.bin"), std::string::npos)
        << got.status().ToString();
    // The budget (2 s) + curl's 1 s progress-callback period + 2 s for a
    // loaded CI machine under ASan. Ignoring the budget means retries with
    // the default 10 s timeout each, so this still fails well clear of it.
    EXPECT_LT(secs, 2.0 + 1.0 + 2.0) << got.status().ToString();
    ASSERT_EQ(freeze ? cluster_->ResumeGateway() : cluster_->StartGateway(), "");
    got = store->Get("r.bin");
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, "still here");
  }
}

}  // namespace
}  // namespace dcmfs
