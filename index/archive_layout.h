// Where things live inside an archive folder (see docs/semantics.md).
#pragma once

#include <string>

namespace dcmfs {

struct ArchiveLayout {
  std::string root;
  std::string blobs() const { return root + "/blobs"; }
  std::string index() const { return root + "/index"; }
  std::string cache() const { return root + "/cache"; }
  std::string quarantine() const { return root + "/quarantine"; }
  std::string secret() const { return root + "/secret"; }
  std::string lock() const { return root + "/ingest.lock"; }
  // The running SCP's figures, for `dcmfs status` (tools/scp_stats_file.h).
  std::string scp_stats() const { return root + "/scp-stats.json"; }
  // Files received by the writer (SCP, /incoming) before they are stored.
  std::string tmp() const { return root + "/tmp"; }
  // The mount's writable /incoming: staged/, claimed/, REJECTED.txt
  // (fs/incoming/incoming.h). Not part of the archive's contents: verify,
  // reindex and backup leave it alone.
  std::string incoming() const { return root + "/incoming"; }
};

}  // namespace dcmfs
