// Ingest: files and folders in, blobs + index out, nothing lost.
//
// For each file: read, SHA-256, parse (codecs/dicom_parse.h); a good instance
// is written to the blob store (durable) and then indexed in one WriteBatch;
// a bad one is copied to ARCHIVE/quarantine/ with a reason. A kill at any
// moment leaves every indexed instance readable; a blob written but not yet
// indexed is found again by Reindex. Parsing, hashing and compression run on
// `threads` workers; catalog writes are serialised.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "index/blob_store.h"
#include "index/catalog.h"

namespace dcmfs {

struct IngestOptions {
  int threads = 2;
  // Files at least this large are streamed (hashed, parsed and compressed
  // from disk in 1 MiB steps) instead of read into memory, so memory does
  // not grow with file size; smaller files take the faster in-memory path.
  uint64_t stream_threshold_bytes = 64ull << 20;
};

struct IngestProgress {
  uint64_t files_done = 0;
  uint64_t files_total = 0;  // 0 while still walking the folders
  uint64_t bytes_done = 0;
};

struct QuarantineNote {
  std::string source;       // the path given or found while walking
  std::string reason;       // why it was refused
  std::string kept_as;      // where its bytes are kept (relative to ARCHIVE), "" if unreadable
};

struct ConflictNote {
  std::string source;
  std::string sop_uid;
  std::string digest_hex;   // the new bytes
  std::vector<std::string> other_digests_hex;
};

struct IngestReport {
  uint64_t files = 0;
  uint64_t bytes = 0;
  uint64_t new_instances = 0;
  uint64_t already_present = 0;
  std::vector<QuarantineNote> quarantined;
  std::vector<ConflictNote> conflicts;  // also counted in new_instances
  // True when every file was stored or already present.
  bool complete() const { return quarantined.empty(); }
};

// Keeps refused files. Thread-safe.
class Quarantine {
 public:
  explicit Quarantine(std::string dir) : dir_(std::move(dir)) {}
  // Copies `bytes` to <dir>/<sha256>.bin with <sha256>.txt holding the source
  // path and reason (temp name, fsync, rename). Returns the kept name.
  Result<std::string> Keep(std::string_view source, std::span<const uint8_t> bytes,
                           std::string_view reason) const;
  // The same for a file too large to hold in memory: streamed from `path`.
  Result<std::string> KeepFile(std::string_view source, const std::string& path,
                               std::string_view reason) const;

 private:
  Status MakeDir() const;
  Result<std::string> Note(std::string_view source, const std::string& hex,
                           std::string_view reason) const;
  std::string dir_;
};

using ProgressCallback = std::function<void(const IngestProgress&)>;

// Ingests `paths` (files, or folders walked recursively; symlinks followed
// once). Only a failure of the archive itself (disk full, index unwritable)
// is an error; bad input files are reported in the IngestReport.
Result<IngestReport> IngestPaths(Catalog& catalog, BlobStore& blobs, const Quarantine& quarantine,
                                 const std::vector<std::string>& paths,
                                 const IngestOptions& options,
                                 const ProgressCallback& progress = nullptr);

}  // namespace dcmfs
