// DerivedFiles: the registry of derived-file providers and the machinery
// around them: single-flight production, an in-memory LRU of contents, and
// the persistent cache in ARCHIVE/cache (index/derived_cache.h).
//
// Thread-safe. Lock order: mu_ is a leaf lock (never held while producing,
// reading the persistent cache or calling into a provider).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <thread>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/lru.h"
#include "base/status.h"
#include "fs/derived/provider.h"
#include "index/derived_cache.h"

namespace dcmfs {

struct DerivedFilesOptions {
  // Bound on the bytes of produced contents kept in memory.
  uint64_t memory_bytes = 256ull << 20;
};

struct DerivedFilesStats {
  uint64_t produced = 0;       // Produce() calls that succeeded
  uint64_t failed = 0;         // Produce() calls that failed
  uint64_t memory_hits = 0;    // served from the in-memory LRU
  uint64_t shared_waits = 0;   // callers that waited for another caller's production
  uint64_t persistent_hits = 0;
  uint64_t memory_entries = 0, memory_bytes = 0;
  bool persistent = false;     // whether a persistent cache is attached
};

// A provider's resolved file in one series folder.
struct DerivedName {
  const DerivedProvider* provider = nullptr;
  std::string name;
  std::string params;
};

class DerivedFiles {
 public:
  // `cache` may be null: memory only (e.g. another mount owns ARCHIVE/cache).
  DerivedFiles(const DerivedFilesOptions& options, std::unique_ptr<DerivedCache> cache);
  ~DerivedFiles();
  DerivedFiles(const DerivedFiles&) = delete;
  DerivedFiles& operator=(const DerivedFiles&) = delete;

  // Opens ARCHIVE/cache with DerivedCache::Open; if another process holds it
  // (Busy) or it cannot be opened, logs a warning and runs memory-only.
  static std::unique_ptr<DerivedFiles> OpenForArchive(const DerivedFilesOptions& options,
                                                      const DerivedCacheOptions& cache_options);

  // Registers a provider; call before first use (not synchronised with Get).
  void Register(std::unique_ptr<DerivedProvider> provider);
  // The providers' names for this series folder, sorted, without duplicates.
  std::vector<std::string> Names(const SeriesContext& ctx) const;
  // The children of the virtual folder `folder` ("" = the series folder),
  // merged over providers, sorted by name, without duplicates.
  // With `pixels_only`, only providers whose pixels_only() is true count.
  std::vector<VirtualChild> List(const SeriesContext& ctx, std::string_view folder,
                                 bool pixels_only = false) const;
  // Whether some provider has a virtual folder at `path`.
  bool IsFolder(const SeriesContext& ctx, std::string_view path, bool pixels_only = false) const;
  // The provider that claims `name` (a path in the series folder), or nullopt.
  std::optional<DerivedName> Match(const SeriesContext& ctx, std::string_view name,
                                   bool pixels_only = false) const;
  // The inode of a virtual file (stable: derived from series, name and, for
  // view-dependent providers, the view).
  static InodeId InodeOf(const DerivedProvider& provider, const SeriesContext& ctx,
                         std::string_view name);

  // The inode of a virtual folder at `path` (per view: folders are not shared).
  static InodeId FolderInodeOf(const SeriesContext& ctx, std::string_view path);

  // The content of `name` (resolved by Match) for ctx's series generation.
  // Produced at most once at a time per key: concurrent callers wait for the
  // one production. Errors are not cached (the next call retries).
  Result<std::shared_ptr<DerivedContent>> Get(const SeriesContext& ctx, const DerivedName& name);

  // The content a provider of `kind` (typically a hidden one) produces for
  // `params`, with the same single flight and caching as Get. NotFound if no
  // provider has that kind.
  Result<std::shared_ptr<DerivedContent>> GetByKind(const SeriesContext& ctx, std::string_view kind,
                                                    std::string_view params);

  DerivedFilesStats Stats() const;
  // Stats of the persistent cache, nullopt when memory-only.
  std::optional<DerivedCacheStats> PersistentStats() const;

 private:
  using Content = std::shared_ptr<DerivedContent>;
  struct Flight;  // one production in progress

  Result<Content> ProduceOrLoad(const SeriesContext& ctx, const DerivedName& name,
                                const DerivedKey& key);
  Result<Content> StoreInPersistentCache(const DerivedKey& key, const Content& content);
  // Small in-memory results are written to the persistent cache by a
  // background thread, so the first reader does not wait for the fsync
  // (crash safety is the cache's: temp, fsync, rename, record). False if the
  // queue is full; the caller then stores synchronously.
  bool QueuePersist(const DerivedKey& key, const Content& content);
  void PersistLoop();

  const DerivedFilesOptions options_;
  const std::unique_ptr<DerivedCache> cache_;  // null: memory only
  std::vector<std::unique_ptr<DerivedProvider>> providers_;

  mutable std::mutex mu_;
  std::condition_variable flight_done_;                     // signalled under mu_
  LruCache<std::string, Content> memory_;                   // GUARDED_BY(mu_)
  std::map<std::string, std::shared_ptr<Flight>> flights_;  // GUARDED_BY(mu_)
  DerivedFilesStats stats_;                                 // GUARDED_BY(mu_)

  // The background writer. Lock order: persist_mu_ is a leaf.
  std::mutex persist_mu_;
  std::condition_variable persist_cv_;
  std::deque<std::pair<DerivedKey, Content>> persist_queue_;  // GUARDED_BY(persist_mu_)
  uint64_t persist_queued_bytes_ = 0;                         // GUARDED_BY(persist_mu_)
  bool persist_stopping_ = false;                             // GUARDED_BY(persist_mu_)
  std::chrono::steady_clock::time_point persist_deadline_;    // GUARDED_BY(persist_mu_)
  std::thread persist_thread_;
};

}  // namespace dcmfs
