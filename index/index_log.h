// The shared index log: how one writer's catalog reaches every workstation
// through the object store alone (docs/semantics.md, "One archive, many
// mounts"; object layout in index/internal/log_format.h).
//
// Writer: a Catalog opened with CatalogOptions::publish set publishes every
// committed WriteBatch, in order, as numbered log objects, and now and then a
// RocksDB checkpoint plus index/LATEST naming it. Catalog::Flush() (end of
// every ingest run) publishes synchronously; a background thread publishes at
// least every `interval` while the writer is open; closing publishes the rest.
// A killed writer loses nothing: its WAL is kept (WAL_ttl_seconds and
// WAL_size_limit_MB), and the next writer resumes after the last sequence
// number found in the store (or publishes a checkpoint if the WAL is gone).
//
// Reader: OpenReplicaCatalog keeps a local replica in ARCHIVE/index that it
// alone writes; its CatchUp() downloads the newest checkpoint when the
// replica has none (or the writer's database was replaced, e.g. by reindex)
// and applies the log objects after the replica's position, one object per
// local WriteBatch together with the new position, so a killed reader neither
// loses nor applies twice. Writes to a replica fail with InvalidArgument.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "index/catalog.h"
#include "index/index_log_options.h"
#include "index/object_store.h"

namespace dcmfs {

struct ReplicaOptions {
  IndexLogOptions log;       // store and prefix
  std::string index_path;    // ARCHIVE/index: the local replica
  // After a failed poll (store unreachable), polls are skipped for a delay
  // that doubles from `retry_min` up to `retry_max`; already applied
  // metadata keeps working meanwhile.
  std::chrono::milliseconds retry_min{1000};
  std::chrono::milliseconds retry_max{30000};
};

// Opens the local replica (creating an empty one if needed) and polls once.
// A failed first poll is not an error (the replica serves what it has and
// CatchUp() retries); IoError only if the local replica cannot be opened.
Result<std::unique_ptr<Catalog>> OpenReplicaCatalog(const ReplicaOptions& options);

// What a reader has applied, for tests and stats. NotFound if `catalog` is
// not a replica.
struct ReplicaPosition {
  std::string db_id;        // the writer database followed
  uint64_t seq = 0;         // every writer batch up to here is applied
  uint64_t checkpoints_loaded = 0;
  uint64_t objects_applied = 0;
};
Result<ReplicaPosition> GetReplicaPosition(const Catalog& catalog);

// The archive secret (key of /anonymized) must be one on every workstation,
// so it is kept in the store as `secret` (beside the
// archive's blobs, under the store's own prefix). Writer: if the store has
// one, `local_path` must hold the same bytes (written if absent:
// AlreadyExists if a different one is there); else the local one is
// uploaded. Reader: copies the store's secret to `local_path` (0600);
// NotFound if the store has none yet.
inline constexpr const char* kSecretKey = "secret";
Status ShareArchiveSecret(ObjectStore& store, const std::string& local_path);
Status FetchArchiveSecret(ObjectStore& store, const std::string& local_path);

}  // namespace dcmfs
