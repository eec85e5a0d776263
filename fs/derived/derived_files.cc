#include "fs/derived/derived_files.h"

#include <algorithm>
#include <utility>

#include "base/log.h"

namespace dcmfs {
namespace {

// Fixed per-entry overhead charged to the memory LRU, so that file-backed
// contents (which keep no bytes in memory) still count against the bound.
constexpr uint64_t kEntryOverhead = 256;
// Chunk size when streaming a produced content into the persistent cache.
constexpr size_t kCopyChunk = 1u << 20;
// Results that live in memory are persisted in the background while they
// are served, as long as the memory they hold fits the queue's bound (a mesh
// holds half its STL's size: a 170 MB bone.stl is served from its first
// byte instead of after a 170 MB write and fsync). Others are streamed to
// the cache before being served, and then served from the file, so memory
// does not hold them.
// Bound on memory held by contents waiting for the background writer.
constexpr uint64_t kBackgroundQueueMaxBytes = 128u << 20;
// How long a stopping mount keeps persisting its queue before dropping it.
constexpr std::chrono::seconds kShutdownDrainTime{3};

// A persistent-cache entry seen through the DerivedContent interface.
class CachedContent final : public DerivedContent {
 public:
  explicit CachedContent(std::shared_ptr<CachedFile> file) : file_(std::move(file)) {}
  uint64_t size() const override { return file_->size(); }
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) const override {
    return file_->ReadAt(offset, out);
  }
  uint64_t memory_bytes() const override { return 0; }

 private:
  std::shared_ptr<CachedFile> file_;
};

std::string MemoryKey(const DerivedKey& key) {
  std::string k = key.series_uid;
  for (const std::string* part : {&key.generation, &key.kind, &key.params}) {
    k.push_back('\0');
    k.append(*part);
  }
  return k;
}

}  // namespace

struct DerivedFiles::Flight {
  bool done = false;
  std::optional<Result<Content>> result;
};

DerivedFiles::DerivedFiles(const DerivedFilesOptions& options, std::unique_ptr<DerivedCache> cache)
    : options_(options), cache_(std::move(cache)), memory_(options.memory_bytes) {
  stats_.persistent = cache_ != nullptr;
  if (cache_ != nullptr) persist_thread_ = std::thread([this] { PersistLoop(); });
}

DerivedFiles::~DerivedFiles() {
  if (!persist_thread_.joinable()) return;
  {
    std::lock_guard lock(persist_mu_);
    // The loop drains what is queued for a short while, then ends: the
    // entries are recomputable, and an unmount must not wait for a long
    // queue of fsyncs on a busy disk.
    persist_stopping_ = true;
    persist_deadline_ = std::chrono::steady_clock::now() + kShutdownDrainTime;
  }
  persist_cv_.notify_all();
  persist_thread_.join();
}

bool DerivedFiles::QueuePersist(const DerivedKey& key, const Content& content) {
  const uint64_t held = content->memory_bytes();
  if (held == 0) return false;
  {
    std::lock_guard lock(persist_mu_);
    if (persist_queued_bytes_ + held > kBackgroundQueueMaxBytes) return false;
    persist_queue_.emplace_back(key, content);
    persist_queued_bytes_ += held;
  }
  persist_cv_.notify_one();
  return true;
}

// Thread entry point: the one place this thread may catch (STYLE.md).
void DerivedFiles::PersistLoop() {
  while (true) {
    std::pair<DerivedKey, Content> job;
    {
      std::unique_lock lock(persist_mu_);
      persist_cv_.wait(lock, [&] { return persist_stopping_ || !persist_queue_.empty(); });
      if (persist_queue_.empty()) return;  // stopping and drained
      if (persist_stopping_ && std::chrono::steady_clock::now() > persist_deadline_) {
        DCMFS_LOG(Info) << "derived cache: " << persist_queue_.size()
                        << " files left unpersisted at stop (recomputed on demand)";
        return;
      }
      job = std::move(persist_queue_.front());
      persist_queue_.pop_front();
    }
    try {
      Result<Content> stored = StoreInPersistentCache(job.first, job.second);
      if (!stored.ok()) {
        DCMFS_LOG(Warning) << "derived cache store failed: " << stored.status().ToString();
      }
    } catch (const std::exception& e) {
      DCMFS_LOG(Error) << "derived cache writer: " << e.what();
    }
    std::lock_guard lock(persist_mu_);
    persist_queued_bytes_ -= job.second->memory_bytes();
  }
}

std::unique_ptr<DerivedFiles> DerivedFiles::OpenForArchive(
    const DerivedFilesOptions& options, const DerivedCacheOptions& cache_options) {
  Result<std::unique_ptr<DerivedCache>> cache = DerivedCache::Open(cache_options);
  if (!cache.ok()) {
    // Another mount of the same archive owns the cache (Busy), or it is
    // unusable: derived files still work, they are just not kept across mounts.
    DCMFS_LOG(Warning) << "derived cache " << cache_options.dir
                       << " not used, running memory-only: " << cache.status().ToString();
    return std::make_unique<DerivedFiles>(options, nullptr);
  }
  return std::make_unique<DerivedFiles>(options, std::move(cache).value());
}

void DerivedFiles::Register(std::unique_ptr<DerivedProvider> provider) {
  CHECK(provider != nullptr);
  providers_.push_back(std::move(provider));
}

std::vector<std::string> DerivedFiles::Names(const SeriesContext& ctx) const {
  std::vector<std::string> names;
  for (const auto& provider : providers_) {
    for (std::string& name : provider->Names(ctx)) names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::vector<VirtualChild> DerivedFiles::List(const SeriesContext& ctx, std::string_view folder,
                                             bool pixels_only) const {
  std::vector<VirtualChild> children;
  for (const auto& provider : providers_) {
    if (pixels_only && !provider->pixels_only()) continue;
    for (VirtualChild& child : provider->List(ctx, folder)) {
      child.size_is_cheap = child.folder || provider->size_is_cheap();
      children.push_back(std::move(child));
    }
  }
  // A name that is a folder for one provider and a file for another: the
  // folder wins (sorted first among equals), the file is unreachable.
  std::sort(children.begin(), children.end(), [](const VirtualChild& a, const VirtualChild& b) {
    return a.name != b.name ? a.name < b.name : a.folder > b.folder;
  });
  children.erase(std::unique(children.begin(), children.end(),
                             [](const VirtualChild& a, const VirtualChild& b) {
                               return a.name == b.name;
                             }),
                 children.end());
  return children;
}

bool DerivedFiles::IsFolder(const SeriesContext& ctx, std::string_view path,
                            bool pixels_only) const {
  for (const auto& provider : providers_) {
    if (pixels_only && !provider->pixels_only()) continue;
    if (provider->IsFolder(ctx, path)) return true;
  }
  return false;
}

InodeId DerivedFiles::FolderInodeOf(const SeriesContext& ctx, std::string_view path) {
  std::string key = ctx.series.uid;
  key.append("/");
  key.append(path);
  key.append("/");  // never equal to a file's key
  return InodeFor(NodeKind::kVirtualFolder, ctx.view, key);
}

Result<std::shared_ptr<DerivedContent>> DerivedFiles::GetByKind(const SeriesContext& ctx,
                                                                std::string_view kind,
                                                                std::string_view params) {
  for (const auto& provider : providers_) {
    if (provider->kind() == kind) {
      return Get(ctx, DerivedName{provider.get(), std::string(kind), std::string(params)});
    }
  }
  return Status::NotFound("no derived-file provider of kind " + std::string(kind));
}

std::optional<DerivedName> DerivedFiles::Match(const SeriesContext& ctx, std::string_view name,
                                               bool pixels_only) const {
  for (const auto& provider : providers_) {
    if (pixels_only && !provider->pixels_only()) continue;
    std::optional<std::string> params = provider->Match(ctx, name);
    if (params) return DerivedName{provider.get(), std::string(name), std::move(*params)};
  }
  return std::nullopt;
}

InodeId DerivedFiles::InodeOf(const DerivedProvider& provider, const SeriesContext& ctx,
                              std::string_view name) {
  // The same virtual file is one inode in both views unless its bytes differ by view.
  View view = provider.view_dependent() ? ctx.view : View::kPatients;
  std::string key = ctx.series.uid;
  key.push_back('/');
  key.append(name);
  return InodeFor(NodeKind::kVirtual, view, key);
}

Result<std::shared_ptr<DerivedContent>> DerivedFiles::Get(const SeriesContext& ctx,
                                                          const DerivedName& name) {
  CHECK(name.provider != nullptr);
  DerivedKey key{ctx.series.uid, ctx.series.generation, name.provider->kind(), name.params};
  const std::string mkey = MemoryKey(key);
  std::shared_ptr<Flight> flight;
  {
    std::unique_lock lock(mu_);
    if (std::optional<Content> hit = memory_.Get(mkey)) {
      ++stats_.memory_hits;
      return *hit;
    }
    auto it = flights_.find(mkey);
    if (it != flights_.end()) {
      // Single flight: someone is producing this key; wait for their result.
      std::shared_ptr<Flight> other = it->second;
      ++stats_.shared_waits;
      flight_done_.wait(lock, [&] { return other->done; });
      return *other->result;
    }
    flight = std::make_shared<Flight>();
    flights_.emplace(mkey, flight);
  }

  // Completes the flight even if production unwinds with an exception, so
  // that waiters never hang.
  std::optional<Result<Content>> result;
  struct Finisher {
    DerivedFiles* self;
    const std::string& mkey;
    std::shared_ptr<Flight>& flight;
    std::optional<Result<Content>>& result;
    ~Finisher() {
      {
        std::lock_guard lock(self->mu_);
        if (!result) result.emplace(Status::Internal("derived file production aborted"));
        if (result->ok()) {
          const Content& c = result->value();
          self->memory_.Put(mkey, c, c->memory_bytes() + kEntryOverhead);
          ++self->stats_.produced;
        } else {
          ++self->stats_.failed;
        }
        flight->result = *result;
        flight->done = true;
        self->flights_.erase(mkey);
      }
      self->flight_done_.notify_all();
    }
  } finisher{this, mkey, flight, result};
  result.emplace(ProduceOrLoad(ctx, name, key));
  return *result;
}

Result<DerivedFiles::Content> DerivedFiles::ProduceOrLoad(const SeriesContext& ctx,
                                                          const DerivedName& name,
                                                          const DerivedKey& key) {
  const bool persistent = cache_ != nullptr && name.provider->persist();
  if (persistent) {
    Result<std::shared_ptr<CachedFile>> found = cache_->Find(key);
    if (found.ok() && *found != nullptr) {
      std::lock_guard lock(mu_);
      ++stats_.persistent_hits;
      return Content(std::make_shared<CachedContent>(*found));
    }
    if (!found.ok()) {
      DCMFS_LOG(Warning) << "derived cache lookup failed: " << found.status().ToString();
    }
  }
  ASSIGN_OR_RETURN(Content content, name.provider->Produce(ctx, name.params));
  CHECK(content != nullptr) << name.provider->kind();
  if (!persistent) return content;
  if (QueuePersist(key, content)) return content;
  Result<Content> stored = StoreInPersistentCache(key, content);
  if (!stored.ok()) {
    // The content is good; only keeping it failed (disk full...). Serve it anyway.
    DCMFS_LOG(Warning) << "derived cache store failed: " << stored.status().ToString();
    return content;
  }
  return stored;
}

Result<DerivedFiles::Content> DerivedFiles::StoreInPersistentCache(const DerivedKey& key,
                                                                   const Content& content) {
  ASSIGN_OR_RETURN(std::unique_ptr<CacheWriter> writer, cache_->Begin(key));
  std::vector<uint8_t> chunk(std::min<uint64_t>(kCopyChunk, std::max<uint64_t>(content->size(), 1)));
  uint64_t offset = 0;
  while (offset < content->size()) {
    ASSIGN_OR_RETURN(size_t n, content->ReadAt(offset, chunk));
    if (n == 0) return Status::Internal("derived content shorter than its size");
    RETURN_IF_ERROR(writer->Append(std::span<const uint8_t>(chunk.data(), n)));
    offset += n;
  }
  ASSIGN_OR_RETURN(std::shared_ptr<CachedFile> file, writer->Commit());
  // Serve from the file: the memory LRU then holds no copy of large outputs.
  return Content(std::make_shared<CachedContent>(std::move(file)));
}

DerivedFilesStats DerivedFiles::Stats() const {
  std::lock_guard lock(mu_);
  DerivedFilesStats s = stats_;
  s.memory_entries = memory_.size();
  s.memory_bytes = memory_.total_cost();
  return s;
}

std::optional<DerivedCacheStats> DerivedFiles::PersistentStats() const {
  if (cache_ == nullptr) return std::nullopt;
  return cache_->Stats();
}

}  // namespace dcmfs
