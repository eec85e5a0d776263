// An object store: flat keys → immutable byte objects, the way S3 sees the
// world. The S3 blob backend (index/blob_store_s3.*) and the shared index log
// that lets many workstations follow one archive (index/index_log.*) are
// written against this, not against libcurl, so each can be read without the
// other.
//
// Implementations: S3-compatible stores over HTTP (index/s3/, libcurl with
// its own SigV4 signing) and a local directory (index/object_store_dir.*,
// for archives on a shared filesystem and for unit tests of pure logic).
//
// Errors: NotFound for an absent key; IoError for a store that did not
// answer in time or answered 5xx after the retries (the mount turns it into
// EIO); the message names the object ("s3://bucket/prefix/key: HTTP 503")
// and never carries credentials. Thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "base/status.h"

namespace dcmfs {

// The end of an object and the object's size (ObjectStore::GetTail).
struct ObjectTail {
  std::string bytes;  // the last min(n, size) bytes
  uint64_t size = 0;  // the whole object's size
};

struct ObjectInfo {
  std::string key;  // relative to the store's prefix
  uint64_t size = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Writes the whole object. Durable when it returns OK (for S3: the PUT, or
  // the multipart completion, was answered 2xx). Overwrites.
  virtual Status Put(const std::string& key, std::span<const uint8_t> bytes) = 0;
  // The same for a file on disk, streamed: large files go up as a multipart
  // upload, so memory stays bounded by one part whatever the file's size.
  virtual Status PutFile(const std::string& key, const std::string& path) = 0;
  // The whole object.
  virtual Result<std::string> Get(const std::string& key) const = 0;
  // Up to out.size() bytes at `offset` (one ranged GET); returns the count,
  // short only at the object's end, 0 at or past it.
  virtual Result<size_t> GetRange(const std::string& key, uint64_t offset,
                                  std::span<uint8_t> out) const = 0;
  // The object's size, or nullopt if it does not exist.
  virtual Result<std::optional<uint64_t>> Head(const std::string& key) const = 0;
  // The last `n` bytes (all of a shorter object) and the object's size.
  // NotFound if absent. A store that can (S3: one suffix-range GET, whose
  // Content-Range carries the size) does it in one request; this default
  // costs a Head and a GetRange.
  virtual Result<ObjectTail> GetTail(const std::string& key, size_t n) const {
    ASSIGN_OR_RETURN(std::optional<uint64_t> size, Head(key));
    if (!size) return Status::NotFound(Describe(key));
    ObjectTail tail;
    tail.size = *size;
    tail.bytes.resize(static_cast<size_t>(std::min<uint64_t>(n, *size)));
    ASSIGN_OR_RETURN(size_t got, GetRange(key, *size - tail.bytes.size(),
                                          {reinterpret_cast<uint8_t*>(tail.bytes.data()),
                                           tail.bytes.size()}));
    if (got != tail.bytes.size()) return Status::IoError(Describe(key) + ": shorter than its size");
    return tail;
  }
  // Objects whose key starts with `prefix`, in key order, those after
  // `start_after` only (empty: from the first). `visit` returns false to stop.
  virtual Status List(const std::string& prefix, const std::string& start_after,
                      const std::function<bool(const ObjectInfo&)>& visit) const = 0;
  // Removing an absent key is OK.
  virtual Status Delete(const std::string& key) = 0;
  // Where a key lives, for messages: "s3://bucket/prefix/key" or a path.
  virtual std::string Describe(const std::string& key) const = 0;
  // Aborts the multipart uploads of keys under `prefix` that were started
  // and never completed nor aborted (their writer was killed, or lost the
  // gateway, mid-upload): their parts cost storage yet show in no listing.
  // Returns how many. Only a writer holding the lease calls it, before it
  // writes, so every upload still open then is a dead writer's. Stores
  // without multipart uploads have nothing to abort.
  virtual Result<size_t> AbortIncompleteUploads(const std::string& /*prefix*/) { return size_t{0}; }
};

}  // namespace dcmfs
