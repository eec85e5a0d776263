// Reader half of the shared index log (index/index_log.h): a local replica
// of the writer's catalog, built from a checkpoint and kept current by
// applying the log objects after its position.
//
// The position (writer database, last applied sequence, last log object
// read) is a key of the replica's default column family, written in the same
// WriteBatch as the changes it accounts for, so the replica and its position
// never disagree after a crash. Applying from an earlier point than needed
// is harmless in principle (batches are plain puts and deletes, so replaying
// a suffix in order converges), but batches at or below the position are
// skipped anyway, so nothing is applied twice.
#include <fcntl.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <vector>

#include "base/log.h"
#include "index/index_log.h"
#include "index/internal/db.h"
#include "index/internal/log_format.h"

namespace dcmfs {
namespace {

namespace stdfs = std::filesystem;
using internal::Db;
using internal::FromRocks;

constexpr std::string_view kPositionKey = "dcmfs-replica-position";
constexpr size_t kListBatch = 256;           // log keys listed per round trip
constexpr size_t kDownloadChunk = 4u << 20;  // bytes per ranged GET of a checkpoint file

struct Position {
  std::string db_id;
  uint64_t seq = 0;
  std::string cursor;  // the last log object read ("" = none yet)
};

std::string EncodePosition(const Position& p) {
  return p.db_id + "\n" + std::to_string(p.seq) + "\n" + p.cursor;
}

Result<Position> ReadPosition(Db& db) {
  ASSIGN_OR_RETURN(std::optional<std::string> v, db.Get(internal::kCfDefault, kPositionKey));
  Position p;
  if (!v) return p;
  std::istringstream in(*v);
  std::string seq;
  if (!std::getline(in, p.db_id) || !std::getline(in, seq) || seq.empty()) {
    return Status::Corruption(db.path() + ": malformed replica position");
  }
  std::getline(in, p.cursor);
  p.seq = std::stoull(seq);
  return p;
}

// Re-targets a writer batch at the replica's column families (ids differ
// between databases; names do not).
class Retarget final : public rocksdb::WriteBatch::Handler {
 public:
  Retarget(const std::map<uint32_t, std::string>& families, const Db& db, rocksdb::WriteBatch* out)
      : out_(out) {
    for (const auto& [id, name] : families) {
      for (auto* h : db.handles()) {
        if (h->GetName() == name) map_[id] = h;
      }
    }
  }
  rocksdb::Status PutCF(uint32_t id, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
    auto* h = Find(id);
    return h != nullptr ? out_->Put(h, k, v) : Missing(id);
  }
  rocksdb::Status DeleteCF(uint32_t id, const rocksdb::Slice& k) override {
    auto* h = Find(id);
    return h != nullptr ? out_->Delete(h, k) : Missing(id);
  }
  rocksdb::Status SingleDeleteCF(uint32_t id, const rocksdb::Slice& k) override {
    auto* h = Find(id);
    return h != nullptr ? out_->SingleDelete(h, k) : Missing(id);
  }
  rocksdb::Status DeleteRangeCF(uint32_t id, const rocksdb::Slice& b,
                                const rocksdb::Slice& e) override {
    auto* h = Find(id);
    return h != nullptr ? out_->DeleteRange(h, b, e) : Missing(id);
  }
  rocksdb::Status MergeCF(uint32_t id, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
    auto* h = Find(id);
    return h != nullptr ? out_->Merge(h, k, v) : Missing(id);
  }
  void LogData(const rocksdb::Slice&) override {}

 private:
  rocksdb::ColumnFamilyHandle* Find(uint32_t id) const {
    auto it = map_.find(id);
    return it == map_.end() ? nullptr : it->second;
  }
  static rocksdb::Status Missing(uint32_t id) {
    return rocksdb::Status::Corruption("column family " + std::to_string(id) +
                                       " of the writer is unknown to the replica");
  }
  std::map<uint32_t, rocksdb::ColumnFamilyHandle*> map_;
  rocksdb::WriteBatch* out_;
};

// Streams one object to `path` in ranged GETs (memory: one chunk), fsynced.
Status Download(const ObjectStore& store, const internal::CheckpointFile& f,
                const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("create " + path, errno);
  std::vector<uint8_t> buf(std::min<uint64_t>(kDownloadChunk, std::max<uint64_t>(f.size, 1)));
  uint64_t offset = 0;
  Status s;
  while (s.ok() && offset < f.size) {
    Result<size_t> n = store.GetRange(f.key, offset, buf);
    if (!n.ok()) {
      s = n.status();
    } else if (*n == 0) {
      s = Status::Corruption(store.Describe(f.key) + ": shorter than its FILES entry");
    } else if (::write(fd, buf.data(), *n) != static_cast<ssize_t>(*n)) {
      s = Status::FromErrno("write " + path, errno);
    } else {
      offset += *n;
    }
  }
  if (s.ok() && ::fsync(fd) != 0) s = Status::FromErrno("fsync " + path, errno);
  ::close(fd);
  return s;
}

class ReplicaCatalog final : public Catalog {
 public:
  ReplicaCatalog(ReplicaOptions options, std::unique_ptr<Catalog> inner)
      : options_(std::move(options)), inner_(std::move(inner)) {}
  using Catalog::AddInstance;

  // --- Reads: the replica as it stands --------------------------------
  Result<DirEntry> Lookup(InodeId parent, std::string_view name) const override {
    std::shared_lock lock(mu_);
    return inner_->Lookup(parent, name);
  }
  Status List(InodeId parent, std::string_view after,
              const std::function<bool(const DirEntry&)>& visit) const override {
    std::shared_lock lock(mu_);
    return inner_->List(parent, after, visit);
  }
  Result<PatientRecord> GetPatient(std::string_view key) const override {
    std::shared_lock lock(mu_);
    return inner_->GetPatient(key);
  }
  Result<StudyRecord> GetStudy(std::string_view uid) const override {
    std::shared_lock lock(mu_);
    return inner_->GetStudy(uid);
  }
  Result<SeriesRecord> GetSeries(std::string_view uid) const override {
    std::shared_lock lock(mu_);
    return inner_->GetSeries(uid);
  }
  Result<InstanceRecord> GetInstance(const Digest& digest) const override {
    std::shared_lock lock(mu_);
    return inner_->GetInstance(digest);
  }
  Status ForEachInstanceInSeries(
      std::string_view series_uid,
      const std::function<bool(const InstanceRecord&)>& visit) const override {
    std::shared_lock lock(mu_);
    return inner_->ForEachInstanceInSeries(series_uid, visit);
  }
  Status ForEachInstance(const std::function<bool(const InstanceRecord&)>& visit) const override {
    std::shared_lock lock(mu_);
    return inner_->ForEachInstance(visit);
  }
  Result<Counts> GetCounts() const override {
    std::shared_lock lock(mu_);
    return inner_->GetCounts();
  }

  // --- Following the writer ---------------------------------------------
  // Polls the store unless a failure's back-off is still running.
  Status CatchUp() override {
    std::lock_guard<std::mutex> lock(poll_mu_);
    const auto now = std::chrono::steady_clock::now();
    if (now < retry_at_) return Status::Ok();
    Status s = PollLocked();
    if (s.ok()) {
      delay_ = std::chrono::milliseconds(0);
      return s;
    }
    delay_ = std::clamp(delay_ * 2, options_.retry_min, options_.retry_max);
    retry_at_ = now + delay_;
    return s.WithContext("index replica (next try in " + std::to_string(delay_.count()) + " ms)");
  }

  Status ForEachImageHeaderInSeries(
      std::string_view series_uid,
      const std::function<bool(const Digest&, std::string_view)>& visit) const override {
    std::shared_lock lock(mu_);
    return inner_->ForEachImageHeaderInSeries(series_uid, visit);
  }

  Result<AddResult> AddInstance(const Digest&, uint64_t, const InstanceMeta&,
                                const ImageHeader*) override {
    return ReadOnly();
  }
  Status Flush() override { return ReadOnly(); }

  ReplicaPosition position() const {
    std::lock_guard<std::mutex> lock(poll_mu_);
    return {pos_.db_id, pos_.seq, checkpoints_loaded_, objects_applied_};
  }

  Status Init() {
    std::lock_guard<std::mutex> lock(poll_mu_);
    ASSIGN_OR_RETURN(pos_, ReadPosition(*internal::DbOf(*inner_)));
    if (pos_.db_id.empty()) {
      ASSIGN_OR_RETURN(Counts counts, inner_->GetCounts());
      if (counts.instances > 0) {
        return Status::InvalidArgument(options_.index_path +
                                       " holds an index that is not a replica of the store; "
                                       "use an archive folder of its own to follow it");
      }
    }
    return Status::Ok();
  }

 private:
  Status ReadOnly() const {
    return Status::InvalidArgument("this archive follows " +
                                   options_.log.store->Describe(options_.log.prefix) +
                                   " read-only; ingest on the archive's writer");
  }

  Status PollLocked() {
    ObjectStore& store = *options_.log.store;
    const std::string latest_key = internal::LatestKey(options_.log.prefix);
    Result<std::string> bytes = store.Get(latest_key);
    if (!bytes.ok() && bytes.status().IsNotFound()) return Status::Ok();  // nothing published yet
    if (!bytes.ok()) return bytes.status();
    ASSIGN_OR_RETURN(internal::LatestRecord latest,
                     internal::DecodeLatest(*bytes, store.Describe(latest_key)));
    if (pos_.db_id != latest.db_id) RETURN_IF_ERROR(LoadCheckpointLocked(latest));
    return ApplyLogLocked(latest, /*may_reload=*/true);
  }

  // Applies the log objects after the cursor, in key (= sequence) order.
  Status ApplyLogLocked(const internal::LatestRecord& latest, bool may_reload) {
    ObjectStore& store = *options_.log.store;
    const std::string dir = internal::LogDir(options_.log.prefix, pos_.db_id);
    for (;;) {
      std::vector<std::string> keys;
      RETURN_IF_ERROR(store.List(dir, pos_.cursor, [&](const ObjectInfo& info) {
        keys.push_back(info.key);
        return keys.size() < kListBatch;
      }));
      for (const std::string& key : keys) {
        ASSIGN_OR_RETURN(std::string object_bytes, store.Get(key));
        ASSIGN_OR_RETURN(internal::LogObject object,
                         internal::DecodeLogObject(object_bytes, store.Describe(key)));
        if (object.records.front().seq > pos_.seq + 1) {
          // Batches between are in no object (the writer lost its WAL, or
          // old objects were removed): only a newer checkpoint can help.
          if (!may_reload || latest.seq < object.records.front().seq - 1) {
            return Status::Corruption(store.Describe(key) + ": log gap after sequence " +
                                      std::to_string(pos_.seq));
          }
          DCMFS_LOG(Warning) << "index replica: log gap after " << pos_.seq
                             << "; loading the newest checkpoint";
          RETURN_IF_ERROR(LoadCheckpointLocked(latest));
          return ApplyLogLocked(latest, /*may_reload=*/false);
        }
        RETURN_IF_ERROR(ApplyObjectLocked(object, key));
      }
      if (keys.size() < kListBatch) return Status::Ok();
    }
  }

  // One local WriteBatch: the object's new batches plus the new position.
  Status ApplyObjectLocked(const internal::LogObject& object, const std::string& key) {
    Db& db = *internal::DbOf(*inner_);
    rocksdb::WriteBatch out;
    Retarget retarget(object.families, db, &out);
    Position next = pos_;
    for (const internal::LogRecord& r : object.records) {
      if (r.last() <= next.seq) continue;  // already in the checkpoint or applied
      if (r.seq != next.seq + 1) {
        return Status::Corruption(options_.log.store->Describe(key) + ": batch at " +
                                  std::to_string(r.seq) + " straddles position " +
                                  std::to_string(next.seq));
      }
      rocksdb::WriteBatch batch(r.rep);
      RETURN_IF_ERROR(FromRocks(batch.Iterate(&retarget),
                                "index replica: " + options_.log.store->Describe(key)));
      next.seq = r.last();
    }
    next.cursor = key;
    const std::string value = EncodePosition(next);
    RETURN_IF_ERROR(FromRocks(out.Put(db.cf(internal::kCfDefault), kPositionKey, value),
                              "index replica batch"));
    RETURN_IF_ERROR(
        FromRocks(db.db()->Write(rocksdb::WriteOptions(), &out), "index replica write"));
    pos_ = std::move(next);
    ++objects_applied_;
    return Status::Ok();
  }

  // Downloads the checkpoint LATEST names into index.download, records its
  // position there, and swaps it in for the replica.
  Status LoadCheckpointLocked(const internal::LatestRecord& latest) {
    ObjectStore& store = *options_.log.store;
    ASSIGN_OR_RETURN(std::string files_bytes, store.Get(latest.files_key));
    ASSIGN_OR_RETURN(std::vector<internal::CheckpointFile> files,
                     internal::DecodeFiles(files_bytes, store.Describe(latest.files_key)));
    const std::string download = options_.index_path + ".download";
    std::error_code ec;
    stdfs::remove_all(download, ec);
    stdfs::create_directories(download, ec);
    if (ec) return Status::IoError("mkdir " + download + ": " + ec.message());
    for (const internal::CheckpointFile& f : files) {
      RETURN_IF_ERROR(Download(store, f, download + "/" + f.name));
    }
    const Position fresh{latest.db_id, latest.seq, latest.log_after};
    {
      CatalogOptions o;
      o.path = download;
      ASSIGN_OR_RETURN(std::unique_ptr<Catalog> opened, Catalog::Open(o));
      Db& db = *internal::DbOf(*opened);
      rocksdb::WriteOptions sync;
      sync.sync = true;
      RETURN_IF_ERROR(FromRocks(db.db()->Put(sync, db.cf(internal::kCfDefault), kPositionKey,
                                             EncodePosition(fresh)),
                                "index replica: position"));
    }
    RETURN_IF_ERROR(SwapIn(download));
    pos_ = fresh;
    ++checkpoints_loaded_;
    DCMFS_LOG(Info) << "index replica: loaded checkpoint at sequence " << latest.seq << " ("
                    << files.size() << " files)";
    return Status::Ok();
  }

  // Readers wait for the swap (a few renames); a crash between the renames is
  // undone by the next open (index.old is put back, see index/internal/db.cc).
  Status SwapIn(const std::string& download) {
    std::unique_lock lock(mu_);
    const std::string& path = options_.index_path;
    const std::string old = path + ".old";
    std::error_code ec;
    inner_.reset();
    stdfs::remove_all(old, ec);
    Status s;
    if (::rename(path.c_str(), old.c_str()) != 0) s = Status::FromErrno("rename " + path, errno);
    if (s.ok() && ::rename(download.c_str(), path.c_str()) != 0) {
      s = Status::FromErrno("rename " + download, errno);
    }
    CatalogOptions o;
    o.path = path;
    Result<std::unique_ptr<Catalog>> reopened = Catalog::Open(o);  // also restores .old on failure
    if (!reopened.ok()) return reopened.status();
    inner_ = std::move(reopened).value();
    stdfs::remove_all(old, ec);
    return s;
  }

  const ReplicaOptions options_;
  mutable std::shared_mutex mu_;  // guards inner_ (exclusive only to swap it); after poll_mu_
  std::unique_ptr<Catalog> inner_;

  mutable std::mutex poll_mu_;  // serialises polls; guards everything below
  Position pos_;
  uint64_t checkpoints_loaded_ = 0, objects_applied_ = 0;
  std::chrono::milliseconds delay_{0};
  std::chrono::steady_clock::time_point retry_at_{};
};

}  // namespace

Result<std::unique_ptr<Catalog>> OpenReplicaCatalog(const ReplicaOptions& options) {
  if (!options.log.store) return Status::InvalidArgument("index replica: no object store");
  CatalogOptions o;
  o.path = options.index_path;
  o.create_if_missing = true;
  ASSIGN_OR_RETURN(std::unique_ptr<Catalog> inner, Catalog::Open(o));
  auto replica = std::make_unique<ReplicaCatalog>(options, std::move(inner));
  RETURN_IF_ERROR(replica->Init());
  Status first = replica->CatchUp();
  if (!first.ok()) DCMFS_LOG(Warning) << first.ToString() << "; serving the local replica";
  return std::unique_ptr<Catalog>(std::move(replica));
}

Result<ReplicaPosition> GetReplicaPosition(const Catalog& catalog) {
  const auto* replica = dynamic_cast<const ReplicaCatalog*>(&catalog);
  if (replica == nullptr) return Status::NotFound("not an index replica");
  return replica->position();
}

}  // namespace dcmfs
