#include "index/internal/frame_disk_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <random>
#include <vector>

#include "base/log.h"
#include "codecs/sha256.h"

namespace dcmfs {
namespace {

constexpr char kMagic[8] = {'D', 'C', 'M', 'F', 'S', 'F', 'C', '1'};
constexpr size_t kHeader = sizeof(kMagic) + 32;  // magic, SHA-256 of the payload

bool ReadFile(const std::string& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  bool ok = ::fstat(fd, &st) == 0;
  if (ok) {
    out.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (ok && done < out.size()) {
      const ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      ok = n > 0;
      if (ok) done += static_cast<size_t>(n);
    }
  }
  ::close(fd);
  return ok;
}

bool WriteFile(const std::string& path, std::string_view a, std::string_view b) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = true;
  for (std::string_view part : {a, b}) {
    size_t done = 0;
    while (ok && done < part.size()) {
      const ssize_t n = ::write(fd, part.data() + done, part.size() - done);
      if (n < 0 && errno == EINTR) continue;
      ok = n > 0;
      if (ok) done += static_cast<size_t>(n);
    }
  }
  return ::close(fd) == 0 && ok;
}

}  // namespace

std::unique_ptr<FrameDiskCache> FrameDiskCache::Open(const std::string& dir, uint64_t max_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    DCMFS_LOG(Warning) << "blob disk cache " << dir << ": " << ec.message() << " (not used)";
    return nullptr;
  }
  std::unique_ptr<FrameDiskCache> cache(new FrameDiskCache(dir, max_bytes));
  cache->Scan();
  return cache;
}

std::string FrameDiskCache::PathOf(const std::string& name) const {
  return dir_ + "/" + name.substr(0, 2) + "/" + name;
}

// Rebuilds the LRU from the files' mtimes (oldest evicted first); removes
// temp files a killed process left behind.
void FrameDiskCache::Scan() {
  struct Found {
    std::string name;
    uint64_t bytes;
    std::filesystem::file_time_type mtime;
  };
  std::vector<Found> found;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().filename().string();
    if (name.starts_with(".tmp-")) {
      std::filesystem::remove(it->path(), ec);
      continue;
    }
    const uint64_t size = it->file_size(ec);
    if (ec || size < kHeader) continue;
    found.push_back({name, size - kHeader, it->last_write_time(ec)});
  }
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return a.mtime < b.mtime; });
  std::lock_guard lock(mu_);
  for (Found& f : found) {
    lru_.push_front(f.name);
    entries_[f.name] = Entry{f.bytes, lru_.begin()};
    bytes_ += f.bytes;
  }
  EvictLocked();
}

std::optional<std::string> FrameDiskCache::Get(const std::string& name) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      misses_.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    lru_.splice(lru_.begin(), lru_, it->second.pos);
  }
  const std::string path = PathOf(name);
  std::string file;
  const bool read = ReadFile(path, file);
  const bool intact = read && file.size() >= kHeader && std::memcmp(file.data(), kMagic, 8) == 0 &&
                      Sha256(std::string_view(file).substr(kHeader)) ==
                          *reinterpret_cast<const Digest*>(file.data() + 8);
  if (!intact) {
    if (read) {
      corrupt_.fetch_add(1, std::memory_order_relaxed);
      DCMFS_LOG(Warning) << "blob disk cache: " << path << " fails its checksum; fetching again";
    }
    misses_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(mu_);
    ForgetLocked(name, true);
    return std::nullopt;
  }
  hits_.fetch_add(1, std::memory_order_relaxed);
  ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);  // LRU order for the next mount
  file.erase(0, kHeader);
  return file;
}

void FrameDiskCache::Touch(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it != entries_.end()) lru_.splice(lru_.begin(), lru_, it->second.pos);
}

void FrameDiskCache::Put(const std::string& name, std::string_view payload) {
  if (payload.size() > max_bytes_ || name.size() < 2) return;
  const std::string path = PathOf(name);
  thread_local std::mt19937_64 rng(std::random_device{}());
  const std::string folder = dir_ + "/" + name.substr(0, 2);
  const std::string tmp = folder + "/.tmp-" + std::to_string(rng());
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  std::string header(kMagic, sizeof(kMagic));
  const Digest sum = Sha256(payload);
  header.append(reinterpret_cast<const char*>(sum.data()), sum.size());
  if (!WriteFile(tmp, header, payload) || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    if (!write_warned_.exchange(true)) {
      DCMFS_LOG(Warning) << "blob disk cache " << dir_ << ": cannot write (" << std::strerror(errno)
                         << "); fetched ranges are kept in memory only";
    }
    return;
  }
  std::lock_guard lock(mu_);
  ForgetLocked(name, false);
  lru_.push_front(name);
  entries_[name] = Entry{payload.size(), lru_.begin()};
  bytes_ += payload.size();
  EvictLocked();
}

void FrameDiskCache::ForgetLocked(const std::string& name, bool unlink) {
  auto it = entries_.find(name);
  if (it == entries_.end()) return;
  bytes_ -= it->second.bytes;
  lru_.erase(it->second.pos);
  entries_.erase(it);
  if (unlink) ::unlink(PathOf(name).c_str());
}

void FrameDiskCache::EvictLocked() {
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    const std::string victim = lru_.back();
    ForgetLocked(victim, true);
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
}

FrameDiskCacheStats FrameDiskCache::Stats() const {
  FrameDiskCacheStats s;
  s.hits = hits_.load();
  s.misses = misses_.load();
  s.corrupt = corrupt_.load();
  s.evictions = evictions_.load();
  std::lock_guard lock(mu_);
  s.bytes = bytes_;
  s.entries = entries_.size();
  return s;
}

}  // namespace dcmfs
