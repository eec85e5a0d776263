// The writer lease over a store kept in a folder (the same ObjectStore
// contract as S3; the two-writers test on real Ceph is
// tests/integration/s3_write_test.cc).
#include "index/writer_lease.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "index/object_store_dir.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

using namespace std::chrono_literals;

class WriterLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenDirectoryObjectStore(tmp_.Sub("store"));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::shared_ptr<ObjectStore>(std::move(store).value());
    options_.stale_after = 2s;  // heartbeat every 0.5 s
    options_.settle = 100ms;
  }
  std::string Record() {
    auto got = store_->Get(options_.key);
    return got.ok() ? *got : "";
  }
  void PutRecord(const std::string& text) {
    ASSERT_TRUE(
        store_->Put(options_.key, {reinterpret_cast<const uint8_t*>(text.data()), text.size()})
            .ok());
  }

  testing::TempDir tmp_;
  std::shared_ptr<ObjectStore> store_;
  WriterLeaseOptions options_;
};

TEST_F(WriterLeaseTest, SecondWriterIsRefusedNamingTheFirstUntilReleased) {
  auto first = WriterLease::Acquire(store_, options_);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_NE(Record().find("pid=" + std::to_string(::getpid()) + "\n"), std::string::npos);
  auto second = WriterLease::Acquire(store_, options_);
  ASSERT_EQ(second.status().code(), StatusCode::kBusy) << second.status().ToString();
  EXPECT_NE(second.status().message().find(store_->Describe("index/WRITER") +
                                           ": this archive's writer is " + (*first)->holder()),
            std::string::npos)
      << second.status().ToString();
  EXPECT_NE(second.status().message().find("--force-writer"), std::string::npos);
  first->reset();  // released: the object is gone
  EXPECT_TRUE(store_->Get(options_.key).status().IsNotFound());
  EXPECT_TRUE(WriterLease::Acquire(store_, options_).ok());
}

TEST_F(WriterLeaseTest, ForcedTakeoverFencesTheOldHolder) {
  auto first = WriterLease::Acquire(store_, options_);
  ASSERT_TRUE(first.ok());
  std::this_thread::sleep_for(700ms);  // a heartbeat or two
  EXPECT_TRUE((*first)->Check().ok());
  WriterLeaseOptions force = options_;
  force.force = true;
  auto second = WriterLease::Acquire(store_, force);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  // The first one's next heartbeat (every stale/4 = 0.5 s) finds out. Polled:
  // a loaded CI machine runs heartbeats late. Found out before stale_after
  // (4 heartbeats), or the old holder could write on as if it were live.
  const auto taken = std::chrono::steady_clock::now();
  Status lost = (*first)->Check();
  while (lost.ok() && std::chrono::steady_clock::now() - taken < 10s) {
    std::this_thread::sleep_for(20ms);
    lost = (*first)->Check();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - taken, options_.stale_after);
  EXPECT_EQ(lost.code(), StatusCode::kBusy);
  EXPECT_NE(lost.message().find("taken over by"), std::string::npos) << lost.ToString();
  EXPECT_TRUE((*second)->Check().ok());
  first->reset();  // must not delete the new holder's lease
  EXPECT_NE(Record().find("token="), std::string::npos);
  EXPECT_TRUE((*second)->Check().ok());
}

TEST_F(WriterLeaseTest, StaleOrDeadHoldersAreReplaced) {
  // Another host, heartbeat long ago: stale.
  PutRecord("host=elsewhere\npid=1\nprocess_start=5\nstarted=1000\nheartbeat=1000\ntoken=x\n");
  EXPECT_TRUE(WriterLease::Acquire(store_, options_).ok());
  // Another host, heartbeat now: live, refused.
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  PutRecord("host=elsewhere\npid=1\nprocess_start=5\nstarted=1000\nheartbeat=" +
            std::to_string(now) + "\ntoken=x\n");
  auto refused = WriterLease::Acquire(store_, options_);
  EXPECT_EQ(refused.status().code(), StatusCode::kBusy);
  EXPECT_NE(refused.status().message().find("host 'elsewhere' pid 1"), std::string::npos)
      << refused.status().ToString();
  // This host, fresh heartbeat, but the process is gone (a killed ingest).
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  PutRecord("host=" + std::string(host) + "\npid=" + std::to_string(child) +
            "\nprocess_start=123\nstarted=1000\nheartbeat=" + std::to_string(now) + "\ntoken=x\n");
  EXPECT_TRUE(WriterLease::Acquire(store_, options_).ok());
}

TEST_F(WriterLeaseTest, OfTwoStartedTogetherOneWins) {
  // The product's settle time: two writers are told apart only if neither
  // stalls longer than it between reading WRITER and writing its own
  // (semantics.md); the fixture's 100 ms is a stall a loaded CI thread can have.
  options_.settle = 500ms;
  for (int round = 0; round < 5; ++round) {
    auto a = std::async(std::launch::async, [&] { return WriterLease::Acquire(store_, options_); });
    auto b = std::async(std::launch::async, [&] { return WriterLease::Acquire(store_, options_); });
    auto ra = a.get(), rb = b.get();
    EXPECT_NE(ra.ok(), rb.ok()) << ra.status().ToString() << " / " << rb.status().ToString();
    for (auto* r : {&ra, &rb}) {
      if (!r->ok()) {
        EXPECT_EQ(r->status().code(), StatusCode::kBusy) << r->status().ToString();
      }
    }
  }
}

}  // namespace
}  // namespace dcmfs
