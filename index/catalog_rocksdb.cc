// The catalog on RocksDB. On-disk format: index/internal/codec.h. Writes:
// index/internal/add_instance.cc. This file holds the reads and the
// writer/follower plumbing.
#include <rocksdb/iterator.h>

#include <memory>
#include <mutex>

#include "base/log.h"

#include "index/catalog.h"
#include "index/internal/add_instance.h"
#include "index/internal/codec.h"
#include "index/internal/db.h"
#include "index/internal/image_headers.h"
#include "index/internal/log_publisher.h"
#include "index/writer_lease.h"

namespace dcmfs {
namespace {

using internal::Cf;
using internal::Db;
using internal::FromRocks;

rocksdb::Slice AsSlice(std::string_view s) { return {s.data(), s.size()}; }

class RocksCatalog final : public Catalog {
 public:
  explicit RocksCatalog(std::unique_ptr<Db> db) : db_(std::move(db)) {}
  using Catalog::AddInstance;

  // Writer with a shared index log: publishes from now on (index/index_log.h).
  void StartPublishing(const IndexLogOptions& options) {
    lease_ = options.lease;
    publisher_ = std::make_unique<internal::LogPublisher>(*db_, options, db_->path() + ".publish");
    // Resume (and publish what a killed writer left) before this writer
    // adds anything, so the store's end is compared with this database's
    // own; a store that is away now is retried by the thread.
    Status first = publisher_->PublishNow();
    if (!first.ok()) DCMFS_LOG(Warning) << "index log: " << first.ToString() << " (retrying)";
    publisher_->Start();
  }
  Db* db() const { return db_.get(); }

  Result<DirEntry> Lookup(InodeId parent, std::string_view name) const override {
    const std::string key = internal::DirentKey(parent, name);
    ASSIGN_OR_RETURN(std::optional<std::string> v, db_->Get(internal::kCfNames, key));
    if (!v) return Status::NotFound("no entry in folder " + std::to_string(parent));
    return internal::DecodeDirEntry(key, *v);
  }

  Status List(InodeId parent, std::string_view after,
              const std::function<bool(const DirEntry&)>& visit) const override {
    const std::string prefix = internal::ParentPrefix(parent);
    // parent < 2^63 (index/inode.h), so parent + 1 never wraps.
    const std::string upper = internal::ParentPrefix(parent + 1);
    const rocksdb::Slice upper_slice = AsSlice(upper);
    rocksdb::ReadOptions options;
    options.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(options, db_->cf(internal::kCfNames)));
    const std::string start = internal::DirentKey(parent, after);
    for (it->Seek(AsSlice(start)); it->Valid(); it->Next()) {
      if (!after.empty() && it->key() == AsSlice(start)) continue;
      ASSIGN_OR_RETURN(DirEntry e, internal::DecodeDirEntry(it->key().ToStringView(),
                                                            it->value().ToStringView()));
      if (!visit(e)) return Status::Ok();
    }
    return FromRocks(it->status(), "catalog list");
  }

  Result<PatientRecord> GetPatient(std::string_view key) const override {
    return GetRecord(internal::kCfPatients, key, internal::DecodePatient, "patient");
  }
  Result<StudyRecord> GetStudy(std::string_view uid) const override {
    return GetRecord(internal::kCfStudies, uid, internal::DecodeStudy, "study");
  }
  Result<SeriesRecord> GetSeries(std::string_view uid) const override {
    return GetRecord(internal::kCfSeries, uid, internal::DecodeSeries, "series");
  }

  Result<InstanceRecord> GetInstance(const Digest& digest) const override {
    ASSIGN_OR_RETURN(internal::BlobRecord blob,
                     GetRecord(internal::kCfBlobs, internal::DigestBytes(digest),
                               internal::DecodeBlob, "instance"));
    return GetRecord(internal::kCfInstances, internal::InstanceKey(blob.series_uid, digest),
                     internal::DecodeInstance, "instance");
  }

  Status ForEachInstanceInSeries(
      std::string_view series_uid,
      const std::function<bool(const InstanceRecord&)>& visit) const override {
    std::string prefix(series_uid);
    prefix.push_back('\0');
    return ScanInstances(prefix, visit);
  }

  Status ForEachInstance(const std::function<bool(const InstanceRecord&)>& visit) const override {
    return ScanInstances("", visit);
  }

  Result<Counts> GetCounts() const override {
    ASSIGN_OR_RETURN(std::optional<std::string> v,
                     db_->Get(internal::kCfMeta, internal::kCountsKey));
    if (!v) return Counts{};
    return internal::DecodeCounts(*v);
  }

  Status CatchUp() override {
    if (!db_->follower()) return Status::Ok();
    return FromRocks(db_->db()->TryCatchUpWithPrimary(), "catalog catch-up");
  }

  Status ForEachImageHeaderInSeries(
      std::string_view series_uid,
      const std::function<bool(const Digest&, std::string_view)>& visit) const override {
    return internal::ScanImageHeaders(*db_, series_uid, visit);
  }

  Result<AddResult> AddInstance(const Digest& digest, uint64_t size, const InstanceMeta& meta,
                                const ImageHeader* header) override {
    if (db_->follower()) return Status::InvalidArgument("catalog opened as a reader");
    if (meta.study_uid.empty() || meta.series_uid.empty() || meta.sop_uid.empty()) {
      return Status::InvalidArgument("instance lacks a study, series or SOP instance UID");
    }
    RETURN_IF_ERROR(StillTheWriter());
    std::lock_guard<std::mutex> lock(write_mu_);
    return internal::AddInstanceLocked(*db_, digest, size, meta, header);
  }

  Status Flush() override {
    if (db_->follower()) return Status::InvalidArgument("catalog opened as a reader");
    RETURN_IF_ERROR(FromRocks(db_->db()->FlushWAL(/*sync=*/true), "catalog flush"));
    // Callers acknowledge on Ok (the SCP, /incoming): a write this writer
    // can no longer publish must not be acknowledged.
    return StillTheWriter();
  }

  Status Publish() override {
    return publisher_ ? publisher_->PublishNow() : Status::Ok();
  }

 private:
  template <typename T>
  Result<T> GetRecord(Cf c, std::string_view key, Result<T> (*decode)(std::string_view),
                      const char* what) const {
    ASSIGN_OR_RETURN(std::optional<std::string> v, db_->Get(c, key));
    if (!v) return Status::NotFound(std::string("no such ") + what);
    return decode(*v);
  }

  Status ScanInstances(const std::string& prefix,
                       const std::function<bool(const InstanceRecord&)>& visit) const {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->db()->NewIterator(rocksdb::ReadOptions(), db_->cf(internal::kCfInstances)));
    for (it->Seek(AsSlice(prefix)); it->Valid() && it->key().starts_with(AsSlice(prefix));
         it->Next()) {
      ASSIGN_OR_RETURN(InstanceRecord rec, internal::DecodeInstance(it->value().ToStringView()));
      if (!visit(rec)) return Status::Ok();
    }
    return FromRocks(it->status(), "catalog scan");
  }

  std::unique_ptr<Db> db_;
  // Declared after db_: destroyed (and its last publication done) before it.
  // The fence on a shared archive: once another writer has taken the lease
  // (index/writer_lease.h), the publisher writes nothing more to the store,
  // so this catalog must refuse writes too: an instance indexed only here
  // would be acknowledged yet never seen by any mount.
  Status StillTheWriter() const {
    if (!lease_) return Status::Ok();
    Status held = lease_->Check();
    if (held.ok()) return held;
    return Status::Busy("refusing to index: " + held.message());
  }

  std::unique_ptr<internal::LogPublisher> publisher_;
  std::shared_ptr<WriterLease> lease_;
  std::mutex write_mu_;  // serialises AddInstance's read-modify-write of groups, series, counts
};

}  // namespace

Result<std::unique_ptr<Catalog>> Catalog::Open(const CatalogOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Db> db, Db::Open(options));
  auto catalog = std::make_unique<RocksCatalog>(std::move(db));
  if (options.publish.store && !options.read_only_follower) {
    catalog->StartPublishing(options.publish);
  }
  return std::unique_ptr<Catalog>(std::move(catalog));
}

namespace internal {
Db* DbOf(Catalog& catalog) {
  auto* rocks = dynamic_cast<RocksCatalog*>(&catalog);
  return rocks != nullptr ? rocks->db() : nullptr;
}
}  // namespace internal

}  // namespace dcmfs
