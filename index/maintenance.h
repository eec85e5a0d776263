// Rebuilding and checking an archive.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace dcmfs {

struct ReindexReport {
  uint64_t blobs = 0;
  uint64_t instances = 0;
  std::vector<std::string> problems;  // blobs that could not be indexed, with reasons
};

// Rebuilds ARCHIVE/index from ARCHIVE/blobs alone: builds a fresh index in a
// sibling folder and swaps it in, so an interrupted reindex leaves the old
// index in place. No mount or ingest may run meanwhile (Busy otherwise).
Result<ReindexReport> Reindex(const std::string& archive_root);

struct VerifyProblem {
  std::string location;   // blob path inside the archive
  std::string instance;   // SOP Instance UID and tree path, when indexed
  std::string reason;     // "hash mismatch", "missing blob", "undecodable", ...
};

struct VerifyReport {
  uint64_t blobs_checked = 0;
  uint64_t bytes_checked = 0;
  std::vector<VerifyProblem> problems;
  // Intact blobs with no index entry: the normal leftover of an ingest killed
  // between writing a blob and indexing it. Not damage: `dcmfs reindex`
  // lists them. Reported, but they do not make ok() false.
  std::vector<VerifyProblem> unindexed;
  bool ok() const { return problems.empty(); }
};

// Re-hashes every blob against its recorded SHA-256 and checks that every
// indexed instance has its blob. Streams: memory does not grow with the archive.
Result<VerifyReport> Verify(const std::string& archive_root);

}  // namespace dcmfs
