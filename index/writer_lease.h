// One writer per archive on an object store: a lease held in the store
// itself, since two workstations writing one bucket share nothing else
// (docs/semantics.md, "One writer: the lease").
//
// The lease is the object `index/WRITER` (key=value text: host, pid, the
// process's start time, when it started, its last heartbeat, a random
// token). S3 as Debian 12's radosgw speaks it has no conditional PUT, so
// Acquire is a check, a PUT and a read-back: read WRITER; refuse if another
// live writer holds it; PUT our record; wait `settle`; read it back and
// refuse if another token replaced ours (the later writer wins). A holder
// refreshes its heartbeat every stale_after / 4, reading the object first:
// a foreign token there means it was taken over (--force-writer, or this
// writer was frozen past stale_after), and from then on Check() fails, so
// the index log publisher (the fence) stops writing the store.
//
// A lease is live while its heartbeat is younger than stale_after (clocks
// of writer machines are assumed to agree within a few seconds); on the
// same host, a holder whose process is gone (pid absent, or reused by a
// process started at another time) is stale at once, so rerunning a killed
// ingest never waits. The residual race is documented in semantics.md.
//
// Thread-safe. The heartbeat runs on a thread of its own; destroying the
// lease stops it and deletes WRITER if it still holds our token.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/status.h"
#include "index/object_store.h"

namespace dcmfs {

struct WriterLeaseOptions {
  std::string key = "index/WRITER";
  // A holder whose heartbeat is older than this may be replaced.
  std::chrono::seconds stale_after{60};
  // Take the lease even from a live holder (which then stops publishing).
  bool force = false;
  // Wait between our PUT and its read-back: another writer's PUT in this
  // window is seen and one of the two backs off.
  std::chrono::milliseconds settle{500};
};

class WriterLease {
 public:
  // Takes the lease. Busy naming the holder ("host H pid P since T, last
  // heartbeat N s ago") when another live writer holds it or won the race;
  // IoError when the store does not answer.
  static Result<std::shared_ptr<WriterLease>> Acquire(std::shared_ptr<ObjectStore> store,
                                                      const WriterLeaseOptions& options);
  ~WriterLease();
  WriterLease(const WriterLease&) = delete;
  WriterLease& operator=(const WriterLease&) = delete;

  // Ok while this writer holds the lease; Busy naming the writer that took
  // it over otherwise. No I/O: the heartbeat thread finds out.
  Status Check() const;
  // "host H pid P" of this writer.
  const std::string& holder() const { return holder_; }

 private:
  WriterLease(std::shared_ptr<ObjectStore> store, WriterLeaseOptions options);
  Status PutRecord();
  void HeartbeatLoop();
  Status Heartbeat();

  const std::shared_ptr<ObjectStore> store_;
  const WriterLeaseOptions options_;
  std::string token_, holder_;
  std::string record_prefix_;  // the lines that do not change (all but heartbeat)

  mutable std::mutex mu_;
  Status lost_;            // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::condition_variable stop_cv_;
  std::thread thread_;
};

}  // namespace dcmfs
