// Ingest: the calling thread walks the given paths and feeds a bounded queue;
// `threads` workers read, hash, parse, store and index each file.
//
// Order per file (docs/semantics.md, "Crash safety"): blob durable first, then
// the index batch, so a kill at any moment leaves every indexed instance
// readable and at worst a blob that Reindex will pick up. Anything refused is
// copied to the quarantine before it is reported, so nothing is lost.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "base/log.h"
#include "codecs/dicom_parse.h"
#include "index/ingest.h"
#include "index/internal/image_headers.h"

namespace dcmfs {
namespace {

constexpr size_t kQueueBound = 256;
constexpr auto kProgressInterval = std::chrono::milliseconds(100);

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Reads `path` front to back, handing each chunk read to `consume`; IoError
// with strerror when it cannot.
Status ReadChunks(const std::string& path, size_t chunk_size,
                  const std::function<void(std::span<const uint8_t>)>& consume) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(path, errno);
  std::vector<uint8_t> buf(chunk_size);
  while (true) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::FromErrno(path, err);
    }
    if (n == 0) break;
    consume({buf.data(), static_cast<size_t>(n)});
  }
  ::close(fd);
  return Status::Ok();
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::string bytes;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && st.st_size > 0) bytes.reserve(static_cast<size_t>(st.st_size));
  RETURN_IF_ERROR(ReadChunks(path, 1 << 16, [&](std::span<const uint8_t> chunk) {
    bytes.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
  }));
  return bytes;
}

// ParseDicom promises these UIDs; checked again before the blob is written so
// a file the catalog would refuse never leaves an unindexed blob behind.
constexpr char kMissingUids[] = "missing StudyInstanceUID, SeriesInstanceUID or SOPInstanceUID";
bool HasPlacingUids(const InstanceMeta& m) {
  return !m.study_uid.empty() && !m.series_uid.empty() && !m.sop_uid.empty();
}

// SHA-256 and size of a file, streamed in 1 MiB reads.
Result<std::pair<Digest, uint64_t>> HashFile(const std::string& path) {
  Sha256Stream sha;
  uint64_t size = 0;
  RETURN_IF_ERROR(ReadChunks(path, 1 << 20, [&](std::span<const uint8_t> chunk) {
    sha.Update(chunk);
    size += chunk.size();
  }));
  return std::make_pair(sha.Finish(), size);
}

class IngestRun {
 public:
  IngestRun(Catalog& catalog, BlobStore& blobs, const Quarantine& quarantine,
            const ProgressCallback& progress, uint64_t stream_threshold)
      : catalog_(catalog),
        blobs_(blobs),
        quarantine_(quarantine),
        progress_(progress),
        stream_threshold_(stream_threshold) {}

  Result<IngestReport> Run(const std::vector<std::string>& paths, int threads);

 private:
  void Walk(const std::string& path, bool given);
  void Push(const std::string& path);
  void WorkerLoop();
  Status IngestFile(const std::string& path);
  Status IngestLargeFile(const std::string& path);
  void CountFile(uint64_t size);
  // True (and counted) if these bytes are already stored and indexed.
  Result<bool> AlreadyPresent(const Digest& digest);
  Status Index(const std::string& path, const Digest& digest, uint64_t size,
               const InstanceMeta& meta, const std::optional<ImageHeader>& header);
  Status Refuse(const std::string& path, const std::string& bytes, std::string_view reason);
  Status RefuseFile(const std::string& path, std::string_view reason);
  void NoteUnreadable(const std::string& path, const std::string& reason);
  void Fail(Status s);
  void MaybeReportProgress(bool force);

  Catalog& catalog_;
  BlobStore& blobs_;
  const Quarantine& quarantine_;
  const ProgressCallback& progress_;
  const uint64_t stream_threshold_;
  std::set<std::pair<dev_t, ino_t>> visited_dirs_;  // walker thread only

  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<std::string> queue_;        // GUARDED_BY(mu_)
  bool walking_done_ = false;            // GUARDED_BY(mu_)
  uint64_t files_found_ = 0;             // GUARDED_BY(mu_)
  Status failure_;                       // GUARDED_BY(mu_); the first archive failure
  std::vector<std::string> failed_;      // GUARDED_BY(mu_); every file it stopped, with why
  IngestReport report_;                  // GUARDED_BY(mu_)
  IngestProgress progress_state_;        // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point last_progress_{};  // GUARDED_BY(mu_)
  std::mutex progress_mu_;               // serialises callbacks; taken after mu_ is released
};

void IngestRun::Fail(Status s) {
  std::lock_guard<std::mutex> lock(mu_);
  failed_.push_back(s.message());
  if (failure_.ok()) failure_ = std::move(s);
  not_empty_.notify_all();
  not_full_.notify_all();
}

void IngestRun::NoteUnreadable(const std::string& path, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  report_.quarantined.push_back(QuarantineNote{path, reason, ""});
}

void IngestRun::Push(const std::string& path) {
  std::unique_lock<std::mutex> lock(mu_);
  not_full_.wait(lock, [&] { return queue_.size() < kQueueBound || !failure_.ok(); });
  if (!failure_.ok()) return;
  queue_.push_back(path);
  ++files_found_;
  not_empty_.notify_one();
}

// Folders are walked in name order; symlinks are followed, but a folder
// already visited (same device and inode) is not entered again, which ends loops.
void IngestRun::Walk(const std::string& path, bool given) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    NoteUnreadable(path, std::strerror(errno));
    return;
  }
  if (S_ISREG(st.st_mode)) {
    Push(path);
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    if (given) NoteUnreadable(path, "not a regular file or folder");
    return;
  }
  if (!visited_dirs_.insert({st.st_dev, st.st_ino}).second) return;
  std::error_code ec;
  std::vector<std::string> children;
  for (std::filesystem::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    children.push_back(it->path().string());
  }
  if (ec) {
    NoteUnreadable(path, ec.message());
    return;
  }
  std::sort(children.begin(), children.end());
  for (const std::string& child : children) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!failure_.ok()) return;
    }
    Walk(child, false);
  }
}

Status IngestRun::Refuse(const std::string& path, const std::string& bytes,
                         std::string_view reason) {
  ASSIGN_OR_RETURN(std::string kept, quarantine_.Keep(path, AsBytes(bytes), reason));
  std::lock_guard<std::mutex> lock(mu_);
  report_.quarantined.push_back(QuarantineNote{path, std::string(reason), kept});
  return Status::Ok();
}

Status IngestRun::IngestFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) >= stream_threshold_ &&
      st.st_size > 0) {
    return IngestLargeFile(path);
  }
  auto read = ReadWholeFile(path);
  if (!read.ok()) {
    NoteUnreadable(path, read.status().message());
    return Status::Ok();
  }
  const std::string& bytes = *read;
  CountFile(bytes.size());
  if (bytes.empty()) return Refuse(path, bytes, "empty file");
  const Digest digest = Sha256(AsBytes(bytes));
  ASSIGN_OR_RETURN(bool present, AlreadyPresent(digest));
  if (present) return Status::Ok();
  auto meta = ParseDicom(AsBytes(bytes));
  if (!meta.ok()) return Refuse(path, bytes, meta.status().message());
  if (!HasPlacingUids(*meta)) return Refuse(path, bytes, kMissingUids);
  RETURN_IF_ERROR(blobs_.Put(digest, AsBytes(bytes)).status());
  return Index(path, digest, bytes.size(), *meta, internal::HeaderToRecord(*meta, AsBytes(bytes)));
}

// The streaming path: the file is read from disk three times (hash, parse,
// compress) instead of being held in memory; the page cache usually serves
// the second and third read, and memory stays bounded for any file size.
Status IngestRun::IngestLargeFile(const std::string& path) {
  auto hashed = HashFile(path);
  if (!hashed.ok()) {
    NoteUnreadable(path, hashed.status().message());
    return Status::Ok();
  }
  const auto [digest, size] = *hashed;
  CountFile(size);
  ASSIGN_OR_RETURN(bool present, AlreadyPresent(digest));
  if (present) return Status::Ok();
  auto meta = ParseDicomFile(path);
  if (!meta.ok()) return RefuseFile(path, meta.status().message());
  if (!HasPlacingUids(*meta)) return RefuseFile(path, kMissingUids);
  auto stored = blobs_.PutFile(digest, path);
  if (!stored.ok() && stored.status().code() == StatusCode::kDataLoss) {
    NoteUnreadable(path, stored.status().message());  // changed under us: try again later
    return Status::Ok();
  }
  RETURN_IF_ERROR(stored.status());
  return Index(path, digest, size, *meta, internal::HeaderToRecordFile(*meta, path));
}

void IngestRun::CountFile(uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  ++report_.files;
  report_.bytes += size;
}

Result<bool> IngestRun::AlreadyPresent(const Digest& digest) {
  ASSIGN_OR_RETURN(bool stored, blobs_.Contains(digest));
  if (!stored || !catalog_.GetInstance(digest).ok()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  ++report_.already_present;
  return true;
}

Status IngestRun::RefuseFile(const std::string& path, std::string_view reason) {
  ASSIGN_OR_RETURN(std::string kept, quarantine_.KeepFile(path, path, reason));
  std::lock_guard<std::mutex> lock(mu_);
  report_.quarantined.push_back(QuarantineNote{path, std::string(reason), kept});
  return Status::Ok();
}

Status IngestRun::Index(const std::string& path, const Digest& digest, uint64_t size,
                        const InstanceMeta& meta, const std::optional<ImageHeader>& header) {
  ASSIGN_OR_RETURN(AddResult added,
                   catalog_.AddInstance(digest, size, meta, header ? &*header : nullptr));
  std::lock_guard<std::mutex> lock(mu_);
  if (added.outcome == AddOutcome::kAlreadyPresent) {
    ++report_.already_present;  // two copies of the same bytes in this run
    return Status::Ok();
  }
  ++report_.new_instances;
  if (added.outcome == AddOutcome::kNewConflicting) {
    ConflictNote note{path, meta.sop_uid, ToHex(digest), {}};
    for (const Digest& d : added.conflicts_with) note.other_digests_hex.push_back(ToHex(d));
    report_.conflicts.push_back(std::move(note));
  }
  return Status::Ok();
}

void IngestRun::MaybeReportProgress(bool force) {
  if (!progress_) return;
  IngestProgress snapshot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_progress_ < kProgressInterval) return;
    last_progress_ = now;
    snapshot = progress_state_;
  }
  std::lock_guard<std::mutex> lock(progress_mu_);
  progress_(snapshot);
}

// Thread entry point: the one place a worker may catch (STYLE.md, "Errors").
void IngestRun::WorkerLoop() {
  try {
    while (true) {
      std::string path;
      {
        std::unique_lock<std::mutex> lock(mu_);
        not_empty_.wait(lock, [&] { return !queue_.empty() || walking_done_ || !failure_.ok(); });
        if (!failure_.ok() || queue_.empty()) return;
        path = std::move(queue_.front());
        queue_.pop_front();
        not_full_.notify_one();
      }
      Status s = IngestFile(path);
      if (!s.ok()) return Fail(s.WithContext(path));
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++progress_state_.files_done;
        progress_state_.bytes_done = report_.bytes;
        if (walking_done_) progress_state_.files_total = files_found_;
      }
      MaybeReportProgress(false);
    }
  } catch (const std::exception& e) {
    Fail(Status::Internal(std::string("ingest worker: ") + e.what()));
  }
}

Result<IngestReport> IngestRun::Run(const std::vector<std::string>& paths, int threads) {
  std::vector<std::thread> workers;
  for (int i = 0; i < std::max(1, threads); ++i) workers.emplace_back([this] { WorkerLoop(); });
  for (const std::string& p : paths) Walk(p, true);
  {
    std::lock_guard<std::mutex> lock(mu_);
    walking_done_ = true;
    progress_state_.files_total = files_found_;
    not_empty_.notify_all();
  }
  for (auto& w : workers) w.join();
  if (!failure_.ok()) {
    // What a caller acknowledges: the instances stored before the failure
    // are durable and indexed; the files named were not stored.
    std::string m = "the archive failed; " + std::to_string(report_.new_instances) +
                    " new instances were stored before (kept); not stored:";
    for (const std::string& f : failed_) m += "\n  " + f;
    return Status(failure_.code(), m + "\nfiles not reached yet were not tried; run the same "
                                       "ingest again to store the rest");
  }
  RETURN_IF_ERROR(catalog_.Flush());
  // The run's changes reach the shared index log before it reports, so every
  // replica sees them within its poll interval (index/index_log.h).
  RETURN_IF_ERROR(catalog_.Publish().WithContext("publishing the index log"));
  MaybeReportProgress(true);
  auto by_source = [](const auto& a, const auto& b) { return a.source < b.source; };
  std::sort(report_.quarantined.begin(), report_.quarantined.end(), by_source);
  std::sort(report_.conflicts.begin(), report_.conflicts.end(), by_source);
  DCMFS_LOG(Info) << "ingest: " << report_.files << " files, " << report_.new_instances
                  << " new, " << report_.already_present << " already present, "
                  << report_.quarantined.size() << " refused";
  return std::move(report_);
}

}  // namespace

Result<IngestReport> IngestPaths(Catalog& catalog, BlobStore& blobs, const Quarantine& quarantine,
                                 const std::vector<std::string>& paths,
                                 const IngestOptions& options, const ProgressCallback& progress) {
  // Leftovers of an interrupted earlier ingest; we are the only writer (the catalog's lock).
  RETURN_IF_ERROR(blobs.CleanupTemporaries());
  IngestRun run(catalog, blobs, quarantine, progress, options.stream_threshold_bytes);
  return run.Run(paths, options.threads);
}

}  // namespace dcmfs
