// The shared index log's objects in the store (docs/semantics.md, "One
// archive, many mounts"): their keys and their bytes. Pure functions, no I/O.
//
//   index/LATEST                            the newest checkpoint (text, below)
//   index/checkpoints/<db>/<seq>/FILES      one line per file of a checkpoint
//   index/checkpoints/<db>/<seq>/<name>     MANIFEST-*, CURRENT, OPTIONS-*, *.log
//   index/sst/<db>/<number>.sst             table files, shared by checkpoints
//   index/log/<db>/<first seq>.wb           RocksDB write batches, in order
//
// <db> is the writer database's identity (a reindex makes a new one, and a
// new history); <seq> and <first seq> are 20-digit zero-padded decimals so
// that key order is sequence order.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace dcmfs::internal {

std::string Pad20(uint64_t n);
std::string LatestKey(const std::string& prefix);
std::string LogDir(const std::string& prefix, const std::string& db_id);
std::string LogKey(const std::string& prefix, const std::string& db_id, uint64_t first_seq);
std::string CheckpointDir(const std::string& prefix, const std::string& db_id, uint64_t seq);
std::string SstKey(const std::string& prefix, const std::string& db_id, const std::string& name);

// index/LATEST.
struct LatestRecord {
  std::string db_id;
  uint64_t seq = 0;           // the checkpoint holds every batch up to here
  std::string log_after;      // list the log after this key ("" = from its start)
  std::string files_key;      // the checkpoint's FILES object
};
std::string EncodeLatest(const LatestRecord& r);
// Corruption naming `what` if malformed.
Result<LatestRecord> DecodeLatest(std::string_view text, const std::string& what);

// A checkpoint's FILES: local file name -> object key and size.
struct CheckpointFile {
  std::string name;
  std::string key;
  uint64_t size = 0;
};
std::string EncodeFiles(const std::vector<CheckpointFile>& files);
Result<std::vector<CheckpointFile>> DecodeFiles(std::string_view text, const std::string& what);

// One write batch of the writer: its first sequence number, how many
// sequence numbers it uses, and its RocksDB representation.
struct LogRecord {
  uint64_t seq = 0;
  uint32_t count = 0;
  std::string rep;
  uint64_t last() const { return seq + count - 1; }
};

// A log object: the magic "DCMFSLG2", then zstd (seekable format, as blobs)
// of the body — the writer's column family ids and names (a batch names
// families by id, and ids differ between databases) and the records — then
// a SHA-256 of everything before it (an object cut or altered is refused,
// never half applied). Little-endian fixed-width integers throughout.
struct LogObject {
  std::map<uint32_t, std::string> families;
  std::vector<LogRecord> records;
};
std::string EncodeLogObject(const LogObject& object);
// Corruption naming `what` on any defect.
Result<LogObject> DecodeLogObject(std::string_view bytes, const std::string& what);

}  // namespace dcmfs::internal
