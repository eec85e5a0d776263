// The blob store: every ingested file's original bytes, stored once under
// their SHA-256, compressed (codecs/zstd_seekable.h) so that any byte range
// can be read back without decompressing the whole file.
//
// An interface: a local directory now (ARCHIVE/blobs/ab/<64 hex>.zst), an
// S3-compatible object store later. Nothing above it assumes a local file.
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "base/status.h"
#include "codecs/sha256.h"

namespace dcmfs {

// Random access to one blob's original bytes. Thread-safe.
class BlobReader {
 public:
  virtual ~BlobReader() = default;
  virtual uint64_t size() const = 0;  // original (decompressed) size
  // Reads up to out.size() bytes at `offset`; returns the count (0 at or past
  // the end). Corruption if the stored frames do not decode.
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) const = 0;
  // The same result, for bytes the caller reads once (a header prefix, one
  // frame of pixel data for a volume): a store may skip its shared cache of
  // decompressed data and decompress straight into `out`, so a bulk read
  // neither evicts what small readers keep warm nor pays an extra copy.
  virtual Result<size_t> ReadOnce(uint64_t offset, std::span<uint8_t> out) const {
    return ReadAt(offset, out);
  }
};

struct LocalBlobStoreOptions {
  std::string dir;  // ARCHIVE/blobs
  // Bound on decompressed frames kept in memory for reads, shared by all readers.
  size_t frame_cache_bytes = 64u << 20;
  int compression_level = 3;
  bool fsync = true;  // tests of crash safety keep it on; benchmarks may compare
};

class BlobStore {
 public:
  static Result<std::unique_ptr<BlobStore>> OpenLocal(const LocalBlobStoreOptions& options);
  virtual ~BlobStore() = default;

  // Stores `original` under `digest` (the caller computed it) unless present.
  // Durable when it returns: written to a temp name, fsynced, renamed, the
  // folder fsynced. Returns true if newly written, false if already there.
  virtual Result<bool> Put(const Digest& digest, std::span<const uint8_t> original) = 0;
  // The same for a file on disk, streamed: memory stays bounded by one frame
  // whatever the file's size. DataLoss if the file's bytes no longer hash to
  // `digest` (it changed since the caller hashed it); nothing is stored then.
  virtual Result<bool> PutFile(const Digest& digest, const std::string& path) = 0;
  virtual Result<bool> Contains(const Digest& digest) const = 0;
  // NotFound if absent.
  virtual Result<std::shared_ptr<BlobReader>> Open(const Digest& digest) const = 0;
  // Reads and decompresses the whole blob (reindex, verify, derived files of small inputs).
  virtual Result<std::string> ReadAll(const Digest& digest) const = 0;
  // Visits every stored blob's digest (temp files and strays are skipped).
  virtual Status ForEach(const std::function<bool(const Digest&)>& visit) const = 0;
  // Where the blob lives, for messages ("blobs/ab/abcd….zst").
  virtual std::string Locate(const Digest& digest) const = 0;
  // Removes leftovers of interrupted writes (temp files). Writer only.
  virtual Status CleanupTemporaries() = 0;
};

}  // namespace dcmfs
