// The writable /incoming folder (docs/semantics.md, "/incoming"): files and
// folders copied there are staged in ARCHIVE/incoming/staged, and each file,
// once closed, is ingested by a background worker through a Receiver
// (index/receiver.h), then removed; what is not DICOM is quarantined and
// listed in /incoming/REJECTED.txt.
//
// Worker steps, each crash-safe:
//   1. a due file (fs/incoming/ingest_queue.h) is renamed from staged/ to
//      ARCHIVE/incoming/claimed/<time>-<escaped path>: it leaves /incoming,
//      and no later write through the mount can change it;
//   2. every file in claimed/ is stored through IncomingWriter; a Busy or
//      failing archive leaves it there and it is retried (at the next mount
//      too: claimed files are complete by construction);
//   3. on success (or quarantine) the claimed file is removed, the mount's
//      catalog catches up (`on_stored`), and staged folders left empty for
//      a few seconds are removed.
// At start, staged files marked complete are queued again; incomplete ones
// (a mount killed mid-copy) are quarantined with that reason, never indexed.
//
// One mount at a time owns an archive's /incoming (a lock on
// ARCHIVE/incoming/owner.lock); Open fails with Busy for the others.
// Thread-safe. Locks: mu_ (queue and handle state) before StagingTree's.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "base/status.h"
#include "fs/incoming/incoming_writer.h"
#include "fs/incoming/ingest_queue.h"
#include "fs/incoming/rejected_log.h"
#include "fs/incoming/staging.h"
#include "index/receiver.h"

namespace dcmfs {

struct IncomingOptions {
  std::string archive_root;
  uint32_t uid = 0, gid = 0;   // owner of /incoming and of entries nobody chown'ed
  uint32_t folder_perm = 0770;  // /incoming's permission bits
  IngestQueue::Delays delays;
  std::chrono::milliseconds writer_idle{3000};  // close our writer after this
  std::chrono::milliseconds retry{2000};        // after a Busy or failing archive
  int64_t folder_idle_s = 5;   // empty staged folders older than this are removed
};

// An open staged file (kept in OpenFile). Closes its descriptor.
struct StagedHandle {
  InodeId ino = 0;
  int fd = -1;
  bool writable = false;
  std::atomic<bool> written{false};
  ~StagedHandle();
};

// Reads from `offset` until `out` is full or the file ends; the count.
Result<size_t> ReadStaged(const StagedHandle& handle, uint64_t offset, std::span<uint8_t> out);

// Create/Open: an errno and, when it is 0, the attributes and the handle.
struct StagedOpen {
  int err = 0;
  StagedAttr attr;
  std::unique_ptr<StagedHandle> handle;
  static StagedOpen Error(int err) {
    StagedOpen o;
    o.err = err;
    return o;
  }
};

class Incoming {
 public:
  // Creates ARCHIVE/incoming/ and takes its lock. Busy when another mount
  // owns it. `on_stored` runs on the worker after files were stored.
  static Result<std::unique_ptr<Incoming>> Open(const IncomingOptions& options,
                                                std::function<void()> on_stored);
  ~Incoming();

  void Start();                        // the worker thread (after any fork)
  void ShareReceiver(Receiver* receiver);  // see IncomingWriter::Share

  StagingTree& tree() { return tree_; }
  RejectedLog& rejected() { return rejected_; }
  const IncomingOptions& options() const { return options_; }

  // The FUSE-facing operations that change ingest state; errno results.
  StagedOpen Create(InodeId parent, std::string_view name, int flags, uint32_t perm,
                    uint32_t uid, uint32_t gid);
  StagedOpen Open(InodeId ino, int flags);
  void Release(StagedHandle& handle);
  int Fsync(StagedHandle& handle, bool datasync);
  int Unlink(InodeId parent, std::string_view name);
  int Rename(InodeId parent, std::string_view name, InodeId new_parent,
             std::string_view new_name, unsigned flags);
  StagedReply SetAttr(InodeId ino, const StagedSetAttr& change, StagedHandle* handle);

  // {"waiting": n, ...} for stats.json.
  std::string StatsJson() const;

 private:
  Incoming(const IncomingOptions& options, int lock_fd, std::function<void()> on_stored);
  void WorkerLoop();
  void Recover();
  void ClaimDue();
  bool StoreClaimed();
  void Reject(const std::string& shown, const std::string& path, const std::string& reason);

  const IncomingOptions options_;
  const std::string claimed_dir_;
  const int lock_fd_;
  const std::function<void()> on_stored_;
  StagingTree tree_;
  RejectedLog rejected_;
  IncomingWriter writer_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  IngestQueue queue_;          // GUARDED_BY(mu_)
  bool stopping_ = false;      // GUARDED_BY(mu_)
  std::thread worker_;

  std::atomic<uint64_t> stored_{0}, present_{0}, rejected_count_{0}, pending_claimed_{0};
  std::atomic<bool> archive_busy_{false};
};

}  // namespace dcmfs
