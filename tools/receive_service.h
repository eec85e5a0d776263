// The archive's network door: a DICOM Storage SCP (codecs/dicom_scp.h)
// whose every received instance goes through a Receiver (index/receiver.h),
// so that "C-STORE Success" means "durably in the blob store and the
// catalog". Used by `dcmfs scp` and by `dcmfs mount --scp-port`.
//
// The service opens ARCHIVE's catalog as THE writer: while it runs, `dcmfs
// ingest` and `dcmfs reindex` on the same archive fail with Busy (one writer
// at a time, RocksDB's LOCK), and starting the service fails with Busy while
// one of them runs. Mounts (followers) are unaffected.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "codecs/dicom_scp.h"
#include "fs/filesystem.h"
#include "index/receiver.h"

namespace dcmfs::tools {

class ReceiveService {
 public:
  // Creates ARCHIVE's folders, secret and catalog if missing, cleans
  // ARCHIVE/tmp, opens the writer and starts listening. `on_stored` (may be
  // empty) is called after each new instance is durable, from an
  // association thread (the mount uses it to catch up at once).
  static Result<std::unique_ptr<ReceiveService>> Start(const std::string& archive,
                                                       const ScpOptions& scp,
                                                       std::function<void()> on_stored = {});
  ~ReceiveService();

  ScpStats scp_stats() const;
  ReceiverCounters receiver_counters() const;
  // The service's receiver, for other writers in this process (the mount's
  // /incoming). Valid while the service lives.
  Receiver& receiver();
  // {"scp": {...}} figures for stats.json and `dcmfs status`.
  std::string StatsJson() const;

 private:
  struct Parts;
  explicit ReceiveService(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

// `dcmfs mount`: a MountOptions::start_services hook. With scp.port != 0 it
// runs a ReceiveService inside the mount process and makes the mount catch
// up with each new instance at once (within ~100 ms, instead of its periodic
// second), so a received instance is listed within the folders' 1 s
// attribute timeout. The mount's /incoming then stores through the same
// receiver (one writer per archive). Then it tells systemd READY=1 (Type=notify units).
// `archive` must be absolute (the daemon changes to /).
std::function<Result<std::shared_ptr<void>>(Filesystem&)> MountHook(const std::string& archive,
                                                                   const ScpOptions& scp);

// `dcmfs scp`: runs a ReceiveService in the foreground until SIGINT or
// SIGTERM. Returns the exit code.
int RunScpForeground(const std::string& archive, const ScpOptions& scp);

}  // namespace dcmfs::tools
