// The archive's index: a RocksDB catalog of patients, studies, series,
// instances, blobs and the directory entries (names) of the mounted tree.
//
// One process writes (ingest, reindex); any number of readers follow it as
// RocksDB secondary instances (the mount), calling CatchUp() to see new
// writes. Thread-safe: every method may be called concurrently; writes are
// serialised internally. RocksDB types never appear here.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "codecs/instance_meta.h"
#include "codecs/sha256.h"
#include "index/index_log_options.h"
#include "index/records.h"

namespace dcmfs {

struct ImageHeader;  // codecs/image_header.h

struct CatalogOptions {
  std::string path;  // ARCHIVE/index
  // Writer: opens (creating when allowed) the primary database.
  // Reader: opens a secondary that follows the writer; writes fail.
  bool read_only_follower = false;
  bool create_if_missing = false;
  // Reader only: where the secondary keeps its own logs (a private temp
  // folder when empty; removed on close).
  std::string secondary_path;
  // Writer only: publish every change to this object store as the shared
  // index log (index/index_log.h); no store = a local-only archive.
  IndexLogOptions publish;
};

// What AddInstance did.
enum class AddOutcome {
  kNew,              // a new instance
  kAlreadyPresent,   // the same bytes (same digest) were already indexed
  kNewConflicting,   // new bytes for a SOP Instance UID already indexed: both kept
};

struct AddResult {
  AddOutcome outcome = AddOutcome::kNew;
  // kNewConflicting: the digests of the other instances with this SOP UID.
  std::vector<Digest> conflicts_with;
};

class Catalog {
 public:
  // Errors: NotFound if the database is missing and !create_if_missing;
  // Busy if another writer holds it; IoError/Corruption from RocksDB.
  static Result<std::unique_ptr<Catalog>> Open(const CatalogOptions& options);
  virtual ~Catalog() = default;

  // --- The mounted tree -------------------------------------------------
  // NotFound if folder `parent` has no child `name`. `parent` is kPatientsIno,
  // kStudiesIno, or the inode of a patient/study/series folder.
  virtual Result<DirEntry> Lookup(InodeId parent, std::string_view name) const = 0;
  // Visits the children of `parent` in byte order of name, starting after
  // `after` ("" = from the first), until `visit` returns false. A prefix scan:
  // no cap on the number of entries, no full load.
  virtual Status List(InodeId parent, std::string_view after,
                      const std::function<bool(const DirEntry&)>& visit) const = 0;

  // --- Records ----------------------------------------------------------
  virtual Result<PatientRecord> GetPatient(std::string_view key) const = 0;
  virtual Result<StudyRecord> GetStudy(std::string_view uid) const = 0;
  virtual Result<SeriesRecord> GetSeries(std::string_view uid) const = 0;
  // NotFound if no instance has these bytes.
  virtual Result<InstanceRecord> GetInstance(const Digest& digest) const = 0;
  // Every instance of a series, in no particular order.
  virtual Status ForEachInstanceInSeries(
      std::string_view series_uid, const std::function<bool(const InstanceRecord&)>& visit) const = 0;
  // Every indexed instance (verify, stats).
  virtual Status ForEachInstance(const std::function<bool(const InstanceRecord&)>& visit) const = 0;
  // The image header records (codecs/image_header_record.h, decode with
  // DecodeImageHeader) kept for the series' instances, in digest order, until
  // `visit` returns false. Instances indexed without one (before records were
  // kept, or whose header did not parse) are not visited: read their blob.
  // This default (a catalog that keeps none) visits nothing.
  virtual Status ForEachImageHeaderInSeries(
      std::string_view /*series_uid*/,
      const std::function<bool(const Digest&, std::string_view record)>& /*visit*/) const {
    return Status::Ok();
  }

  struct Counts {
    uint64_t patients = 0, studies = 0, series = 0, instances = 0, bytes = 0;
  };
  virtual Result<Counts> GetCounts() const = 0;

  // Reader: catches up with the writer's latest writes. Writer: no-op.
  virtual Status CatchUp() = 0;

  // --- Writes (writer only; InvalidArgument on a reader) ----------------
  // Indexes one instance whose blob is already durable, in one WriteBatch:
  // instance, blob record, patient/study/series records (created or updated)
  // and the names in both views (renaming clashing siblings, see naming.h).
  // `header` (may be null) is the instance's parsed image header, kept in the
  // same batch for ForEachImageHeaderInSeries.
  virtual Result<AddResult> AddInstance(const Digest& digest, uint64_t size,
                                        const InstanceMeta& meta, const ImageHeader* header) = 0;
  Result<AddResult> AddInstance(const Digest& digest, uint64_t size, const InstanceMeta& meta) {
    return AddInstance(digest, size, meta, nullptr);
  }
  // Makes the writes so far durable (WAL sync). Called at the end of ingest.
  virtual Status Flush() = 0;
  // Writer with a shared index log (CatalogOptions::publish): puts every
  // change so far into the store now, the store's error if not (nothing is
  // lost: the next publication retries). Called at the end of an ingest run;
  // otherwise the writer publishes every IndexLogOptions::interval, so a
  // receiver's per-instance Flush() never waits for the store. No-op else.
  virtual Status Publish() { return Status::Ok(); }
};

}  // namespace dcmfs
