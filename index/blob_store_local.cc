// The local-directory blob store: ARCHIVE/blobs/ab/<64 hex>.zst.
//
// One level of 256 folders, as git does: a second level (ab/cd/) would cost
// a mkdir and an fsync per new folder for most of the first 65,536 blobs
// (measured: a third of ingest's time went to ext4 creating folders), while
// ext4's hashed directories keep lookups fast with 10^5 entries per folder.
//
// Each blob is the zstd seekable format (codecs/zstd_seekable.h). A reader
// reads the seek table once (tables are cached per digest) and then only the
// frames that cover a read; decompressed frames are shared by all readers in
// one LRU bounded by LocalBlobStoreOptions::frame_cache_bytes.
//
// Durability of Put follows the usual POSIX recipe: write a temp file in
// blobs/tmp/, fsync it, rename it into place, fsync the destination folder.
// A crash leaves either no blob or a complete one, plus at worst a stray
// temp file that CleanupTemporaries removes.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/lru.h"
#include "codecs/sha256.h"
#include "codecs/zstd_seekable.h"
#include "index/blob_store.h"

namespace dcmfs {
namespace {

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Status PreadFully(int fd, uint64_t offset, std::span<uint8_t> out, const std::string& name) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd, out.data() + done, out.size() - done,
                              static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(name, errno);
    }
    if (n == 0) return Status::Corruption(name + ": unexpected end of file");
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status WriteFully(int fd, std::string_view bytes, const std::string& name) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(name, errno);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status FsyncPath(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return Status::FromErrno("open " + path, errno);
  if (::fsync(fd.get()) != 0) return Status::FromErrno("fsync " + path, errno);
  return Status::Ok();
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::FromErrno("mkdir " + path, errno);
  }
  return Status::Ok();
}

bool IsHex64(std::string_view s) { return DigestFromHex(s).has_value(); }

// Sorted names in `dir` (empty when it cannot be read).
std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// Caches shared by the store and every reader it hands out (readers may outlive the store).
struct SharedCaches {
  explicit SharedCaches(size_t frame_bytes) : frames(frame_bytes), tables(4096) {}
  std::mutex mu;
  // Key: 32 digest bytes + 8-byte frame index.
  LruCache<std::string, std::shared_ptr<const std::string>> frames;  // GUARDED_BY(mu)
  LruCache<std::string, std::shared_ptr<const SeekTable>> tables;    // GUARDED_BY(mu); cost 1
};

std::string FrameKey(const Digest& digest, size_t frame) {
  std::string key(reinterpret_cast<const char*>(digest.data()), digest.size());
  for (int i = 0; i < 8; ++i) key.push_back(static_cast<char>(frame >> (8 * i)));
  return key;
}

class LocalBlobReader final : public BlobReader {
 public:
  LocalBlobReader(int fd, std::string name, Digest digest, std::shared_ptr<const SeekTable> table,
                  std::shared_ptr<SharedCaches> caches)
      : fd_(fd), name_(std::move(name)), digest_(digest), table_(std::move(table)),
        caches_(std::move(caches)) {}

  uint64_t size() const override { return table_->decompressed_size; }

  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) const override {
    size_t copied = 0;
    while (copied < out.size() && offset + copied < size()) {
      const uint64_t pos = offset + copied;
      const size_t index = table_->FrameAt(pos);
      if (index >= table_->frames.size()) break;
      ASSIGN_OR_RETURN(std::shared_ptr<const std::string> frame, Frame(index));
      const uint64_t in_frame = pos - table_->frames[index].decompressed_offset;
      const size_t n = static_cast<size_t>(
          std::min<uint64_t>(out.size() - copied, frame->size() - in_frame));
      // memcpy: copy_n from char to uint8_t is an element loop (types differ).
      std::memcpy(out.data() + copied, frame->data() + in_frame, n);
      copied += n;
    }
    return copied;
  }

  // Frames already cached are copied; others are decompressed into `out`
  // when the read covers them whole, else into a per-thread scratch buffer
  // (reused: no allocation, no page faults) -- only up to the read's end
  // when it ends inside the frame -- and are not cached.
  Result<size_t> ReadOnce(uint64_t offset, std::span<uint8_t> out) const override {
    thread_local std::vector<uint8_t> compressed, scratch;
    size_t copied = 0;
    while (copied < out.size() && offset + copied < size()) {
      const uint64_t pos = offset + copied;
      const size_t index = table_->FrameAt(pos);
      if (index >= table_->frames.size()) break;
      const SeekTable::Frame& f = table_->frames[index];
      const uint64_t in_frame = pos - f.decompressed_offset;
      const size_t n = static_cast<size_t>(
          std::min<uint64_t>(out.size() - copied, f.decompressed_size - in_frame));
      std::span<uint8_t> dst = out.subspan(copied, n);
      if (std::shared_ptr<const std::string> hit = Cached(index)) {
        std::copy_n(hit->data() + in_frame, n, dst.data());
      } else {
        compressed.resize(f.compressed_size);
        RETURN_IF_ERROR(PreadFully(fd_.get(), f.compressed_offset, compressed, name_));
        const bool whole = in_frame == 0 && n == f.decompressed_size;
        const bool prefix = in_frame + n < f.decompressed_size;
        Status s;
        if (whole) {
          s = DecompressFrameInto(compressed, dst);
        } else if (prefix) {
          // A header read: decode only up to its end (the pixel read that
          // follows decodes the whole frame and verifies its checksum).
          scratch.resize(in_frame + n);
          s = DecompressFramePrefix(compressed, scratch);
        } else {
          scratch.resize(f.decompressed_size);
          s = DecompressFrameInto(compressed, scratch);
        }
        if (!s.ok()) return s.WithContext(name_);
        if (!whole) std::copy_n(scratch.data() + in_frame, n, dst.data());
      }
      copied += n;
    }
    return copied;
  }

 private:
  std::shared_ptr<const std::string> Cached(size_t index) const {
    const std::string key = FrameKey(digest_, index);
    std::lock_guard<std::mutex> lock(caches_->mu);
    auto hit = caches_->frames.Get(key);
    return hit ? *hit : nullptr;
  }

  Result<std::shared_ptr<const std::string>> Frame(size_t index) const {
    const std::string key = FrameKey(digest_, index);
    {
      std::lock_guard<std::mutex> lock(caches_->mu);
      if (auto hit = caches_->frames.Get(key)) return *hit;
    }
    // Decompress outside the lock; two readers racing on one frame both decode it, harmlessly.
    const SeekTable::Frame& f = table_->frames[index];
    std::vector<uint8_t> compressed(f.compressed_size);
    RETURN_IF_ERROR(PreadFully(fd_.get(), f.compressed_offset, compressed, name_));
    auto decoded = DecompressFrame(compressed, f.decompressed_size);
    if (!decoded.ok()) return decoded.status().WithContext(name_);
    auto frame = std::make_shared<const std::string>(std::move(decoded).value());
    std::lock_guard<std::mutex> lock(caches_->mu);
    caches_->frames.Put(key, frame, frame->size());
    return frame;
  }

  Fd fd_;
  std::string name_;
  Digest digest_;
  std::shared_ptr<const SeekTable> table_;
  std::shared_ptr<SharedCaches> caches_;
};

class LocalBlobStore final : public BlobStore {
 public:
  explicit LocalBlobStore(const LocalBlobStoreOptions& options)
      : options_(options), caches_(std::make_shared<SharedCaches>(options.frame_cache_bytes)) {
    top_name_ = std::filesystem::path(options_.dir).filename().string();
    if (top_name_.empty()) top_name_ = "blobs";
  }

  Result<bool> Put(const Digest& digest, std::span<const uint8_t> original) override;
  Result<bool> PutFile(const Digest& digest, const std::string& path) override;

  Result<bool> Contains(const Digest& digest) const override {
    struct stat st;
    if (::stat(PathOf(digest).c_str(), &st) == 0) return S_ISREG(st.st_mode);
    if (errno == ENOENT) return false;
    return Status::FromErrno(Locate(digest), errno);
  }

  Result<std::shared_ptr<BlobReader>> Open(const Digest& digest) const override;

  void WillNeed(const Digest& digest) const override {
    Fd fd(::open(PathOf(digest).c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() >= 0) (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_WILLNEED);
  }

  Result<std::string> ReadAll(const Digest& digest) const override {
    const std::string path = PathOf(digest);
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
      if (errno == ENOENT) return Status::NotFound(Locate(digest));
      return Status::FromErrno(Locate(digest), errno);
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(Locate(digest), errno);
    std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
    RETURN_IF_ERROR(PreadFully(fd.get(), 0, bytes, Locate(digest)));
    auto all = DecompressAll(bytes);
    if (!all.ok()) return all.status().WithContext(Locate(digest));
    return all;
  }

  Status ForEach(const std::function<bool(const Digest&)>& visit) const override {
    for (const std::string& a : ListDir(options_.dir)) {
      if (a.size() != 2 || !IsHexPair(a)) continue;
      for (const std::string& file : ListDir(options_.dir + "/" + a)) {
        if (file.size() != 68 || !file.ends_with(".zst")) continue;
        const std::string hex = file.substr(0, 64);
        if (!IsHex64(hex) || hex.compare(0, 2, a) != 0) continue;
        if (!visit(*DigestFromHex(hex))) return Status::Ok();
      }
    }
    return Status::Ok();
  }

  std::string Locate(const Digest& digest) const override {
    const std::string hex = ToHex(digest);
    return top_name_ + "/" + hex.substr(0, 2) + "/" + hex + ".zst";
  }

  Status CleanupTemporaries() override {
    std::error_code ec;
    std::filesystem::remove_all(TmpDir(), ec);
    if (ec) return Status::IoError("remove " + TmpDir() + ": " + ec.message());
    return Status::Ok();
  }

 private:
  static bool IsHexPair(std::string_view s) {
    auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
    return hex(s[0]) && hex(s[1]);
  }
  std::string TmpDir() const { return options_.dir + "/tmp"; }
  std::string PathOf(const Digest& digest) const {
    const std::string hex = ToHex(digest);
    return options_.dir + "/" + hex.substr(0, 2) + "/" + hex + ".zst";
  }
  std::string TempName() {
    thread_local std::mt19937_64 rng(std::random_device{}());
    return TmpDir() + "/" + std::to_string(::getpid()) + "-" + std::to_string(rng()) + ".tmp";
  }
  Result<std::shared_ptr<const SeekTable>> LoadTable(int fd, const Digest& digest,
                                                     uint64_t file_size) const;
  // Writes a new blob: `fill` writes the compressed bytes to a temp file,
  // which is then fsynced and renamed to the blob's name.
  Result<bool> Install(const Digest& digest,
                       const std::function<Status(int fd, const std::string&)>& fill);

  LocalBlobStoreOptions options_;
  std::string top_name_;
  std::shared_ptr<SharedCaches> caches_;
};

// Creates `path` if missing; *created says whether this call made it (its
// parent then needs an fsync for the new entry to survive a crash).
Status MakeDirNoting(const std::string& path, bool* created) {
  *created = ::mkdir(path.c_str(), 0755) == 0;
  if (!*created && errno != EEXIST) return Status::FromErrno("mkdir " + path, errno);
  return Status::Ok();
}

Result<bool> LocalBlobStore::Install(const Digest& digest,
                                     const std::function<Status(int fd, const std::string&)>& fill) {
  RETURN_IF_ERROR(MakeDir(options_.dir));
  RETURN_IF_ERROR(MakeDir(TmpDir()));
  const std::string hex = ToHex(digest);
  const std::string folder = options_.dir + "/" + hex.substr(0, 2);
  bool made = false;
  RETURN_IF_ERROR(MakeDirNoting(folder, &made));
  const std::string tmp = TempName();
  Status s;
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd.get() < 0) return Status::FromErrno("create " + tmp, errno);
    s = fill(fd.get(), tmp);
    if (s.ok() && options_.fsync && ::fsync(fd.get()) != 0) {
      s = Status::FromErrno("fsync " + tmp, errno);
    }
  }
  if (s.ok() && ::rename(tmp.c_str(), PathOf(digest).c_str()) != 0) {
    s = Status::FromErrno("rename to " + Locate(digest), errno);
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  // The new name must survive a crash too: sync the folder that holds it, and
  // a parent only when this Put created the folder below it.
  if (options_.fsync) {
    RETURN_IF_ERROR(FsyncPath(folder));
    if (made) RETURN_IF_ERROR(FsyncPath(options_.dir));
  }
  return true;
}

Result<bool> LocalBlobStore::Put(const Digest& digest, std::span<const uint8_t> original) {
  ASSIGN_OR_RETURN(bool present, Contains(digest));
  if (present) return false;
  const std::string compressed = CompressSeekable(original, options_.compression_level);
  return Install(digest, [&](int fd, const std::string& tmp) {
    return WriteFully(fd, compressed, tmp);
  });
}

// Streams `path` through the compressor one frame at a time and re-hashes it
// on the way: if the file changed since the caller hashed it, the blob would
// not match its name, so it is refused rather than stored.
Result<bool> LocalBlobStore::PutFile(const Digest& digest, const std::string& path) {
  ASSIGN_OR_RETURN(bool present, Contains(digest));
  if (present) return false;
  Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return Status::FromErrno(path, errno);
  return Install(digest, [&](int fd, const std::string& tmp) -> Status {
    SeekableWriter writer(options_.compression_level);
    Sha256Stream sha;
    std::vector<uint8_t> chunk(kSeekableFrameSize);
    std::string out;
    for (uint64_t offset = 0;; offset += chunk.size()) {
      ssize_t n;
      do {
        n = ::pread(in.get(), chunk.data(), chunk.size(), static_cast<off_t>(offset));
      } while (n < 0 && errno == EINTR);
      if (n < 0) return Status::FromErrno(path, errno);
      if (n == 0) break;
      // A short read before the end would misplace frame boundaries: fill the frame.
      size_t got = static_cast<size_t>(n);
      while (got < chunk.size()) {
        const ssize_t m = ::pread(in.get(), chunk.data() + got, chunk.size() - got,
                                  static_cast<off_t>(offset + got));
        if (m < 0 && errno == EINTR) continue;
        if (m < 0) return Status::FromErrno(path, errno);
        if (m == 0) break;
        got += static_cast<size_t>(m);
      }
      const std::span<const uint8_t> frame(chunk.data(), got);
      sha.Update(frame);
      out.clear();
      writer.AddFrame(frame, out);
      RETURN_IF_ERROR(WriteFully(fd, out, tmp));
      if (got < chunk.size()) break;
    }
    out.clear();
    writer.Finish(out);
    RETURN_IF_ERROR(WriteFully(fd, out, tmp));
    if (sha.Finish() != digest) {
      return Status::DataLoss(path + ": changed while being ingested (its SHA-256 differs)");
    }
    return Status::Ok();
  });
}

Result<std::shared_ptr<const SeekTable>> LocalBlobStore::LoadTable(int fd, const Digest& digest,
                                                                   uint64_t file_size) const {
  const std::string key(reinterpret_cast<const char*>(digest.data()), digest.size());
  {
    std::lock_guard<std::mutex> lock(caches_->mu);
    if (auto hit = caches_->tables.Get(key)) return *hit;
  }
  const std::string name = Locate(digest);
  if (file_size < kSeekFooterSize) return Status::Corruption(name + ": too short for a blob");
  std::vector<uint8_t> footer(kSeekFooterSize);
  RETURN_IF_ERROR(PreadFully(fd, file_size - kSeekFooterSize, footer, name));
  auto length = SeekTableLength(footer, file_size);
  if (!length.ok()) return length.status().WithContext(name);
  std::vector<uint8_t> table_bytes(static_cast<size_t>(*length));
  RETURN_IF_ERROR(PreadFully(fd, file_size - *length, table_bytes, name));
  auto table = ParseSeekTable(table_bytes, file_size);
  if (!table.ok()) return table.status().WithContext(name);
  auto shared = std::make_shared<const SeekTable>(std::move(table).value());
  std::lock_guard<std::mutex> lock(caches_->mu);
  caches_->tables.Put(key, shared, 1);
  return shared;
}

Result<std::shared_ptr<BlobReader>> LocalBlobStore::Open(const Digest& digest) const {
  Fd fd(::open(PathOf(digest).c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Status::NotFound(Locate(digest));
    return Status::FromErrno(Locate(digest), errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(Locate(digest), errno);
  ASSIGN_OR_RETURN(auto table, LoadTable(fd.get(), digest, static_cast<uint64_t>(st.st_size)));
  // The reader takes over the descriptor.
  return std::shared_ptr<BlobReader>(std::make_shared<LocalBlobReader>(
      fd.Release(), Locate(digest), digest, std::move(table), caches_));
}

}  // namespace

Result<std::unique_ptr<BlobStore>> BlobStore::OpenLocal(const LocalBlobStoreOptions& options) {
  if (options.dir.empty()) return Status::InvalidArgument("blob store: empty folder name");
  RETURN_IF_ERROR(MakeDir(options.dir));
  return std::unique_ptr<BlobStore>(std::make_unique<LocalBlobStore>(options));
}

}  // namespace dcmfs
