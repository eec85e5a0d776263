// A bounded on-disk cache of byte strings fetched from an object store
// (compressed blob frames, seek tables), per workstation: a remount does not
// fetch again what an earlier mount fetched, and reads of what is cached
// keep working while the store is unreachable.
//
// One file per entry, DIR/<first two chars of name>/<name>: an 8-byte magic,
// the SHA-256 of the payload, the payload. Written to a temp name and
// renamed (no fsync: a torn or flipped entry fails its checksum, is removed,
// and the caller fetches again). Least-recently-used entries are evicted
// once the payloads exceed `max_bytes`; the order survives a remount through
// the files' mtimes (touched on each hit). Two processes sharing one folder
// stay correct (entries are immutable, renames atomic) but each bounds only
// what it knows of.
//
// Thread-safe. Errors never reach the caller: a cache that cannot write
// simply misses (logged once).
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dcmfs {

struct FrameDiskCacheStats {
  uint64_t hits = 0, misses = 0, corrupt = 0, evictions = 0;
  uint64_t bytes = 0, entries = 0;  // payload bytes and files held now
};

class FrameDiskCache {
 public:
  // Opens (creating) `dir` and indexes what an earlier mount left there,
  // evicting down to `max_bytes`. Null if the folder cannot be created.
  static std::unique_ptr<FrameDiskCache> Open(const std::string& dir, uint64_t max_bytes);

  // The payload stored under `name` ([0-9a-z-]+), or nullopt (absent, or
  // corrupt: then the file is removed and counted).
  std::optional<std::string> Get(const std::string& name);
  // Marks `name` as just used (a hit in a cache above this one), so that
  // what stays hot in memory is not evicted from disk as the oldest fetch.
  // In memory only: the files' mtimes order the next mount's LRU.
  void Touch(const std::string& name);
  // Stores `payload` under `name` (replacing), then evicts to the bound.
  // A payload larger than the whole bound is not stored.
  void Put(const std::string& name, std::string_view payload);

  FrameDiskCacheStats Stats() const;

 private:
  FrameDiskCache(std::string dir, uint64_t max_bytes)
      : dir_(std::move(dir)), max_bytes_(max_bytes) {}
  struct Entry {
    uint64_t bytes = 0;
    std::list<std::string>::iterator pos;  // in lru_ (front: most recent)
  };
  std::string PathOf(const std::string& name) const;
  void Scan();
  void EvictLocked();                                       // REQUIRES(mu_)
  void ForgetLocked(const std::string& name, bool unlink);  // REQUIRES(mu_)

  const std::string dir_;
  const uint64_t max_bytes_;
  mutable std::mutex mu_;                           // leaf
  std::list<std::string> lru_;                      // GUARDED_BY(mu_)
  std::unordered_map<std::string, Entry> entries_;  // GUARDED_BY(mu_)
  uint64_t bytes_ = 0;                              // GUARDED_BY(mu_)
  std::atomic<uint64_t> hits_{0}, misses_{0}, corrupt_{0}, evictions_{0};
  std::atomic<bool> write_warned_{false};
};

}  // namespace dcmfs
