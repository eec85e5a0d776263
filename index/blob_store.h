// The blob store: every ingested file's original bytes, stored once under
// their SHA-256, compressed (codecs/zstd_seekable.h) so that any byte range
// can be read back without decompressing the whole file.
//
// An interface with two backends: a local directory (ARCHIVE/blobs/ab/<64
// hex>.zst) and any ObjectStore (index/object_store.h; S3 in index/s3/), keys
// <prefix>blobs/ab/<64 hex>.zst. ARCHIVE/store.conf (index/store_config.h)
// says which; OpenArchiveBlobStore reads it. Nothing above it assumes a
// local file. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "codecs/sha256.h"
#include "index/archive_layout.h"
#include "index/object_store.h"

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
  // Offsets in the original where the store's frames start, when it cuts
  // frames where a reader's pieces start (the object store:
  // index/internal/frame_plan.h, a cut at Pixel Data and at every item of
  // encapsulated Pixel Data, and every max_frame_bytes inside longer ones).
  // Empty when frames are cut blindly (the local store: every 1 MiB). Lets a
  // reader find one fragment of a multi-frame image without walking the file.
  virtual std::vector<uint64_t> PieceStarts() const { return {}; }
};

struct LocalBlobStoreOptions {
  std::string dir;  // ARCHIVE/blobs
  // Bound on decompressed frames kept in memory for reads, shared by all readers.
  size_t frame_cache_bytes = 64u << 20;
  int compression_level = 3;
  bool fsync = true;  // tests of crash safety keep it on; benchmarks may compare
  // Object-store archives only (OpenArchiveBlobStore passes them on): the
  // on-disk cache of fetched frames; "" or 0 bytes: none.
  std::string object_disk_cache_dir;
  uint64_t object_disk_cache_bytes = 0;
};

struct ObjectBlobStoreOptions {
  // Local folder for compressed uploads being staged (PutFile streams the
  // file through the compressor into it, then uploads it).
  std::string tmp_dir;
  // Bound on decompressed frames kept in memory: the local cache of fetched
  // ranges that keeps serving while the store is unreachable.
  size_t frame_cache_bytes = 64u << 20;
  size_t table_cache_entries = 4096;  // seek tables (a few KiB each) kept in memory
  int compression_level = 3;
  // Upper bound of one frame (original bytes). Frames also start where Pixel
  // Data and each encapsulated fragment start, so that a tile or a slice maps
  // to whole frames (docs/semantics.md, "Blobs on S3").
  uint32_t max_frame_bytes = 256u << 10;
  // Native (uncompressed) Pixel Data is cut finer: a read grazing a slice
  // (the NIfTI header puts slice boundaries mid-page) costs a 64 KiB frame.
  uint32_t max_native_pixel_frame_bytes = 64u << 10;
  // A bounded on-disk cache of fetched compressed frames and seek tables
  // (index/internal/frame_disk_cache.h), per workstation: survives a
  // remount, serves while the store is down. "" or 0 bytes: none.
  std::string disk_cache_dir;
  uint64_t disk_cache_bytes = 0;
};

// What a blob store fetched from remote storage (zero for the local one).
struct BlobStoreStats {
  uint64_t requests = 0;       // GETs and HEADs issued
  uint64_t bytes_fetched = 0;  // compressed bytes received
  uint64_t frame_hits = 0;     // frames served from the memory cache
  uint64_t frame_misses = 0;
  uint64_t disk_hits = 0;        // frames and seek tables served from the disk cache
  uint64_t disk_corrupt = 0;     // disk cache entries that failed their checksum (refetched)
  uint64_t disk_bytes = 0;       // payload bytes in the disk cache now
  uint64_t disk_evictions = 0;
};

class BlobStore {
 public:
  static Result<std::unique_ptr<BlobStore>> OpenLocal(const LocalBlobStoreOptions& options);
  // Blobs kept in `store` under blobs/ab/<hex>.zst. Put/PutFile return once
  // the store acknowledged the object (for S3: 2xx), so a caller that
  // indexes afterwards never indexes a blob the store does not hold.
  static Result<std::unique_ptr<BlobStore>> OpenObject(std::shared_ptr<ObjectStore> store,
                                                       const ObjectBlobStoreOptions& options);
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
  virtual BlobStoreStats Stats() const { return {}; }
  // A hint that `digest` will be read soon (a volume reader ahead of its
  // reader): a store may start fetching it so that the read that follows
  // does not wait. The local store has the kernel read the file ahead
  // (posix_fadvise WILLNEED: asynchronous, into the page cache, which the
  // kernel bounds). Never fails; the default does nothing.
  virtual void WillNeed(const Digest& /*digest*/) const {}
};

// The blob store of the archive at `layout`: local (options.dir, normally
// layout.blobs()) unless ARCHIVE/store.conf names an object store, which is
// then opened with options' cache bound and level. Errors: those of
// LoadStoreConfig and of opening the backend.
Result<std::unique_ptr<BlobStore>> OpenArchiveBlobStore(const ArchiveLayout& layout,
                                                        const LocalBlobStoreOptions& options);

}  // namespace dcmfs
