// The catalog writer that /incoming stores through. RocksDB allows one
// writer per archive (docs/semantics.md, "One writer, many readers"); a mount
// is a follower. So:
//   - when the mount runs a DICOM SCP (`dcmfs mount --scp-port`), its
//     Receiver is shared (Share), and /incoming never opens a writer;
//   - otherwise the writer is opened for a batch of files and closed after
//     a short idle (CloseIfIdle), so that `dcmfs ingest` and `dcmfs reindex`
//     are refused only while /incoming is busy. While another process holds
//     the writer, Receive fails with Busy and the caller retries later.
// Thread-safe; Receive calls are serialised.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/status.h"
#include "index/receiver.h"

namespace dcmfs {

class IncomingWriter {
 public:
  explicit IncomingWriter(std::string archive_root);
  ~IncomingWriter();

  // Uses `receiver` (owned by the caller) from now on; nullptr stops using it
  // and returns only once no Receive is using it any more.
  void Share(Receiver* receiver);
  // Stores the file at `path` (index/receiver.h). Busy while another
  // process is the archive's writer.
  Result<ReceiveResult> Receive(const std::string& path, std::string_view source);
  // Closes a writer opened here when unused for `idle`.
  void CloseIfIdle(std::chrono::steady_clock::duration idle);
  bool holds_writer() const;

 private:
  struct Own;
  Status OpenOwnLocked();
  void CloseOwnLocked();

  const std::string archive_root_;
  mutable std::mutex mu_;             // held across Receive
  Receiver* shared_ = nullptr;        // GUARDED_BY(mu_)
  std::unique_ptr<Own> own_;          // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point last_used_;  // GUARDED_BY(mu_)
};

}  // namespace dcmfs
