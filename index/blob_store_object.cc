// The blob store over any ObjectStore (index/blob_store.h): one object per
// blob, key blobs/<ab>/<64 hex>.zst, in the same zstd seekable format as the
// local store (codecs/zstd_seekable.h), so a range of the original file maps
// to a range of the object.
//
// Reads: the seek table is fetched once per blob with one request (the last
// 512 bytes by a suffix-range GET, whose reply also gives the object's size;
// a second GET only for a longer table) and kept in an LRU of tables; a
// ReadAt then fetches, with one ranged GET per run of consecutive missing
// frames, only the frames that cover it. Decompressed frames are shared by
// all readers in an LRU bounded by frame_cache_bytes. Below it, when
// configured, a bounded on-disk cache (index/internal/frame_disk_cache.h)
// keeps the compressed frames and seek tables fetched, so a remount does not
// fetch them again and they keep serving while the store is unreachable.
//
// Frames are cut where a reader's pieces begin (index/internal/frame_plan.h)
// and are at most max_frame_bytes long: smaller than the local store's
// 1 MiB, because over HTTP every byte of a frame is paid for, and a tile of a
// slide is tens of KiB.
//
// Writes: Put compresses in memory and uploads one object; PutFile streams
// the file through the compressor into a local temp file (memory bounded by
// a frame) and uploads that (multipart when large). Either returns only
// after the store acknowledged the object.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <random>
#include <utility>

#include "base/log.h"
#include "base/lru.h"
#include "codecs/zstd_seekable.h"
#include "index/blob_store.h"
#include "index/internal/frame_disk_cache.h"
#include "index/internal/frame_plan.h"

namespace dcmfs {
namespace {

// The first GET of a blob's tail: footer and table of up to ~60 frames (8
// bytes each: ~4 MiB of native pixel data in 64 KiB frames, 15 MiB in
// 256 KiB ones); a longer table costs a second GET. Small, because a series
// is hundreds of small blobs and each pays it once.
constexpr uint64_t kTailGuess = 512;

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string KeyOf(const Digest& digest) {
  const std::string hex = ToHex(digest);
  return "blobs/" + hex.substr(0, 2) + "/" + hex + ".zst";
}

std::string DigestKey(const Digest& d) { return std::string(reinterpret_cast<const char*>(d.data()), d.size()); }

// Caches and counters shared by the store and its readers (readers may outlive the store).
struct Shared {
  Shared(size_t frame_bytes, size_t tables_n) : frames(frame_bytes), tables(tables_n) {}
  std::shared_ptr<ObjectStore> store;
  std::unique_ptr<FrameDiskCache> disk;  // null: no disk cache
  std::mutex mu;
  LruCache<std::string, std::shared_ptr<const std::string>> frames;  // GUARDED_BY(mu)
  LruCache<std::string, std::shared_ptr<const SeekTable>> tables;    // GUARDED_BY(mu); cost 1
  std::atomic<uint64_t> requests{0}, bytes_fetched{0}, frame_hits{0}, frame_misses{0}, disk_hits{0};

  Result<size_t> Fetch(const std::string& key, uint64_t offset, std::span<uint8_t> out) {
    requests.fetch_add(1, std::memory_order_relaxed);
    DCMFS_LOG(Debug) << "blob store: GET " << key << " bytes " << offset << "+" << out.size();
    auto n = store->GetRange(key, offset, out);
    if (n.ok()) bytes_fetched.fetch_add(*n, std::memory_order_relaxed);
    return n;
  }
};

// Disk cache entry names: "<64 hex>-<frame>" and "<64 hex>-t" (the tail).
std::string DiskName(const Digest& digest, size_t frame) {
  return ToHex(digest) + "-" + std::to_string(frame);
}

std::string FrameKey(const Digest& digest, size_t frame) {
  std::string key = DigestKey(digest);
  for (int i = 0; i < 8; ++i) key.push_back(static_cast<char>(frame >> (8 * i)));
  return key;
}

class ObjectBlobReader final : public BlobReader {
 public:
  ObjectBlobReader(Digest digest, std::shared_ptr<const SeekTable> table,
                   std::shared_ptr<Shared> shared)
      : digest_(digest), key_(KeyOf(digest)), table_(std::move(table)), shared_(std::move(shared)) {}

  uint64_t size() const override { return table_->decompressed_size; }

  std::vector<uint64_t> PieceStarts() const override {
    std::vector<uint64_t> starts;
    starts.reserve(table_->frames.size());
    for (const SeekTable::Frame& f : table_->frames) starts.push_back(f.decompressed_offset);
    return starts;
  }

  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) const override {
    if (offset >= size() || out.empty()) return size_t{0};
    const uint64_t end = std::min<uint64_t>(size(), offset + out.size());
    const size_t first = table_->FrameAt(offset);
    const size_t last = table_->FrameAt(end - 1);
    std::vector<std::shared_ptr<const std::string>> frames(last - first + 1);
    {
      std::lock_guard lock(shared_->mu);
      for (size_t i = first; i <= last; ++i) {
        if (auto hit = shared_->frames.Get(FrameKey(digest_, i))) {
          frames[i - first] = *hit;
          shared_->frame_hits.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
    if (shared_->disk) {
      for (size_t i = first; i <= last; ++i) {
        if (frames[i - first]) {
          shared_->disk->Touch(DiskName(digest_, i));  // hot in memory: keep it on disk too
        } else {
          frames[i - first] = FromDisk(i);
        }
      }
    }
    // Fetch each run of consecutive missing frames with one ranged GET.
    for (size_t i = first; i <= last;) {
      if (frames[i - first]) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j + 1 <= last && !frames[j + 1 - first]) ++j;
      RETURN_IF_ERROR(FetchRun(i, j, frames, first));
      i = j + 1;
    }
    size_t copied = 0;
    for (size_t i = first; i <= last; ++i) {
      const SeekTable::Frame& f = table_->frames[i];
      const std::string& data = *frames[i - first];
      const uint64_t from = std::max<uint64_t>(offset, f.decompressed_offset);
      const uint64_t to = std::min<uint64_t>(end, f.decompressed_offset + f.decompressed_size);
      std::copy_n(data.data() + (from - f.decompressed_offset), to - from,
                  out.data() + (from - offset));
      copied += static_cast<size_t>(to - from);
    }
    return copied;
  }

 private:
  // Frame i from the disk cache, decompressed and put in the memory cache;
  // null when absent or unusable (a corrupt entry was already dropped).
  std::shared_ptr<const std::string> FromDisk(size_t i) const {
    const SeekTable::Frame& f = table_->frames[i];
    std::optional<std::string> compressed = shared_->disk->Get(DiskName(digest_, i));
    if (!compressed || compressed->size() != f.compressed_size) return nullptr;
    auto decoded = DecompressFrame(AsBytes(*compressed), f.decompressed_size);
    if (!decoded.ok()) return nullptr;  // the checksum held but zstd refused: fetch again
    shared_->disk_hits.fetch_add(1, std::memory_order_relaxed);
    auto frame = std::make_shared<const std::string>(std::move(decoded).value());
    std::lock_guard lock(shared_->mu);
    shared_->frames.Put(FrameKey(digest_, i), frame, frame->size());
    return frame;
  }

  Status FetchRun(size_t a, size_t b, std::vector<std::shared_ptr<const std::string>>& frames,
                  size_t first) const {
    const SeekTable::Frame& fa = table_->frames[a];
    const SeekTable::Frame& fb = table_->frames[b];
    const uint64_t length = fb.compressed_offset + fb.compressed_size - fa.compressed_offset;
    std::vector<uint8_t> compressed(static_cast<size_t>(length));
    ASSIGN_OR_RETURN(size_t n, shared_->Fetch(key_, fa.compressed_offset, compressed));
    const std::string where = shared_->store->Describe(key_);
    if (n != length) return Status::Corruption(where + ": shorter than its seek table says");
    for (size_t i = a; i <= b; ++i) {
      shared_->frame_misses.fetch_add(1, std::memory_order_relaxed);
      const SeekTable::Frame& f = table_->frames[i];
      auto decoded = DecompressFrame(
          std::span<const uint8_t>(compressed).subspan(f.compressed_offset - fa.compressed_offset,
                                                       f.compressed_size),
          f.decompressed_size);
      if (!decoded.ok()) return decoded.status().WithContext(where);
      if (shared_->disk) {
        shared_->disk->Put(DiskName(digest_, i),
                           std::string_view(reinterpret_cast<const char*>(compressed.data()) +
                                                (f.compressed_offset - fa.compressed_offset),
                                            f.compressed_size));
      }
      auto frame = std::make_shared<const std::string>(std::move(decoded).value());
      frames[i - first] = frame;
      std::lock_guard lock(shared_->mu);
      shared_->frames.Put(FrameKey(digest_, i), frame, frame->size());
    }
    return Status::Ok();
  }

  Digest digest_;
  std::string key_;
  std::shared_ptr<const SeekTable> table_;
  std::shared_ptr<Shared> shared_;
};

class ObjectBlobStore final : public BlobStore {
 public:
  ObjectBlobStore(std::shared_ptr<ObjectStore> store, const ObjectBlobStoreOptions& options)
      : options_(options),
        shared_(std::make_shared<Shared>(options.frame_cache_bytes, options.table_cache_entries)) {
    shared_->store = std::move(store);
    if (!options_.disk_cache_dir.empty() && options_.disk_cache_bytes > 0) {
      shared_->disk = FrameDiskCache::Open(options_.disk_cache_dir, options_.disk_cache_bytes);
    }
    options_.max_frame_bytes = std::clamp<uint32_t>(options_.max_frame_bytes, 4096, kSeekableFrameSize);
    options_.max_native_pixel_frame_bytes =
        std::clamp<uint32_t>(options_.max_native_pixel_frame_bytes, 4096, kSeekableFrameSize);
  }

  Result<bool> Put(const Digest& digest, std::span<const uint8_t> original) override;
  Result<bool> PutFile(const Digest& digest, const std::string& path) override;

  Result<bool> Contains(const Digest& digest) const override {
    shared_->requests.fetch_add(1, std::memory_order_relaxed);
    ASSIGN_OR_RETURN(std::optional<uint64_t> size, shared_->store->Head(KeyOf(digest)));
    return size.has_value();
  }

  Result<std::shared_ptr<BlobReader>> Open(const Digest& digest) const override {
    ASSIGN_OR_RETURN(std::shared_ptr<const SeekTable> table, LoadTable(digest));
    return std::shared_ptr<BlobReader>(std::make_shared<ObjectBlobReader>(digest, table, shared_));
  }

  Result<std::string> ReadAll(const Digest& digest) const override {
    shared_->requests.fetch_add(1, std::memory_order_relaxed);
    ASSIGN_OR_RETURN(std::string bytes, shared_->store->Get(KeyOf(digest)));
    shared_->bytes_fetched.fetch_add(bytes.size(), std::memory_order_relaxed);
    auto all = DecompressAll(AsBytes(bytes));
    if (!all.ok()) return all.status().WithContext(Locate(digest));
    return all;
  }

  Status ForEach(const std::function<bool(const Digest&)>& visit) const override {
    return shared_->store->List("blobs/", "", [&](const ObjectInfo& o) {
      // blobs/ab/<64 hex>.zst; anything else (strays, other tools' objects) is skipped.
      if (o.key.size() != 6 + 3 + 68 || !o.key.ends_with(".zst")) return true;
      const std::string hex = o.key.substr(9, 64);
      std::optional<Digest> d = DigestFromHex(hex);
      if (!d || o.key.compare(6, 2, hex, 0, 2) != 0) return true;
      return visit(*d);
    });
  }

  std::string Locate(const Digest& digest) const override {
    return shared_->store->Describe(KeyOf(digest));
  }

  // Staged uploads of this archive's writer; an interrupted multipart upload
  // was aborted by the client, or is left to the bucket's lifecycle rules.
  Status CleanupTemporaries() override {
    if (options_.tmp_dir.empty()) return Status::Ok();
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(options_.tmp_dir, ec)) {
      if (e.path().filename().string().starts_with("blob-upload-")) std::filesystem::remove(e.path(), ec);
    }
    return Status::Ok();
  }

  BlobStoreStats Stats() const override {
    BlobStoreStats s{shared_->requests.load(), shared_->bytes_fetched.load(),
                     shared_->frame_hits.load(), shared_->frame_misses.load()};
    s.disk_hits = shared_->disk_hits.load();
    if (shared_->disk) {
      const FrameDiskCacheStats d = shared_->disk->Stats();
      s.disk_corrupt = d.corrupt;
      s.disk_bytes = d.bytes;
      s.disk_evictions = d.evictions;
    }
    return s;
  }

 private:
  Result<std::shared_ptr<const SeekTable>> LoadTable(const Digest& digest) const;
  Result<ObjectTail> FetchTail(const Digest& digest) const;
  Result<SeekTable> ParseTail(const Digest& digest, const ObjectTail& tail) const;
  Status Compress(const ReadFn& read, uint64_t size, const std::function<Status(std::string&)>& sink,
                  Sha256Stream* sha) const;

  ObjectBlobStoreOptions options_;
  std::shared_ptr<Shared> shared_;
};

Result<std::shared_ptr<const SeekTable>> ObjectBlobStore::LoadTable(const Digest& digest) const {
  const std::string dkey = DigestKey(digest);
  {
    std::lock_guard lock(shared_->mu);
    if (auto hit = shared_->tables.Get(dkey)) return *hit;
  }
  // The disk cache keeps the tail as fetched: 8 bytes of object size (LE), then the bytes.
  std::optional<ObjectTail> tail;
  const std::string disk_name = ToHex(digest) + "-t";
  if (shared_->disk) {
    if (std::optional<std::string> e = shared_->disk->Get(disk_name); e && e->size() >= 8) {
      tail.emplace();
      for (int i = 0; i < 8; ++i) tail->size |= uint64_t{static_cast<uint8_t>((*e)[i])} << (8 * i);
      tail->bytes = e->substr(8);
    }
  }
  Result<SeekTable> table = Status::NotFound(disk_name);
  if (tail) table = ParseTail(digest, *tail);
  if (tail && table.ok()) {
    shared_->disk_hits.fetch_add(1, std::memory_order_relaxed);
  } else {
    ASSIGN_OR_RETURN(tail, FetchTail(digest));
    table = ParseTail(digest, *tail);
    if (!table.ok()) return table.status();
    if (shared_->disk) {
      std::string entry(8, '\0');
      for (int i = 0; i < 8; ++i) entry[i] = static_cast<char>(tail->size >> (8 * i));
      shared_->disk->Put(disk_name, entry + tail->bytes);
    }
  }
  auto shared = std::make_shared<const SeekTable>(std::move(table).value());
  std::lock_guard lock(shared_->mu);
  shared_->tables.Put(dkey, shared, 1);
  return shared;
}

// One suffix-range GET of the last kTailGuess bytes; a second for a longer
// table (a very large blob), so that `tail` then holds the whole table.
Result<ObjectTail> ObjectBlobStore::FetchTail(const Digest& digest) const {
  const std::string key = KeyOf(digest);
  shared_->requests.fetch_add(1, std::memory_order_relaxed);
  DCMFS_LOG(Debug) << "blob store: GET " << key << " last " << kTailGuess << " bytes";
  auto got = shared_->store->GetTail(key, kTailGuess);
  if (!got.ok()) return got.status();
  ObjectTail tail = std::move(got).value();
  shared_->bytes_fetched.fetch_add(tail.bytes.size(), std::memory_order_relaxed);
  if (tail.size < kSeekFooterSize) return Status::Corruption(Locate(digest) + ": too short for a blob");
  auto length = SeekTableLength(AsBytes(tail.bytes).last(kSeekFooterSize), tail.size);
  if (!length.ok()) return length.status().WithContext(Locate(digest));
  if (*length > tail.bytes.size()) {
    std::vector<uint8_t> longer(static_cast<size_t>(*length));
    ASSIGN_OR_RETURN(size_t n, shared_->Fetch(key, tail.size - *length, longer));
    if (n != longer.size()) return Status::Corruption(Locate(digest) + ": shorter than its size");
    tail.bytes.assign(longer.begin(), longer.end());
  }
  return tail;
}

Result<SeekTable> ObjectBlobStore::ParseTail(const Digest& digest, const ObjectTail& tail) const {
  if (tail.size < kSeekFooterSize || tail.bytes.size() < kSeekFooterSize) {
    return Status::Corruption(Locate(digest) + ": too short for a blob");
  }
  auto length = SeekTableLength(AsBytes(tail.bytes).last(kSeekFooterSize), tail.size);
  if (!length.ok()) return length.status().WithContext(Locate(digest));
  if (*length > tail.bytes.size()) return Status::Corruption(Locate(digest) + ": tail too short");
  auto table = ParseSeekTable(AsBytes(tail.bytes).last(static_cast<size_t>(*length)), tail.size);
  if (!table.ok()) return table.status().WithContext(Locate(digest));
  return table;
}

// Plans the frames, then compresses frame by frame, handing each piece of
// output to `sink` (and the original bytes to `sha` when given).
Status ObjectBlobStore::Compress(const ReadFn& read, uint64_t size,
                                 const std::function<Status(std::string&)>& sink,
                                 Sha256Stream* sha) const {
  ASSIGN_OR_RETURN(std::vector<uint32_t> plan, PlanFrames(read, size, options_.max_frame_bytes,
                                                                options_.max_native_pixel_frame_bytes));
  SeekableWriter writer(options_.compression_level);
  std::vector<uint8_t> chunk;
  std::string out;
  uint64_t offset = 0;
  for (uint32_t frame : plan) {
    chunk.resize(frame);
    size_t got = 0;
    while (got < frame) {
      ASSIGN_OR_RETURN(size_t n, read(offset + got, std::span<uint8_t>(chunk).subspan(got)));
      if (n == 0) return Status::DataLoss("the file shrank while being stored");
      got += n;
    }
    if (sha != nullptr) sha->Update(chunk);
    out.clear();
    writer.AddFrame(chunk, out);
    RETURN_IF_ERROR(sink(out));
    offset += frame;
  }
  out.clear();
  writer.Finish(out);
  return sink(out);
}

Result<bool> ObjectBlobStore::Put(const Digest& digest, std::span<const uint8_t> original) {
  ASSIGN_OR_RETURN(bool present, Contains(digest));
  if (present) return false;
  const ReadFn read = [&](uint64_t offset, std::span<uint8_t> out) -> Result<size_t> {
    if (offset >= original.size()) return size_t{0};
    const size_t n = std::min<size_t>(out.size(), original.size() - offset);
    std::copy_n(original.data() + offset, n, out.data());
    return n;
  };
  std::string compressed;
  RETURN_IF_ERROR(Compress(read, original.size(), [&](std::string& piece) {
    compressed += piece;
    return Status::Ok();
  }, nullptr));
  RETURN_IF_ERROR(shared_->store->Put(KeyOf(digest), AsBytes(compressed)));
  return true;
}

Result<bool> ObjectBlobStore::PutFile(const Digest& digest, const std::string& path) {
  ASSIGN_OR_RETURN(bool present, Contains(digest));
  if (present) return false;
  const int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Status::FromErrno(path, errno);
  struct stat st;
  const bool stat_ok = ::fstat(in, &st) == 0;
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::error_code ec;
  std::filesystem::create_directories(options_.tmp_dir, ec);
  const std::string tmp = options_.tmp_dir + "/blob-upload-" + std::to_string(::getpid()) + "-" +
                          std::to_string(rng()) + ".zst";
  const int out = stat_ok ? ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
  Status s = !stat_ok ? Status::FromErrno(path, errno)
             : out < 0 ? Status::FromErrno("create " + tmp, errno) : Status::Ok();
  if (s.ok()) {
    const ReadFn read = [&](uint64_t offset, std::span<uint8_t> buf) -> Result<size_t> {
      ssize_t n;
      do {
        n = ::pread(in, buf.data(), buf.size(), static_cast<off_t>(offset));
      } while (n < 0 && errno == EINTR);
      if (n < 0) return Status::FromErrno(path, errno);
      return static_cast<size_t>(n);
    };
    Sha256Stream sha;
    s = Compress(read, static_cast<uint64_t>(st.st_size), [&](std::string& piece) -> Status {
      for (size_t done = 0; done < piece.size();) {
        const ssize_t n = ::write(out, piece.data() + done, piece.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Status::FromErrno(tmp, errno);
        done += static_cast<size_t>(n);
      }
      return Status::Ok();
    }, &sha);
    if (s.ok() && sha.Finish() != digest) {
      s = Status::DataLoss(path + ": changed while being ingested (its SHA-256 differs)");
    }
  }
  ::close(in);
  if (out >= 0) ::close(out);
  if (s.ok()) s = shared_->store->PutFile(KeyOf(digest), tmp);
  ::unlink(tmp.c_str());
  if (!s.ok()) return s;
  return true;
}

}  // namespace

Result<std::unique_ptr<BlobStore>> BlobStore::OpenObject(std::shared_ptr<ObjectStore> store,
                                                         const ObjectBlobStoreOptions& options) {
  if (store == nullptr) return Status::InvalidArgument("blob store: no object store");
  if (options.tmp_dir.empty()) return Status::InvalidArgument("blob store: no staging folder");
  return std::unique_ptr<BlobStore>(std::make_unique<ObjectBlobStore>(std::move(store), options));
}

}  // namespace dcmfs
