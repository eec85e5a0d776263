// Storing instances one at a time, each durable when the call returns: for
// callers that acknowledge every instance to someone (the DICOM Storage SCP,
// a file closed in /incoming). IngestPaths (index/ingest.h) is for batches and
// syncs once at the end; a Receiver syncs before every return, and concurrent
// calls share one WAL sync (group commit), so N associations sending at once
// cost far fewer than N syncs.
//
// Order per instance, as in ingest (docs/semantics.md, "Crash safety"): blob
// durable, then the catalog batch, then the WAL synced; only then Ok. A file
// that is not a placeable DICOM instance is kept in the quarantine and
// reported as kQuarantined with the reason (not an error: nothing was lost).
//
// Thread-safe. The catalog must be the writer (Catalog::Open without
// read_only_follower); Catalog and BlobStore must outlive the Receiver.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "codecs/image_header.h"
#include "index/blob_store.h"
#include "index/catalog.h"
#include "index/ingest.h"

namespace dcmfs {

enum class ReceiveOutcome {
  kNew,             // stored and indexed
  kAlreadyPresent,  // the same bytes were already in the archive
  kNewConflicting,  // new bytes for a SOP Instance UID already indexed: both kept
  kQuarantined,     // not a placeable DICOM instance: kept in quarantine/
};

struct ReceiveResult {
  ReceiveOutcome outcome = ReceiveOutcome::kNew;
  std::string reason;   // kQuarantined: why
  std::string kept_as;  // kQuarantined: where its bytes are, relative to ARCHIVE
  std::string digest_hex;
  uint64_t size = 0;
};

struct ReceiverCounters {
  uint64_t new_instances = 0, already_present = 0, conflicts = 0, quarantined = 0;
  uint64_t bytes = 0;  // of new instances
  uint64_t wal_syncs = 0;
};

class Receiver {
 public:
  Receiver(Catalog& catalog, BlobStore& blobs, std::string quarantine_dir);

  // Stores the file at `path` (`source` names it in quarantine notes and
  // logs). Errors: only failures of the archive (IoError, Busy, ...) or an
  // unreadable `path`; bad DICOM is a kQuarantined result.
  Result<ReceiveResult> ReceiveFile(const std::string& path, std::string_view source);

  ReceiverCounters counters() const;

 private:
  Result<ReceiveResult> ReceiveSmall(const std::string& path, std::string_view source);
  Result<ReceiveResult> ReceiveLarge(const std::string& path, std::string_view source);
  Result<ReceiveResult> Index(const Digest& digest, uint64_t size, const InstanceMeta& meta,
                              const std::optional<ImageHeader>& header);
  // Returns once every catalog write made before the call is in the synced WAL.
  Status MakeDurable();

  Catalog& catalog_;
  BlobStore& blobs_;
  const Quarantine quarantine_;

  std::atomic<uint64_t> writes_{0};  // catalog writes issued
  std::mutex sync_mu_;               // one WAL sync at a time
  uint64_t synced_ = 0;              // GUARDED_BY(sync_mu_): writes covered by a sync

  std::atomic<uint64_t> new_{0}, present_{0}, conflicts_{0}, quarantined_{0}, bytes_{0},
      syncs_{0};
};

}  // namespace dcmfs
