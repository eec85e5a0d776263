#include "fs/incoming/incoming.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <vector>

#include "base/log.h"
#include "index/archive_layout.h"
#include "index/ingest.h"

namespace dcmfs {
namespace {

using Clock = std::chrono::steady_clock;

std::string Basename(const std::string& rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string::npos ? rel : rel.substr(slash + 1);
}

// claimed/<16 hex of the claim time>-<rel path with % and / escaped>: sorts
// in claim order and keeps the /incoming path for REJECTED.txt.
std::string ClaimedName(const std::string& rel) {
  char stamp[32];
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  std::snprintf(stamp, sizeof(stamp), "%016llx-", static_cast<unsigned long long>(ns));
  std::string out = stamp;
  for (char c : rel) {
    if (c == '%') out += "%25";
    else if (c == '/') out += "%2F";
    else out.push_back(c);
    if (out.size() > 240) break;  // NAME_MAX is 255; a long path is cut
  }
  return out;
}

std::string ShownOfClaimed(const std::string& name) {
  std::string rel;
  size_t dash = name.find('-');
  std::string_view s = dash == std::string::npos ? name : std::string_view(name).substr(dash + 1);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.substr(i, 3) == "%2F") rel.push_back('/'), i += 2;
    else if (s.substr(i, 3) == "%25") rel.push_back('%'), i += 2;
    else rel.push_back(s[i]);
  }
  return StagingTree::Shown(rel);
}

}  // namespace

StagedHandle::~StagedHandle() {
  if (fd >= 0) close(fd);
}

Result<size_t> ReadStaged(const StagedHandle& handle, uint64_t offset, std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = pread(handle.fd, out.data() + done, out.size() - done,
                      static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("reading a staged file", errno);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Result<std::unique_ptr<Incoming>> Incoming::Open(const IncomingOptions& options,
                                                 std::function<void()> on_stored) {
  const std::string root = ArchiveLayout{options.archive_root}.incoming();
  std::error_code ec;
  for (const char* sub : {"/staged", "/claimed"}) {
    std::filesystem::create_directories(root + sub, ec);
    if (ec) return Status::IoError("cannot create " + root + sub + ": " + ec.message());
  }
  const std::string lock_path = root + "/owner.lock";
  int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(lock_path, errno);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return Status::Busy("another mount of this archive owns /incoming");
  }
  return std::unique_ptr<Incoming>(new Incoming(options, fd, std::move(on_stored)));
}

Incoming::Incoming(const IncomingOptions& options, int lock_fd, std::function<void()> on_stored)
    : options_(options),
      claimed_dir_(ArchiveLayout{options.archive_root}.incoming() + "/claimed"),
      lock_fd_(lock_fd),
      on_stored_(std::move(on_stored)),
      tree_(StagingTree::Options{ArchiveLayout{options.archive_root}.incoming() + "/staged",
                                 options.uid, options.gid, options.folder_perm & 0666,
                                 options.folder_perm}),
      rejected_(ArchiveLayout{options.archive_root}.incoming() + "/REJECTED.txt"),
      writer_(options.archive_root),
      queue_(options.delays) {}

Incoming::~Incoming() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  close(lock_fd_);
}

void Incoming::Start() {
  if (!worker_.joinable()) worker_ = std::thread([this] { WorkerLoop(); });
}

void Incoming::ShareReceiver(Receiver* receiver) { writer_.Share(receiver); }

// --- Operations that change what is due --------------------------------------

StagedOpen Incoming::Create(InodeId parent, std::string_view name, int flags, uint32_t perm,
                            uint32_t uid, uint32_t gid) {
  std::lock_guard lock(mu_);
  StagedReply r = tree_.Create(parent, name, flags, perm, uid, gid);
  if (r.err != 0) return StagedOpen::Error(r.err);
  queue_.OpenedForWrite(r.attr.ino);
  auto handle = std::make_unique<StagedHandle>();
  handle->ino = r.attr.ino;
  handle->fd = r.fd;
  handle->writable = true;
  // A created file is new content even if nothing is written (an empty
  // file is reported as rejected rather than silently kept).
  handle->written = true;
  return {0, r.attr, std::move(handle)};
}

StagedOpen Incoming::Open(InodeId ino, int flags) {
  const bool write = (flags & O_ACCMODE) != O_RDONLY;
  std::lock_guard lock(mu_);
  StagedReply r = tree_.Open(ino, write, (flags & O_TRUNC) != 0);
  if (r.err != 0) return StagedOpen::Error(r.err);
  auto handle = std::make_unique<StagedHandle>();
  handle->ino = ino;
  handle->fd = r.fd;
  handle->writable = write;
  if (write) queue_.OpenedForWrite(ino);
  handle->written = write && (flags & O_TRUNC) != 0;
  return {0, r.attr, std::move(handle)};
}

void Incoming::Release(StagedHandle& handle) {
  if (!handle.writable) return;
  std::lock_guard lock(mu_);
  if (!queue_.Released(handle.ino, handle.written)) return;
  if (int err = tree_.MarkComplete(handle.fd); err != 0) {
    DCMFS_LOG(Warning) << "incoming: cannot mark a staged file complete: " << std::strerror(err);
    return;  // stays incomplete: quarantined as such at the next mount
  }
  std::optional<std::string> rel = tree_.RelPath(handle.ino);
  if (!rel) return;  // unlinked while open
  queue_.Ready(handle.ino, Basename(*rel), Clock::now());
  cv_.notify_all();
}

int Incoming::Fsync(StagedHandle& handle, bool datasync) {
  if (handle.fd < 0) return EBADF;
  return (datasync ? fdatasync(handle.fd) : fsync(handle.fd)) == 0 ? 0 : errno;
}

int Incoming::Unlink(InodeId parent, std::string_view name) {
  std::lock_guard lock(mu_);
  auto [err, ino] = tree_.Unlink(parent, name);
  if (err == 0 && ino != 0 && !queue_.HasWriters(ino)) queue_.Removed(ino);
  return err;
}

int Incoming::Rename(InodeId parent, std::string_view name, InodeId new_parent,
                     std::string_view new_name, unsigned flags) {
  std::lock_guard lock(mu_);
  auto [err, replaced] = tree_.Rename(parent, name, new_parent, new_name, flags);
  if (err != 0) return err;
  if (replaced != 0 && !queue_.HasWriters(replaced)) queue_.Removed(replaced);
  StagedReply moved = tree_.Lookup(new_parent, new_name);
  if (moved.err == 0 && !moved.attr.folder) {
    queue_.Renamed(moved.attr.ino, new_name, Clock::now());
    cv_.notify_all();
  }
  return 0;
}

StagedReply Incoming::SetAttr(InodeId ino, const StagedSetAttr& change, StagedHandle* handle) {
  std::lock_guard lock(mu_);
  StagedReply r = tree_.SetAttr(ino, change, handle != nullptr ? handle->fd : -1);
  if (r.err != 0 || r.attr.folder) return r;
  if (change.size && handle != nullptr && handle->writable) {
    handle->written = true;
  } else if (change.size && !queue_.HasWriters(ino)) {
    // truncate(1) with no open handle: complete as it now is.
    if (tree_.MarkCompleteByIno(ino) == 0) {
      std::optional<std::string> rel = tree_.RelPath(ino);
      if (rel) queue_.Ready(ino, Basename(*rel), Clock::now());
    }
  } else {
    queue_.Touched(ino, Clock::now());
  }
  cv_.notify_all();
  return r;
}

std::string Incoming::StatsJson() const {
  size_t waiting;
  {
    std::lock_guard lock(mu_);
    waiting = queue_.waiting();
  }
  std::ostringstream o;
  o << "{\"waiting\": " << waiting << ", \"claimed\": " << pending_claimed_.load()
    << ", \"stored\": " << stored_.load() << ", \"already_present\": " << present_.load()
    << ", \"rejected\": " << rejected_count_.load()
    << ", \"archive_busy\": " << (archive_busy_.load() ? "true" : "false") << "}";
  return o.str();
}

// --- The worker ----------------------------------------------------------------

void Incoming::Reject(const std::string& shown, const std::string& path, const std::string& reason) {
  // Not through the Receiver: a partial file might still parse as DICOM.
  Quarantine quarantine(ArchiveLayout{options_.archive_root}.quarantine());
  Result<std::string> kept = quarantine.KeepFile(shown, path, reason);
  if (!kept.ok()) {
    DCMFS_LOG(Warning) << "incoming: cannot quarantine a leftover: " << kept.status().ToString();
    return;
  }
  Status s = rejected_.Append(shown, reason, *kept);  // "quarantine/<sha256>.bin"
  if (!s.ok()) DCMFS_LOG(Warning) << "incoming: REJECTED.txt: " << s.ToString();
  ++rejected_count_;
  unlink(path.c_str());
}

void Incoming::Recover() {
  for (const StagedLeftover& left : tree_.Leftovers()) {
    if (left.complete) {
      std::lock_guard lock(mu_);
      queue_.Ready(left.ino, Basename(left.rel), Clock::now());
      continue;
    }
    Reject(StagingTree::Shown(left.rel), tree_.dir() + "/" + left.rel,
           "incomplete: the mount stopped while this file was being written; copy it again");
  }
}

void Incoming::ClaimDue() {
  std::vector<InodeId> due;
  {
    std::lock_guard lock(mu_);
    due = queue_.TakeDue(Clock::now());
  }
  for (InodeId ino : due) {
    std::optional<std::string> rel = tree_.RelPath(ino);
    if (!rel) continue;
    // Gone, reopened for writing or renamed meanwhile: its release re-queues it.
    tree_.Claim(ino, claimed_dir_ + "/" + ClaimedName(*rel));
  }
}

// Stores every claimed file; false when the archive refused (retry later).
bool Incoming::StoreClaimed() {
  std::vector<std::string> names;
  if (DIR* d = opendir(claimed_dir_.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  pending_claimed_ = names.size();
  bool stored_any = false, ok = true;
  for (const std::string& name : names) {
    const std::string path = claimed_dir_ + "/" + name, shown = ShownOfClaimed(name);
    Result<ReceiveResult> r = writer_.Receive(path, shown);
    if (!r.ok()) {
      archive_busy_ = r.status().code() == StatusCode::kBusy;
      if (!archive_busy_) DCMFS_LOG(Warning) << "incoming: storing a file failed: " << r.status().ToString();
      ok = false;
      break;
    }
    archive_busy_ = false;
    if (r->outcome == ReceiveOutcome::kQuarantined) {
      Status s = rejected_.Append(shown, r->reason, r->kept_as);
      if (!s.ok()) DCMFS_LOG(Warning) << "incoming: REJECTED.txt: " << s.ToString();
      ++rejected_count_;
    } else if (r->outcome == ReceiveOutcome::kAlreadyPresent) {
      ++present_;
    } else {
      ++stored_;
      stored_any = true;
    }
    unlink(path.c_str());
    --pending_claimed_;
  }
  if (stored_any && on_stored_) on_stored_();
  return ok;
}

void Incoming::WorkerLoop() {
  try {
    Recover();
    Clock::time_point retry_at{};
    std::unique_lock lock(mu_);
    while (!stopping_) {
      Clock::time_point wake = Clock::now() + std::chrono::seconds(1);
      if (std::optional<Clock::time_point> next = queue_.NextDue()) wake = std::min(wake, *next);
      cv_.wait_until(lock, wake);
      if (stopping_) break;
      lock.unlock();
      ClaimDue();
      // Both steps look at the disk, so files claimed by a previous mount
      // and folders emptied long ago are handled too; each is one readdir
      // when /incoming is idle.
      if (Clock::now() >= retry_at && !StoreClaimed()) retry_at = Clock::now() + options_.retry;
      if (pending_claimed_.load() == 0) writer_.CloseIfIdle(options_.writer_idle);
      tree_.SweepEmptyFolders(options_.folder_idle_s);
      lock.lock();
    }
  } catch (const std::exception& e) {
    DCMFS_LOG(Error) << "incoming: worker stopped: " << e.what();
  } catch (...) {
    DCMFS_LOG(Error) << "incoming: worker stopped by an unknown exception";
  }
}

}  // namespace dcmfs
