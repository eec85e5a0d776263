// The persistent cache of derived files (ARCHIVE/cache): bounded in bytes,
// least-recently-used evicted, keyed by (series, series generation, kind,
// parameters) so that a new instance in a series misses exactly that
// series' entries.
//
// Entries are written to a temp file, fsynced and renamed before their
// catalog record is written, so a crash never leaves a corrupt entry: an
// entry without a record, or a record without a file, is dropped on open.
// The catalog is its own small RocksDB (ARCHIVE/cache/catalog) because the
// mount, which writes it, only follows the main index as a reader.
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "base/status.h"

namespace dcmfs {

// The revision of the derived-file algorithms, part of every entry's id:
// bump it whenever a provider's output changes for the same input, so that
// an upgraded dcmfs recomputes instead of serving what the old one cached
// (the stale entries age out through eviction).
//   2: volume plans step over repeated positions (SEG overlapping segments)
//   3: mesh index lists -smooth twins of structure meshes and SEG segments
//      placed by their frames' source images; marching-cubes loops
//      triangulated without face diagonals (manifold meshes)
inline constexpr int kDerivedRevision = 3;

struct DerivedKey {
  std::string series_uid;
  std::string generation;
  std::string kind;    // "sha256sums", "nifti", "stl", ...
  std::string params;  // provider-defined, e.g. "iso=300"
  // A filesystem-safe hex name for the entry.
  std::string Id() const;
};

struct DerivedCacheOptions {
  std::string dir;  // ARCHIVE/cache
  uint64_t max_bytes = 4ull << 30;
};

struct DerivedCacheStats {
  uint64_t hits = 0, misses = 0, entries = 0, bytes = 0, evictions = 0, max_bytes = 0;
};

// A cached file, read with pread semantics. Thread-safe.
class CachedFile {
 public:
  virtual ~CachedFile() = default;
  virtual uint64_t size() const = 0;
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) const = 0;
};

// Streams one new entry into the cache. Not thread-safe; Commit or drop.
class CacheWriter {
 public:
  virtual ~CacheWriter() = default;  // dropping without Commit discards
  virtual Status Append(std::span<const uint8_t> bytes) = 0;
  virtual Result<std::shared_ptr<CachedFile>> Commit() = 0;
};

class DerivedCache {
 public:
  // Busy if another process owns ARCHIVE/cache (the caller may then run
  // without a persistent cache).
  static Result<std::unique_ptr<DerivedCache>> Open(const DerivedCacheOptions& options);
  virtual ~DerivedCache() = default;

  // nullptr on a miss (counted). A hit refreshes the entry's recency.
  virtual Result<std::shared_ptr<CachedFile>> Find(const DerivedKey& key) = 0;
  virtual Result<std::unique_ptr<CacheWriter>> Begin(const DerivedKey& key) = 0;
  virtual DerivedCacheStats Stats() const = 0;
};

// Reads the stats an archive's cache recorded, without opening it for writing.
Result<DerivedCacheStats> ReadDerivedCacheStats(const std::string& cache_dir);

}  // namespace dcmfs
