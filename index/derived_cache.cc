// The derived-file cache (index/derived_cache.h).
//
// On disk, under options.dir (ARCHIVE/cache):
//   catalog/      RocksDB, one record per entry: "e/<id>" -> {u64 size, u64 seq}
//                 (little endian). `seq` is a logical clock bumped on every
//                 hit and commit; the smallest seq is least recently used.
//                 RocksDB's LOCK file makes the cache single-writer (Busy).
//   entries/<id>  the entry bytes, <id> = DerivedKey::Id()
//   tmp/          entries being written; anything here at Open is a leftover
//   stats.json    counters, replaced atomically, so that ReadDerivedCacheStats
//                 works while a mount holds the lock
//
// Write order (crash safety): temp file -> fsync -> rename into entries/ ->
// fsync entries/ -> catalog record. A crash before the record leaves a file
// without record, which Open deletes; a record whose file is gone or has
// another size (an operator deleted files) is dropped at Open or on Find.
//
// Eviction unlinks files; readers that already hold a CachedFile keep their
// open descriptor, so POSIX keeps the bytes readable until they let go.
#include "index/derived_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <vector>

#include "base/log.h"
#include "codecs/sha256.h"

namespace dcmfs {
namespace {

constexpr char kRecordPrefix[] = "e/";
constexpr char kStatsFile[] = "stats.json";
// Hits and misses are persisted every this many lookups (and on close),
// so a crash loses at most this much of the counters, never entries.
constexpr uint64_t kStatsEvery = 256;

struct Record {
  uint64_t size = 0;
  uint64_t seq = 0;
};

std::string EncodeRecord(const Record& r) {
  std::string s(16, '\0');
  for (int i = 0; i < 8; ++i) {
    s[i] = static_cast<char>(r.size >> (8 * i));
    s[8 + i] = static_cast<char>(r.seq >> (8 * i));
  }
  return s;
}

std::optional<Record> DecodeRecord(const rocksdb::Slice& s) {
  if (s.size() != 16) return std::nullopt;
  Record r;
  for (int i = 0; i < 8; ++i) {
    r.size |= static_cast<uint64_t>(static_cast<uint8_t>(s[i])) << (8 * i);
    r.seq |= static_cast<uint64_t>(static_cast<uint8_t>(s[8 + i])) << (8 * i);
  }
  return r;
}

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  return Status::IoError(std::string(what) + ": " + s.ToString());
}

bool IsHexId(const std::string& name) {
  if (name.size() != 64) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      names.emplace_back(e->d_name);
    }
  }
  closedir(d);
  return names;
}

Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return Status::Ok();
  return Status::FromErrno("mkdir " + path, errno);
}

Status FsyncPath(const std::string& path, int flags) {
  const int fd = open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open " + path, errno);
  const int rc = fsync(fd);
  const int err = errno;
  close(fd);
  if (rc != 0) return Status::FromErrno("fsync " + path, err);
  return Status::Ok();
}

Status WriteAll(int fd, std::span<const uint8_t> bytes, const std::string& what) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("write " + what, errno);
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return Status::Ok();
}

class FdCachedFile : public CachedFile {
 public:
  FdCachedFile(int fd, uint64_t size) : fd_(fd), size_(size) {}
  ~FdCachedFile() override { close(fd_); }
  uint64_t size() const override { return size_; }
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) const override {
    size_t done = 0;
    while (done < out.size() && offset + done < size_) {
      const ssize_t n = pread(fd_, out.data() + done, out.size() - done,
                              static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno("pread cache entry", errno);
      if (n == 0) break;  // shorter than recorded: the caller sees a short read
      done += static_cast<size_t>(n);
    }
    return done;
  }

 private:
  const int fd_;
  const uint64_t size_;
};

// Opens a committed entry; nullopt-like NotFound if missing or of another size.
Result<std::shared_ptr<CachedFile>> OpenEntry(const std::string& path, uint64_t size) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::NotFound(path);
  struct stat st {};
  if (fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != size) {
    close(fd);
    return Status::NotFound(path + ": size differs from its record");
  }
  return std::shared_ptr<CachedFile>(std::make_shared<FdCachedFile>(fd, size));
}

// Everything the cache, its writers and its files share. Writers hold a
// shared_ptr so that dropping the cache first is safe.
class State {
 public:
  State(DerivedCacheOptions options, std::unique_ptr<rocksdb::DB> db)
      : options_(std::move(options)), db_(std::move(db)) {}
  ~State() { PersistStats(); }

  std::string EntryPath(const std::string& id) const { return options_.dir + "/entries/" + id; }
  std::string TmpDir() const { return options_.dir + "/tmp"; }
  uint64_t NextTmpNumber() { return tmp_counter_.fetch_add(1); }

  Status Recover();
  Result<std::shared_ptr<CachedFile>> Find(const std::string& id);
  Result<std::shared_ptr<CachedFile>> Insert(const std::string& id, uint64_t size);
  DerivedCacheStats Stats() const;
  void PersistStats();

 private:
  struct Entry {
    uint64_t size;
    uint64_t seq;
  };
  Status LoadStats();
  void Forget(const std::string& id);  // drops an entry's record; mu_ held
  Status EvictLocked();

  const DerivedCacheOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::atomic<uint64_t> tmp_counter_{0};

  mutable std::mutex mu_;  // guards everything below; taken before persist_mu_
  std::unordered_map<std::string, Entry> entries_;
  std::map<uint64_t, std::string> by_seq_;  // recency order, oldest first
  uint64_t next_seq_ = 1;
  uint64_t bytes_ = 0;
  uint64_t hits_ = 0, misses_ = 0, evictions_ = 0;
  uint64_t lookups_since_persist_ = 0;

  std::mutex persist_mu_;  // serialises writers of stats.json
};

// Loads the catalog and reconciles it with the files (see the top comment).
Status State::Recover() {
  const std::string tmp = TmpDir();
  for (const std::string& name : ListDir(tmp)) unlink((tmp + "/" + name).c_str());

  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  rocksdb::WriteBatch drop;
  for (it->Seek(kRecordPrefix); it->Valid() && it->key().starts_with(kRecordPrefix); it->Next()) {
    const std::string id = it->key().ToString().substr(std::strlen(kRecordPrefix));
    const std::optional<Record> rec = DecodeRecord(it->value());
    struct stat st {};
    const std::string path = EntryPath(id);
    if (!rec || !IsHexId(id) || stat(path.c_str(), &st) != 0 ||
        static_cast<uint64_t>(st.st_size) != rec->size) {
      drop.Delete(it->key());
      unlink(path.c_str());
      continue;
    }
    entries_[id] = Entry{rec->size, rec->seq};
    by_seq_[rec->seq] = id;
    bytes_ += rec->size;
    next_seq_ = std::max(next_seq_, rec->seq + 1);
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "cache catalog scan"));
  RETURN_IF_ERROR(FromRocks(db_->Write(rocksdb::WriteOptions(), &drop), "cache catalog"));

  const std::string dir = options_.dir + "/entries";
  for (const std::string& name : ListDir(dir)) {
    if (!entries_.count(name)) unlink((dir + "/" + name).c_str());
  }
  RETURN_IF_ERROR(LoadStats());
  std::lock_guard<std::mutex> lock(mu_);
  return EvictLocked();  // max_bytes may have shrunk since the last run
}

Status State::LoadStats() {
  const std::string path = options_.dir + "/" + kStatsFile;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Ok();  // first run
  close(fd);
  Result<DerivedCacheStats> s = ReadDerivedCacheStats(options_.dir);
  if (!s.ok()) {
    DCMFS_LOG(Warning) << "cache stats unreadable, starting from zero: " << s.status().ToString();
    return Status::Ok();
  }
  hits_ = s->hits;
  misses_ = s->misses;
  evictions_ = s->evictions;
  return Status::Ok();
}

void State::Forget(const std::string& id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  bytes_ -= it->second.size;
  by_seq_.erase(it->second.seq);
  entries_.erase(it);
  rocksdb::Status s = db_->Delete(rocksdb::WriteOptions(), kRecordPrefix + id);
  if (!s.ok()) {
    DCMFS_LOG(Warning) << "cache: dropping record failed: " << s.ToString();
  }
}

Status State::EvictLocked() {
  while (bytes_ > options_.max_bytes && !by_seq_.empty()) {
    const std::string id = by_seq_.begin()->second;
    // Record first: a crash in between leaves a file without record, which
    // Open removes; the reverse order would leave a record without file.
    Forget(id);
    if (unlink(EntryPath(id).c_str()) != 0 && errno != ENOENT) {
      return Status::FromErrno("unlink cache entry", errno);
    }
    ++evictions_;
  }
  return Status::Ok();
}

Result<std::shared_ptr<CachedFile>> State::Find(const std::string& id) {
  std::shared_ptr<CachedFile> file;
  bool persist = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    persist = ++lookups_since_persist_ >= kStatsEvery;
    if (persist) lookups_since_persist_ = 0;
    auto it = entries_.find(id);
    if (it != entries_.end()) {
      Result<std::shared_ptr<CachedFile>> opened = OpenEntry(EntryPath(id), it->second.size);
      if (opened.ok()) {
        file = *opened;
        by_seq_.erase(it->second.seq);
        it->second.seq = next_seq_++;
        by_seq_[it->second.seq] = id;
        rocksdb::Status s = db_->Put(rocksdb::WriteOptions(), kRecordPrefix + id,
                                     EncodeRecord({it->second.size, it->second.seq}));
        if (!s.ok()) {
          DCMFS_LOG(Warning) << "cache: recency update failed: " << s.ToString();
        }
      } else {
        Forget(id);  // deleted or altered behind our back
      }
    }
    ++(file ? hits_ : misses_);
  }
  if (persist) PersistStats();
  return file;
}

Result<std::shared_ptr<CachedFile>> State::Insert(const std::string& id, uint64_t size) {
  // Open before eviction so the caller gets its bytes even if the entry is
  // larger than the whole cache and is evicted at once.
  ASSIGN_OR_RETURN(std::shared_ptr<CachedFile> file, OpenEntry(EntryPath(id), size));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.count(id)) {  // a concurrent writer of the same key won the rename race
      Entry& old = entries_[id];
      bytes_ -= old.size;
      by_seq_.erase(old.seq);
      entries_.erase(id);
    }
    const Entry e{size, next_seq_++};
    RETURN_IF_ERROR(FromRocks(
        db_->Put(rocksdb::WriteOptions(), kRecordPrefix + id, EncodeRecord({e.size, e.seq})),
        "cache catalog"));
    entries_[id] = e;
    by_seq_[e.seq] = id;
    bytes_ += size;
    RETURN_IF_ERROR(EvictLocked());
  }
  PersistStats();
  return file;
}

DerivedCacheStats State::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  DerivedCacheStats s;
  s.hits = hits_;
  s.misses = misses_;
  s.entries = entries_.size();
  s.bytes = bytes_;
  s.evictions = evictions_;
  s.max_bytes = options_.max_bytes;
  return s;
}

// Best effort: counters are advisory, so a failure is logged, not returned.
void State::PersistStats() {
  const DerivedCacheStats s = Stats();
  const nlohmann::json j = {{"hits", s.hits},           {"misses", s.misses},
                            {"entries", s.entries},     {"bytes", s.bytes},
                            {"evictions", s.evictions}, {"max_bytes", s.max_bytes}};
  const std::string text = j.dump() + "\n";
  std::lock_guard<std::mutex> lock(persist_mu_);
  const std::string path = options_.dir + "/" + kStatsFile;
  const std::string tmp = path + ".tmp";
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    DCMFS_LOG(Warning) << "cache: cannot write " << tmp << ": " << std::strerror(errno);
    return;
  }
  Status w = WriteAll(fd, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, tmp);
  close(fd);
  if (!w.ok() || rename(tmp.c_str(), path.c_str()) != 0) {
    DCMFS_LOG(Warning) << "cache: cannot replace " << path;
  }
}

class FileCacheWriter : public CacheWriter {
 public:
  FileCacheWriter(std::shared_ptr<State> state, std::string id, std::string tmp_path, int fd)
      : state_(std::move(state)), id_(std::move(id)), tmp_path_(std::move(tmp_path)), fd_(fd) {}
  ~FileCacheWriter() override {
    if (fd_ >= 0) close(fd_);
    if (!committed_) unlink(tmp_path_.c_str());
  }

  Status Append(std::span<const uint8_t> bytes) override {
    if (fd_ < 0) return Status::InvalidArgument("cache writer already committed or failed");
    Status s = WriteAll(fd_, bytes, tmp_path_);
    if (!s.ok()) Fail();
    size_ += bytes.size();
    return s;
  }

  Result<std::shared_ptr<CachedFile>> Commit() override {
    if (fd_ < 0) return Status::InvalidArgument("cache writer already committed or failed");
    if (fsync(fd_) != 0) {
      const int err = errno;
      Fail();
      return Status::FromErrno("fsync " + tmp_path_, err);
    }
    close(fd_);
    fd_ = -1;
    const std::string final_path = state_->EntryPath(id_);
    if (rename(tmp_path_.c_str(), final_path.c_str()) != 0) {
      return Status::FromErrno("rename " + tmp_path_, errno);
    }
    committed_ = true;
    // The rename must be durable before the record claims the entry exists.
    const std::string dir = final_path.substr(0, final_path.rfind('/'));
    RETURN_IF_ERROR(FsyncPath(dir, O_RDONLY | O_DIRECTORY));
    return state_->Insert(id_, size_);
  }

 private:
  void Fail() {
    close(fd_);
    fd_ = -1;
  }

  std::shared_ptr<State> state_;
  const std::string id_;
  const std::string tmp_path_;
  int fd_;
  uint64_t size_ = 0;
  bool committed_ = false;
};

class DerivedCacheImpl : public DerivedCache {
 public:
  explicit DerivedCacheImpl(std::shared_ptr<State> state) : state_(std::move(state)) {}
  ~DerivedCacheImpl() override { state_->PersistStats(); }

  Result<std::shared_ptr<CachedFile>> Find(const DerivedKey& key) override {
    return state_->Find(key.Id());
  }

  Result<std::unique_ptr<CacheWriter>> Begin(const DerivedKey& key) override {
    const std::string id = key.Id();
    const std::string tmp = state_->TmpDir() + "/" + id + "." +
                            std::to_string(state_->NextTmpNumber()) + ".tmp";
    const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return Status::FromErrno("create " + tmp, errno);
    return std::unique_ptr<CacheWriter>(std::make_unique<FileCacheWriter>(state_, id, tmp, fd));
  }

  DerivedCacheStats Stats() const override { return state_->Stats(); }

 private:
  std::shared_ptr<State> state_;
};

Result<std::unique_ptr<rocksdb::DB>> OpenCatalog(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  // A small catalog of small records: keep its footprint small too.
  options.write_buffer_size = 4 << 20;
  options.max_open_files = 64;
  options.keep_log_file_num = 2;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, &raw);
  if (!s.ok()) {
    // RocksDB's LOCK file (fcntl lock, plus an in-process registry) is how
    // we learn that another process or instance owns the cache.
    const std::string msg = s.ToString();
    if (s.IsIOError() && (msg.find("lock") != std::string::npos ||
                          msg.find("LOCK") != std::string::npos)) {
      return Status::Busy("derived cache in use by another process: " + msg);
    }
    return FromRocks(s, "open cache catalog " + path);
  }
  return std::unique_ptr<rocksdb::DB>(raw);
}

}  // namespace

std::string DerivedKey::Id() const {
  // Length-prefixed so that ("ab","c") and ("a","bc") differ.
  std::string buf = "r" + std::to_string(kDerivedRevision) + ";";
  for (const std::string* part : {&series_uid, &generation, &kind, &params}) {
    buf += std::to_string(part->size());
    buf += ':';
    buf += *part;
  }
  return ToHex(Sha256(buf));
}

Result<std::unique_ptr<DerivedCache>> DerivedCache::Open(const DerivedCacheOptions& options) {
  if (options.dir.empty()) return Status::InvalidArgument("derived cache needs a folder");
  RETURN_IF_ERROR(MakeDir(options.dir));
  RETURN_IF_ERROR(MakeDir(options.dir + "/entries"));
  RETURN_IF_ERROR(MakeDir(options.dir + "/tmp"));
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db, OpenCatalog(options.dir + "/catalog"));
  auto state = std::make_shared<State>(options, std::move(db));
  RETURN_IF_ERROR(state->Recover());
  return std::unique_ptr<DerivedCache>(std::make_unique<DerivedCacheImpl>(std::move(state)));
}

Result<DerivedCacheStats> ReadDerivedCacheStats(const std::string& cache_dir) {
  const std::string path = cache_dir + "/" + kStatsFile;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::NotFound(path + ": no cache statistics");
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(fd);
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::Corruption(path + ": not a JSON object");
  DerivedCacheStats s;
  const std::pair<const char*, uint64_t*> fields[] = {
      {"hits", &s.hits},   {"misses", &s.misses},       {"entries", &s.entries},
      {"bytes", &s.bytes}, {"evictions", &s.evictions}, {"max_bytes", &s.max_bytes}};
  for (const auto& [name, out] : fields) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_number_unsigned()) {
      return Status::Corruption(path + ": missing or invalid \"" + name + "\"");
    }
    *out = it->get<uint64_t>();
  }
  return s;
}

}  // namespace dcmfs
