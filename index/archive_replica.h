// Archives kept on an object store, seen from the two sides of the shared
// index log (docs/semantics.md, "One archive, many mounts"):
//
//  - the writer's archive folder (ingest, SCP, /incoming, reindex) publishes
//    its catalog changes to the store;
//  - a replica archive folder (made by `dcmfs attach`, marked by the file
//    ARCHIVE/REPLICA) knows only the store and follows it read-only.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "base/status.h"
#include "index/catalog.h"
#include "index/object_store.h"

namespace dcmfs {

// True if ARCHIVE/REPLICA exists.
bool IsReplicaArchive(const std::string& root);
// Writes ARCHIVE/REPLICA (a short text saying what the folder is).
Status MarkReplicaArchive(const std::string& root);

// The object store the archive is kept on (ARCHIVE/store.conf), or nullptr
// for an archive kept only in its folder. Errors of the configuration name
// the file and the field.
Result<std::shared_ptr<ObjectStore>> OpenArchiveObjectStore(const std::string& root);

// Every writer of an archive calls this before opening its catalog.
// InvalidArgument on a replica ("... follows s3://... read-only; ingest on
// the archive's writer"). On an archive kept on an object store: takes the
// writer lease (index/writer_lease.h; Busy naming the holder when another
// live writer has it, unless options->publish.force_writer) into
// options->publish.lease, which must be kept while writing; sets
// options->publish so the catalog publishes its index log, and shares the
// archive secret (adopting the store's if the folder has none yet;
// AlreadyExists if they differ). A local-only archive is left as it is.
Status PrepareArchiveWriter(const std::string& root, CatalogOptions* options);

// The catalog of a replica archive, for its mount: fetches the archive
// secret into the folder and opens the local replica (index/index_log.h).
Result<std::unique_ptr<Catalog>> OpenArchiveReplica(const std::string& root);

}  // namespace dcmfs
