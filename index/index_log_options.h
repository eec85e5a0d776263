// Where a writer publishes its index log (index/index_log.h). Its own header
// so that index/catalog.h can carry it without including the log's API.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "index/object_store.h"

namespace dcmfs {

class WriterLease;  // index/writer_lease.h

struct IndexLogOptions {
  // Where the log lives; nullptr: no log (a local-only archive).
  std::shared_ptr<ObjectStore> store;
  // Key prefix inside the store (the store adds its own, e.g. the archive's).
  std::string prefix = "index/";
  // Writer: background publication interval (the bound on how long an
  // acknowledged change of a running writer waits before it is in the store).
  std::chrono::milliseconds interval{1000};
  // Writer: a log object holds at most about this many bytes of batches.
  uint64_t max_object_bytes = 8u << 20;
  // Writer: a new checkpoint after this many log bytes since the last one
  // (readers that mount later replay at most about this much).
  uint64_t checkpoint_every_bytes = 64u << 20;
  // Writer: the lease that makes it the archive's one writer
  // (index/writer_lease.h), taken by PrepareArchiveWriter; once another
  // writer takes it over, publication fails with its Busy status (the fence).
  std::shared_ptr<WriterLease> lease;
  // Input of PrepareArchiveWriter: take the lease even from a live holder
  // (`--force-writer`).
  bool force_writer = false;
};

}  // namespace dcmfs
