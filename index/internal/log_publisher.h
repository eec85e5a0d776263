// The writer half of the shared index log (index/index_log.h): turns the
// writer database's WAL into log objects and checkpoints in the store.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/status.h"
#include "index/index_log_options.h"
#include "index/internal/db.h"

namespace dcmfs::internal {

class LogPublisher {
 public:
  // `db` must outlive the publisher. `scratch_dir` is a folder on the same
  // filesystem as the database (a checkpoint hard-links its tables there).
  LogPublisher(Db& db, IndexLogOptions options, std::string scratch_dir);
  // Stops the thread, then publishes what is left (errors logged).
  ~LogPublisher();
  LogPublisher(const LogPublisher&) = delete;
  LogPublisher& operator=(const LogPublisher&) = delete;

  // Starts the background thread (publishes every options.interval).
  void Start();
  // Publishes every batch committed so far (and a checkpoint when due). The
  // error of the store, if any; the next call retries from where this stopped.
  Status PublishNow();
  // Publishes a checkpoint now (after the log).
  Status CheckpointNow();
  // The last writer sequence number known to be in the store.
  uint64_t published_seq() const;

 private:
  Status ResumeLocked();
  Status PublishLocked();
  // `skip_log`: the WAL since the last published batch is gone; the log
  // resumes after the checkpoint.
  Status CheckpointLocked(bool skip_log);
  Status UploadCheckpointLocked(const std::string& dir, uint64_t seq, bool skip_log);
  Status PutLogObjectLocked(const std::string& bytes, uint64_t first, uint64_t last);
  void Loop();

  Db& db_;
  const IndexLogOptions options_;
  const std::string scratch_dir_;

  mutable std::mutex mu_;  // serialises publication; guards everything below
  std::string db_id_;
  bool resumed_ = false;
  bool need_checkpoint_ = false;
  uint64_t published_ = 0;           // last sequence number in the store
  std::string last_key_;             // newest log object in the store
  uint64_t bytes_since_checkpoint_ = 0;

  std::mutex stop_mu_;  // after mu_ when both are held (never, today)
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace dcmfs::internal
