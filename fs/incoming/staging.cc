#include "fs/incoming/staging.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>

namespace dcmfs {
namespace {

constexpr mode_t kWriting = 0600;   // on disk: being written (or left so by a crash)
constexpr mode_t kComplete = 0400;  // on disk: closed and synced, may be ingested

bool ValidName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos;
}

std::string Join(const std::string& a, std::string_view b) {
  std::string out = a;
  if (!out.empty()) out.push_back('/');
  out.append(b);
  return out;
}

}  // namespace

StagingTree::StagingTree(Options options) : options_(std::move(options)) {}

bool StagingTree::IsFolder(InodeId ino) const {
  if (ino == kIncomingIno) return true;
  std::lock_guard lock(mu_);
  auto it = records_.find(ino);
  return it != records_.end() && it->second.folder;
}

std::optional<std::string> StagingTree::RelLocked(InodeId ino) const {
  std::string rel;
  for (int depth = 0; ino != kIncomingIno; ++depth) {
    auto it = records_.find(ino);
    if (it == records_.end() || depth > 4096) return std::nullopt;
    rel = rel.empty() ? it->second.name : it->second.name + "/" + rel;
    ino = it->second.parent;
  }
  return rel;
}

std::optional<std::string> StagingTree::RelPath(InodeId ino) const {
  std::lock_guard lock(mu_);
  return RelLocked(ino);
}

std::optional<std::string> StagingTree::FullLocked(InodeId ino) const {
  std::optional<std::string> rel = RelLocked(ino);
  if (!rel) return std::nullopt;
  return rel->empty() ? options_.dir : options_.dir + "/" + *rel;
}

InodeId StagingTree::RecordLocked(InodeId parent, std::string_view name, bool folder) {
  auto it = children_.find(std::make_pair(parent, std::string(name)));
  if (it != children_.end()) {
    Record& r = records_[it->second];
    if (r.folder == folder) return it->second;
    EraseLocked(it->second);  // replaced by an entry of the other kind
  }
  InodeId ino = next_++;
  records_[ino] = Record{parent, std::string(name), folder, {}, {}, {}};
  children_[{parent, std::string(name)}] = ino;
  return ino;
}

void StagingTree::EraseLocked(InodeId ino) {
  auto it = records_.find(ino);
  if (it == records_.end()) return;
  children_.erase({it->second.parent, it->second.name});
  records_.erase(it);
  // Children of an erased folder become unreachable; RelLocked fails for
  // them and a later lookup makes fresh records.
}

int StagingTree::EnsureRootLocked() {
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  return ec ? ec.value() : 0;
}

StagedAttr StagingTree::AttrLocked(InodeId ino, const struct stat& st) const {
  StagedAttr a;
  a.ino = ino;
  a.folder = S_ISDIR(st.st_mode);
  a.size = a.folder ? 0 : static_cast<uint64_t>(st.st_size);
  a.mtime = st.st_mtim.tv_sec;
  a.complete = !a.folder && (st.st_mode & S_IWUSR) == 0;
  a.perm = a.folder ? options_.folder_perm : options_.file_perm;
  a.uid = options_.uid;
  a.gid = options_.gid;
  auto it = records_.find(ino);
  if (it != records_.end()) {
    a.perm = it->second.perm.value_or(a.perm);
    a.uid = it->second.uid.value_or(a.uid);
    a.gid = it->second.gid.value_or(a.gid);
  }
  return a;
}

StagedReply StagingTree::StatLocked(InodeId ino) {
  std::optional<std::string> full = FullLocked(ino);
  if (!full) return StagedReply::Error(ENOENT);
  struct stat st {};
  if (lstat(full->c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT) EraseLocked(ino);
    return StagedReply::Error(err);
  }
  return {0, AttrLocked(ino, st), -1};
}

StagedReply StagingTree::Lookup(InodeId parent, std::string_view name) {
  std::lock_guard lock(mu_);
  if (!ValidName(name)) return StagedReply::Error(ENOENT);
  std::optional<std::string> dir = FullLocked(parent);
  if (!dir) return StagedReply::Error(ENOENT);
  struct stat st {};
  if (lstat((*dir + "/" + std::string(name)).c_str(), &st) != 0) {
    int err = errno;
    auto it = children_.find(std::make_pair(parent, std::string(name)));
    if (err == ENOENT && it != children_.end()) EraseLocked(it->second);
    return StagedReply::Error(err);
  }
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) return StagedReply::Error(ENOENT);
  InodeId ino = RecordLocked(parent, name, S_ISDIR(st.st_mode));
  return {0, AttrLocked(ino, st), -1};
}

StagedReply StagingTree::GetAttr(InodeId ino) {
  std::lock_guard lock(mu_);
  return StatLocked(ino);
}

std::pair<int, std::vector<StagedChild>> StagingTree::List(InodeId folder) {
  std::vector<StagedChild> out;
  std::optional<std::string> full;
  {
    std::lock_guard lock(mu_);
    full = FullLocked(folder);
  }
  if (!full) return {ENOENT, out};
  DIR* d = opendir(full->c_str());
  if (d == nullptr) return {errno == ENOENT && folder == kIncomingIno ? 0 : errno, out};
  while (dirent* e = readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    if (e->d_type == DT_DIR || e->d_type == DT_REG) out.push_back({std::string(n), e->d_type == DT_DIR});
  }
  closedir(d);
  return {0, out};
}

StagedReply StagingTree::Create(InodeId parent, std::string_view name, int flags, uint32_t perm,
                                uint32_t uid, uint32_t gid) {
  std::lock_guard lock(mu_);
  if (!ValidName(name)) return StagedReply::Error(EINVAL);
  if (parent == kIncomingIno) {
    if (int err = EnsureRootLocked(); err != 0) return StagedReply::Error(err);
  }
  std::optional<std::string> dir = FullLocked(parent);
  if (!dir) return StagedReply::Error(ENOENT);
  const std::string path = *dir + "/" + std::string(name);
  chmod(path.c_str(), kWriting);  // an existing complete file becomes writable again
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | (flags & (O_EXCL | O_TRUNC)),
                kWriting);
  if (fd < 0) return StagedReply::Error(errno);
  fchmod(fd, kWriting);
  struct stat st {};
  fstat(fd, &st);
  InodeId ino = RecordLocked(parent, name, false);
  Record& r = records_[ino];
  r.perm = perm & 07777;
  r.uid = uid;
  r.gid = gid;
  return {0, AttrLocked(ino, st), fd};
}

StagedReply StagingTree::Open(InodeId ino, bool for_write, bool truncate) {
  std::lock_guard lock(mu_);
  std::optional<std::string> full = FullLocked(ino);
  if (!full) return StagedReply::Error(ENOENT);
  if (for_write && chmod(full->c_str(), kWriting) != 0) return StagedReply::Error(errno);
  int fd = open(full->c_str(),
                (for_write ? O_RDWR : O_RDONLY) | O_CLOEXEC | (truncate ? O_TRUNC : 0));
  if (fd < 0) return StagedReply::Error(errno);
  struct stat st {};
  fstat(fd, &st);
  return {0, AttrLocked(ino, st), fd};
}

StagedReply StagingTree::Mkdir(InodeId parent, std::string_view name, uint32_t perm,
                               uint32_t uid, uint32_t gid) {
  std::lock_guard lock(mu_);
  if (!ValidName(name)) return StagedReply::Error(EINVAL);
  if (parent == kIncomingIno) {
    if (int err = EnsureRootLocked(); err != 0) return StagedReply::Error(err);
  }
  std::optional<std::string> dir = FullLocked(parent);
  if (!dir) return StagedReply::Error(ENOENT);
  const std::string path = *dir + "/" + std::string(name);
  if (mkdir(path.c_str(), 0700) != 0) return StagedReply::Error(errno);
  struct stat st {};
  lstat(path.c_str(), &st);
  InodeId ino = RecordLocked(parent, name, true);
  Record& r = records_[ino];
  r.perm = perm & 07777;
  r.uid = uid;
  r.gid = gid;
  return {0, AttrLocked(ino, st), -1};
}

std::pair<int, InodeId> StagingTree::Unlink(InodeId parent, std::string_view name) {
  std::lock_guard lock(mu_);
  std::optional<std::string> dir = FullLocked(parent);
  if (!dir || !ValidName(name)) return {ENOENT, 0};
  const std::string path = *dir + "/" + std::string(name);
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return {errno, 0};
  if (S_ISDIR(st.st_mode)) return {EISDIR, 0};
  if (unlink(path.c_str()) != 0) return {errno, 0};
  auto it = children_.find(std::make_pair(parent, std::string(name)));
  if (it == children_.end()) return {0, 0};
  InodeId ino = it->second;
  EraseLocked(ino);
  return {0, ino};
}

int StagingTree::Rmdir(InodeId parent, std::string_view name) {
  std::lock_guard lock(mu_);
  std::optional<std::string> dir = FullLocked(parent);
  if (!dir || !ValidName(name)) return ENOENT;
  if (rmdir((*dir + "/" + std::string(name)).c_str()) != 0) return errno;
  auto it = children_.find(std::make_pair(parent, std::string(name)));
  if (it != children_.end()) EraseLocked(it->second);
  return 0;
}

std::pair<int, InodeId> StagingTree::Rename(InodeId parent, std::string_view name,
                                            InodeId new_parent, std::string_view new_name,
                                            unsigned flags) {
  if ((flags & ~unsigned{RENAME_NOREPLACE}) != 0) return {EINVAL, 0};
  std::lock_guard lock(mu_);
  std::optional<std::string> from_dir = FullLocked(parent), to_dir = FullLocked(new_parent);
  if (!from_dir || !to_dir || !ValidName(name) || !ValidName(new_name)) return {ENOENT, 0};
  const std::string from = *from_dir + "/" + std::string(name);
  const std::string to = *to_dir + "/" + std::string(new_name);
  if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags) != 0) return {errno, 0};
  InodeId replaced = 0;
  auto old_target = children_.find(std::make_pair(new_parent, std::string(new_name)));
  if (old_target != children_.end()) {
    replaced = old_target->second;
    EraseLocked(replaced);
  }
  auto moved = children_.find(std::make_pair(parent, std::string(name)));
  if (moved != children_.end()) {
    InodeId ino = moved->second;
    children_.erase(moved);
    Record& r = records_[ino];
    r.parent = new_parent;
    r.name = std::string(new_name);
    children_[{new_parent, r.name}] = ino;
  }
  return {0, replaced};
}

StagedReply StagingTree::SetAttr(InodeId ino, const StagedSetAttr& change, int fd) {
  std::lock_guard lock(mu_);
  std::optional<std::string> full = FullLocked(ino);
  if (!full) return StagedReply::Error(ENOENT);
  if (change.size) {
    if (chmod(full->c_str(), kWriting) != 0) return StagedReply::Error(errno);
    int rc = fd >= 0 ? ftruncate(fd, static_cast<off_t>(*change.size))
                     : truncate(full->c_str(), static_cast<off_t>(*change.size));
    if (rc != 0) return StagedReply::Error(errno);
  }
  if (change.atime || change.mtime) {
    timespec times[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    if (change.atime) times[0] = *change.atime;
    if (change.mtime) times[1] = *change.mtime;
    if (utimensat(AT_FDCWD, full->c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) return StagedReply::Error(errno);
  }
  auto it = records_.find(ino);
  if (it != records_.end()) {
    if (change.perm) it->second.perm = *change.perm & 07777;
    if (change.uid) it->second.uid = *change.uid;
    if (change.gid) it->second.gid = *change.gid;
  }
  return StatLocked(ino);
}

int StagingTree::MarkComplete(int fd) {
  // Bytes first, then the marker: a crash never leaves a "complete" file
  // whose data did not reach the disk.
  if (fdatasync(fd) != 0) return errno;
  if (fchmod(fd, kComplete) != 0) return errno;
  return 0;
}

int StagingTree::MarkCompleteByIno(InodeId ino) {
  std::lock_guard lock(mu_);
  std::optional<std::string> full = FullLocked(ino);
  if (!full) return ENOENT;
  int fd = open(full->c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = MarkComplete(fd);
  close(fd);
  return err;
}

std::optional<std::string> StagingTree::Claim(InodeId ino, const std::string& to) {
  std::lock_guard lock(mu_);
  std::optional<std::string> rel = RelLocked(ino);
  if (!rel || rel->empty()) return std::nullopt;
  const std::string full = options_.dir + "/" + *rel;
  struct stat st {};
  if (lstat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & S_IWUSR) != 0) {
    return std::nullopt;
  }
  if (rename(full.c_str(), to.c_str()) != 0) return std::nullopt;
  EraseLocked(ino);
  return rel;
}

size_t StagingTree::SweepBelow(const std::string& full, int64_t min_age_s, int64_t now,
                               bool is_root) {
  size_t left = 0;
  bool empty = true;
  // The age is taken before removing empty children: removing them changes
  // this folder's mtime, which would otherwise hold each level back anew.
  struct stat before {};
  if (lstat(full.c_str(), &before) != 0) return 0;
  DIR* d = opendir(full.c_str());
  if (d == nullptr) return 0;
  std::vector<std::string> folders;
  while (dirent* e = readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    if (e->d_type == DT_DIR) folders.emplace_back(n);
    empty = false;
  }
  closedir(d);
  for (const std::string& f : folders) left += SweepBelow(full + "/" + f, min_age_s, now, false);
  if (is_root) return left;
  if (!folders.empty()) {
    // Children may just have gone: look again.
    empty = std::filesystem::is_empty(full);
  }
  if (!empty) return left;
  if (now - before.st_mtim.tv_sec < min_age_s) return left + 1;
  return rmdir(full.c_str()) == 0 ? left : left + 1;
}

size_t StagingTree::SweepEmptyFolders(int64_t min_age_s) {
  std::lock_guard lock(mu_);
  size_t left = SweepBelow(options_.dir, min_age_s, time(nullptr), true);
  // Forget folders that no longer exist.
  std::vector<InodeId> gone;
  for (const auto& [ino, r] : records_) {
    std::optional<std::string> full = FullLocked(ino);
    struct stat st {};
    if (r.folder && (!full || lstat(full->c_str(), &st) != 0)) gone.push_back(ino);
  }
  for (InodeId ino : gone) EraseLocked(ino);
  return left;
}

void StagingTree::LeftoversBelow(InodeId folder, const std::string& rel,
                                 std::vector<StagedLeftover>& out) {
  const std::string full = rel.empty() ? options_.dir : options_.dir + "/" + rel;
  DIR* d = opendir(full.c_str());
  if (d == nullptr) return;
  std::vector<std::pair<std::string, unsigned char>> entries;
  while (dirent* e = readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") entries.emplace_back(std::string(n), e->d_type);
  }
  closedir(d);
  for (const auto& [name, type] : entries) {
    const std::string child_rel = Join(rel, name);
    struct stat st {};
    if (lstat((options_.dir + "/" + child_rel).c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      LeftoversBelow(RecordLocked(folder, name, true), child_rel, out);
    } else if (S_ISREG(st.st_mode)) {
      out.push_back({RecordLocked(folder, name, false), child_rel, (st.st_mode & S_IWUSR) == 0});
    }
  }
}

std::vector<StagedLeftover> StagingTree::Leftovers() {
  std::lock_guard lock(mu_);
  std::vector<StagedLeftover> out;
  LeftoversBelow(kIncomingIno, "", out);
  return out;
}

}  // namespace dcmfs
