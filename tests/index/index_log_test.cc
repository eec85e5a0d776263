// The shared index log against a directory object store: what a reader that
// knows only the store builds must equal the writer's catalog, whatever
// happened in between (writer killed before publishing, checkpoints, a new
// database, a store that is away).
#include "index/index_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "index/internal/log_format.h"
#include "index/object_store_dir.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

using testing::TempDir;

InstanceMeta Meta(int patient, int study, int series, int instance) {
  InstanceMeta m;
  m.patient_name = "Doe^P" + std::to_string(patient);
  m.patient_id = std::to_string(patient);
  m.study_uid = "1.2.3." + std::to_string(patient) + "." + std::to_string(study);
  m.study_date = "20240131";
  m.study_description = "CT";
  m.series_uid = m.study_uid + "." + std::to_string(series);
  // Two series per study share number and description: their names clash,
  // so later batches rename (delete + put) earlier entries.
  m.series_number = 1;
  m.modality = "CT";
  m.series_description = "Axial";
  m.sop_uid = m.series_uid + "." + std::to_string(instance);
  m.instance_number = instance;
  return m;
}

Digest D(int i) { return Sha256("instance " + std::to_string(i)); }

// Adds instances [from, to), spread over patients, studies and series.
void AddRange(Catalog& c, int from, int to) {
  for (int i = from; i < to; ++i) {
    auto r = c.AddInstance(D(i), 100 + i, Meta(i % 3, i % 5, i % 2, i));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
}

void Walk(const Catalog& c, InodeId ino, const std::string& path,
          std::map<std::string, std::string>* out) {
  ASSERT_TRUE(c.List(ino, "", [&](const DirEntry& e) {
                 (*out)[path + "/" + e.name] = std::to_string(e.ino) + " " + e.ref + " " +
                                               std::to_string(e.size) + " " +
                                               std::to_string(e.mtime);
                 if (e.kind != NodeKind::kInstance) Walk(c, e.ino, path + "/" + e.name, out);
                 return true;
               }).ok());
}

// Both views, every instance record and the counts: what the mount shows.
std::map<std::string, std::string> Snapshot(const Catalog& c) {
  std::map<std::string, std::string> out;
  Walk(c, kPatientsIno, "/patients", &out);
  Walk(c, kStudiesIno, "/studies", &out);
  EXPECT_TRUE(c.ForEachInstance([&](const InstanceRecord& r) {
                 out["instance " + ToHex(r.digest)] = r.meta.sop_uid + " " + std::to_string(r.size);
                 return true;
               }).ok());
  auto counts = c.GetCounts();
  EXPECT_TRUE(counts.ok());
  out["counts"] = std::to_string(counts->patients) + " " + std::to_string(counts->studies) + " " +
                  std::to_string(counts->series) + " " + std::to_string(counts->instances) + " " +
                  std::to_string(counts->bytes);
  return out;
}

class IndexLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenDirectoryObjectStore(tmp_.Sub("bucket"));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  std::unique_ptr<Catalog> OpenWriter(const std::string& name, bool publish = true,
                                      uint64_t checkpoint_every = 64u << 20,
                                      std::chrono::milliseconds interval = std::chrono::hours(1)) {
    CatalogOptions o;
    o.path = tmp_.Sub(name);
    o.create_if_missing = true;
    if (publish) {
      o.publish.store = store_;
      o.publish.interval = interval;  // by default tests publish with Publish()
      o.publish.checkpoint_every_bytes = checkpoint_every;
    }
    auto c = Catalog::Open(o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  std::unique_ptr<Catalog> OpenReplica(const std::string& name,
                                       std::shared_ptr<ObjectStore> store = nullptr) {
    ReplicaOptions o;
    o.log.store = store ? store : store_;
    o.index_path = tmp_.Sub(name);
    o.retry_min = std::chrono::milliseconds(1);
    o.retry_max = std::chrono::milliseconds(1);
    auto c = OpenReplicaCatalog(o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  // Every batch in the log, by first sequence number, read with the format's
  // own decoder: overlaps would mean a batch published twice.
  std::vector<std::pair<uint64_t, uint64_t>> LoggedRanges() {
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    EXPECT_TRUE(store_->List("index/log/", "", [&](const ObjectInfo& info) {
                       auto object = internal::DecodeLogObject(*store_->Get(info.key), info.key);
                       EXPECT_TRUE(object.ok()) << object.status().ToString();
                       for (const auto& r : object->records) ranges.emplace_back(r.seq, r.last());
                       return true;
                     }).ok());
    return ranges;
  }

  TempDir tmp_;
  std::shared_ptr<ObjectStore> store_;
};

TEST_F(IndexLogTest, ReplicaFollowsTheWriterThroughTheStoreAlone) {
  auto writer = OpenWriter("w/index");
  ASSERT_NE(writer, nullptr);
  AddRange(*writer, 0, 40);
  ASSERT_TRUE(writer->Publish().ok());
  EXPECT_TRUE(store_->Head("index/LATEST")->has_value());

  auto reader = OpenReplica("r/index");
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(Snapshot(*reader), Snapshot(*writer));
  EXPECT_EQ(Snapshot(*reader).size(), Snapshot(*writer).size());

  AddRange(*writer, 40, 70);
  ASSERT_TRUE(writer->Publish().ok());
  EXPECT_NE(Snapshot(*reader), Snapshot(*writer));  // not before it polls
  ASSERT_TRUE(reader->CatchUp().ok());
  EXPECT_EQ(Snapshot(*reader), Snapshot(*writer));
  auto pos = GetReplicaPosition(*reader);
  ASSERT_TRUE(pos.ok());
  EXPECT_EQ(pos->checkpoints_loaded, 1u);
  EXPECT_GE(pos->objects_applied, 1u);

  // Writes are refused with a reason.
  auto add = reader->AddInstance(D(999), 1, Meta(1, 1, 1, 999));
  EXPECT_EQ(add.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(add.status().message().find("read-only"), std::string::npos);
}

TEST_F(IndexLogTest, ARunningWriterPublishesWithinItsInterval) {
  // What the SCP and /incoming rely on: no Publish() call, only the thread.
  auto writer = OpenWriter("w/index", true, 64u << 20, std::chrono::milliseconds(200));
  auto reader = OpenReplica("r/index");
  AddRange(*writer, 0, 5);
  ASSERT_TRUE(writer->Flush().ok());
  // The interval is 200 ms; the first publication also uploads a checkpoint,
  // which under ASan on a loaded CI machine takes a good part of a second.
  // 5 s (25 intervals) still fails a thread that never publishes or ignores
  // the interval for a long one; the loop runs longer to tell slow from never.
  const auto start = std::chrono::steady_clock::now();
  while (reader->GetCounts()->instances < 5 &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(20)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(reader->CatchUp().ok());
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(Snapshot(*reader), Snapshot(*writer));
  EXPECT_LT(took, std::chrono::seconds(5))
      << std::chrono::duration<double>(took).count() << " s";
  std::printf("shown by the replica %.2f s after the flush\n",
              std::chrono::duration<double>(took).count());
}

TEST_F(IndexLogTest, ReaderOfAnEmptyBucketShowsNothingThenFollows) {
  auto reader = OpenReplica("r/index");
  ASSERT_NE(reader, nullptr);
  auto counts = reader->GetCounts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->instances, 0u);
  ASSERT_TRUE(reader->CatchUp().ok());

  auto writer = OpenWriter("w/index");
  AddRange(*writer, 0, 10);
  ASSERT_TRUE(writer->Publish().ok());
  ASSERT_TRUE(reader->CatchUp().ok());
  EXPECT_EQ(Snapshot(*reader), Snapshot(*writer));
  EXPECT_EQ(reader->GetCounts()->instances, 10u);
}

TEST_F(IndexLogTest, WriterKilledBeforePublishingLosesNothingAndRepeatsNothing) {
  {
    auto writer = OpenWriter("w/index");
    AddRange(*writer, 0, 20);
    ASSERT_TRUE(writer->Publish().ok());
  }
  {
    // Committed locally, never published: what a writer killed between its
    // WAL write and its next publication leaves behind.
    auto unpublished = OpenWriter("w/index", /*publish=*/false);
    AddRange(*unpublished, 20, 35);
    ASSERT_TRUE(unpublished->Flush().ok());
  }
  auto reader = OpenReplica("r/index");
  EXPECT_EQ(reader->GetCounts()->instances, 20u);

  auto writer = OpenWriter("w/index");  // resumes from the store's last sequence
  AddRange(*writer, 35, 40);
  ASSERT_TRUE(writer->Publish().ok());
  ASSERT_TRUE(reader->CatchUp().ok());
  EXPECT_EQ(Snapshot(*reader), Snapshot(*writer));
  EXPECT_EQ(reader->GetCounts()->instances, 40u);

  // The log is one gap-free chain of batches, none published twice.
  auto ranges = LoggedRanges();
  ASSERT_FALSE(ranges.empty());
  for (size_t i = 1; i < ranges.size(); ++i) {
    EXPECT_EQ(ranges[i].first, ranges[i - 1].second + 1) << "batch " << i;
  }
}

TEST_F(IndexLogTest, NewReaderLoadsTheNewestCheckpointAndOnlyTheLogAfterIt) {
  // A checkpoint after every ~2 KiB of log: one per round below.
  auto writer = OpenWriter("w/index", true, /*checkpoint_every=*/2048);
  auto early = OpenReplica("early/index");
  std::unique_ptr<Catalog> stale;
  for (int round = 0; round < 6; ++round) {
    AddRange(*writer, round * 10, round * 10 + 10);
    ASSERT_TRUE(writer->Publish().ok());
    ASSERT_TRUE(early->CatchUp().ok());
    if (round == 0) stale = OpenReplica("stale/index");  // then never polls until the end
  }
  // Old checkpoints, their tables and the log before the older kept one are gone.
  std::set<std::string> checkpoints;
  ASSERT_TRUE(store_->List("index/checkpoints/", "", [&](const ObjectInfo& i) {
                 checkpoints.insert(i.key.substr(0, i.key.rfind('/')));
                 return true;
               }).ok());
  EXPECT_EQ(checkpoints.size(), 2u);
  EXPECT_GT(LoggedRanges().front().first, 1u);

  auto late = OpenReplica("late/index");
  EXPECT_EQ(Snapshot(*late), Snapshot(*writer));
  EXPECT_EQ(Snapshot(*early), Snapshot(*writer));
  // The reader that followed all along never needed more than its first checkpoint.
  EXPECT_EQ(GetReplicaPosition(*early)->checkpoints_loaded, 1u);
  EXPECT_EQ(GetReplicaPosition(*late)->checkpoints_loaded, 1u);
  EXPECT_LT(GetReplicaPosition(*late)->objects_applied,
            GetReplicaPosition(*early)->objects_applied);
  // One that fell behind the removed log finds the gap and loads the newest checkpoint.
  ASSERT_TRUE(stale->CatchUp().ok());
  EXPECT_EQ(Snapshot(*stale), Snapshot(*writer));
  EXPECT_EQ(GetReplicaPosition(*stale)->checkpoints_loaded, 2u);
}

TEST_F(IndexLogTest, ANewWriterDatabaseIsANewHistoryReadersSwitchTo) {
  auto reader = OpenReplica("r/index");
  {
    auto writer = OpenWriter("w/index");
    AddRange(*writer, 0, 10);
    ASSERT_TRUE(writer->Publish().ok());
  }
  ASSERT_TRUE(reader->CatchUp().ok());
  const std::string first_db = GetReplicaPosition(*reader)->db_id;
  // What `dcmfs reindex` does: a new database with (here) other contents.
  auto rebuilt = OpenWriter("w2/index");
  AddRange(*rebuilt, 5, 25);
  ASSERT_TRUE(rebuilt->Publish().ok());
  ASSERT_TRUE(reader->CatchUp().ok());
  EXPECT_NE(GetReplicaPosition(*reader)->db_id, first_db);
  EXPECT_EQ(Snapshot(*reader), Snapshot(*rebuilt));
  EXPECT_EQ(GetReplicaPosition(*reader)->checkpoints_loaded, 2u);
}

// A store that can be switched off: every call fails as an unreachable
// gateway's would (IoError), the files stay where they are.
class SwitchableStore final : public ObjectStore {
 public:
  explicit SwitchableStore(std::shared_ptr<ObjectStore> inner) : inner_(std::move(inner)) {}
  std::atomic<bool> down{false};
  Status Put(const std::string& k, std::span<const uint8_t> b) override {
    return down ? Away(k) : inner_->Put(k, b);
  }
  Status PutFile(const std::string& k, const std::string& p) override {
    return down ? Away(k) : inner_->PutFile(k, p);
  }
  Result<std::string> Get(const std::string& k) const override {
    if (down) return Away(k);
    return inner_->Get(k);
  }
  Result<size_t> GetRange(const std::string& k, uint64_t o, std::span<uint8_t> out) const override {
    if (down) return Away(k);
    return inner_->GetRange(k, o, out);
  }
  Result<std::optional<uint64_t>> Head(const std::string& k) const override {
    if (down) return Away(k);
    return inner_->Head(k);
  }
  Status List(const std::string& p, const std::string& a,
              const std::function<bool(const ObjectInfo&)>& v) const override {
    return down ? Away(p) : inner_->List(p, a, v);
  }
  Status Delete(const std::string& k) override { return down ? Away(k) : inner_->Delete(k); }
  std::string Describe(const std::string& k) const override { return inner_->Describe(k); }

 private:
  Status Away(const std::string& k) const { return Status::IoError(Describe(k) + ": unreachable"); }
  std::shared_ptr<ObjectStore> inner_;
};

TEST_F(IndexLogTest, StoreAwayKeepsWhatIsIndexedAndRecovers) {
  auto writer = OpenWriter("w/index");
  AddRange(*writer, 0, 10);
  ASSERT_TRUE(writer->Publish().ok());
  auto flaky = std::make_shared<SwitchableStore>(store_);
  auto reader = OpenReplica("r/index", flaky);
  const auto before = Snapshot(*reader);
  EXPECT_EQ(before, Snapshot(*writer));

  AddRange(*writer, 10, 20);
  ASSERT_TRUE(writer->Publish().ok());
  flaky->down = true;
  Status s = reader->CatchUp();
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("unreachable"), std::string::npos) << s.message();
  EXPECT_EQ(Snapshot(*reader), before);  // metadata already applied keeps working

  flaky->down = false;
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // past the back-off
  ASSERT_TRUE(reader->CatchUp().ok());
  EXPECT_EQ(Snapshot(*reader), Snapshot(*writer));
}

TEST_F(IndexLogTest, ACorruptLogObjectIsRefusedByNameAndNothingOfItApplied) {
  auto writer = OpenWriter("w/index");
  AddRange(*writer, 0, 5);
  ASSERT_TRUE(writer->Publish().ok());
  auto reader = OpenReplica("r/index");
  const auto before = Snapshot(*reader);
  AddRange(*writer, 5, 10);
  ASSERT_TRUE(writer->Publish().ok());
  std::string newest;
  ASSERT_TRUE(store_->List("index/log/", "", [&](const ObjectInfo& i) {
                 newest = i.key;
                 return true;
               }).ok());
  std::string bytes = *store_->Get(newest);
  bytes[bytes.size() / 2] ^= 0x40;
  ASSERT_TRUE(
      store_->Put(newest, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}).ok());
  Status s = reader->CatchUp();
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find(newest), std::string::npos) << s.message();
  EXPECT_EQ(Snapshot(*reader), before);
}

TEST_F(IndexLogTest, TheArchiveSecretIsOneForAllWorkstations) {
  const std::string secret(32, '\x5a');
  testing::WriteFileOrDie(tmp_.Sub("w/secret"), secret);
  testing::WriteFileOrDie(tmp_.Sub("r/dcmfs.conf"), "");  // the reader's archive folder
  EXPECT_TRUE(FetchArchiveSecret(*store_, tmp_.Sub("r/secret")).IsNotFound());
  ASSERT_TRUE(ShareArchiveSecret(*store_, tmp_.Sub("w/secret")).ok());
  Status fetched = FetchArchiveSecret(*store_, tmp_.Sub("r/secret"));
  ASSERT_TRUE(fetched.ok()) << fetched.ToString();
  EXPECT_EQ(testing::ReadFileOrEmpty(tmp_.Sub("r/secret")), secret);
  struct stat st;
  ASSERT_EQ(::stat(tmp_.Sub("r/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A second writer workstation without a secret adopts the store's ...
  testing::WriteFileOrDie(tmp_.Sub("w3/dcmfs.conf"), "");
  ASSERT_TRUE(ShareArchiveSecret(*store_, tmp_.Sub("w3/secret")).ok());
  EXPECT_EQ(testing::ReadFileOrEmpty(tmp_.Sub("w3/secret")), secret);
  // ... and one with a different secret is refused, not overwritten.
  testing::WriteFileOrDie(tmp_.Sub("w4/secret"), std::string(32, '\x01'));
  EXPECT_EQ(ShareArchiveSecret(*store_, tmp_.Sub("w4/secret")).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(*store_->Get(kSecretKey), secret);
}

}  // namespace
}  // namespace dcmfs
