// Filesystem's side of /incoming: the fixed nodes, the read path of staged
// entries, and the write operations, all delegated to fs/incoming/.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/log.h"
#include "fs/filesystem.h"
#include "fs/incoming/incoming.h"

namespace dcmfs {
namespace {

// Write where the identified mode lets owner or group search; never others:
// what lands here is identified data (0555 -> 0775, 0550 -> 0770).
uint32_t IncomingPerm(uint32_t identified_mode) {
  const uint32_t m = identified_mode & 0777;
  return m | ((m & 0110) << 1);
}

}  // namespace

void Filesystem::AttachIncoming() {
  IncomingOptions o;
  o.archive_root = options_.archive_root;
  o.uid = options_.identified_uid.value_or(options_.uid);
  o.gid = options_.identified_gid.value_or(options_.gid);
  o.folder_perm = IncomingPerm(options_.identified_mode);
  Result<std::unique_ptr<Incoming>> incoming = Incoming::Open(o, [this] {
    Status s = catalog_->CatchUp();
    if (!s.ok()) DCMFS_LOG(Warning) << "incoming: catch-up after a store: " << s.ToString();
  });
  if (!incoming.ok()) {
    DCMFS_LOG(Warning) << "mounting without /incoming: " << incoming.status().ToString();
    return;
  }
  incoming_ = std::move(incoming).value();
  Incoming* in = incoming_.get();
  SetStatsSection("incoming", [in] { return in->StatsJson(); });
}

void Filesystem::ShareReceiver(Receiver* receiver) {
  if (incoming_ != nullptr) incoming_->ShareReceiver(receiver);
}

bool Filesystem::IsIncomingFolder(InodeId ino) const {
  if (incoming_ == nullptr) return false;
  return ino == kIncomingIno || (IsStagedIno(ino) && incoming_->tree().IsFolder(ino));
}

Entry Filesystem::IncomingFolderEntry() const {
  Entry e;
  const IncomingOptions& o = incoming_->options();
  e.attr = Attr{kIncomingIno, S_IFDIR | o.folder_perm, 1, 0, 0, o.uid, o.gid};
  // Copies change it all the time: never cached.
  e.attr_timeout_s = 0;
  e.entry_timeout_s = options_.folder_timeout_s;
  return e;
}

Entry Filesystem::EntryOfStaged(const StagedAttr& a) const {
  Entry e;
  e.attr = Attr{a.ino, (a.folder ? S_IFDIR : S_IFREG) | a.perm, 1, a.size, a.mtime, a.uid, a.gid};
  // The worker removes staged files when stored: the kernel must ask again,
  // or a second `cp` of the same name would open a vanished inode.
  e.attr_timeout_s = 0;
  e.entry_timeout_s = 0;
  return e;
}

Result<Entry> Filesystem::IncomingLookup(InodeId parent, std::string_view name) {
  if (parent == kIncomingIno && name == "REJECTED.txt") return IncomingAttr(kRejectedTxtIno);
  StagedReply r = incoming_->tree().Lookup(parent, name);
  if (r.err == ENOENT) return Status::NotFound("no such file");
  if (r.err != 0) return Status::FromErrno("/incoming lookup", r.err);
  return EntryOfStaged(r.attr);
}

Result<Entry> Filesystem::IncomingAttr(InodeId ino) {
  if (incoming_ == nullptr) return Status::NotFound("no /incoming");
  if (ino == kRejectedTxtIno) {
    const IncomingOptions& o = incoming_->options();
    Entry e;
    e.attr = Attr{ino, S_IFREG | (o.folder_perm & 0444), 1, incoming_->rejected().Size(),
                  incoming_->rejected().Mtime(), o.uid, o.gid};
    e.attr_timeout_s = 0;  // grows as files are refused: the size must be exact
    e.entry_timeout_s = options_.folder_timeout_s;
    return e;
  }
  StagedReply r = incoming_->tree().GetAttr(ino);
  if (r.err == ENOENT) return Status::NotFound("no such file");
  if (r.err != 0) return Status::FromErrno("/incoming getattr", r.err);
  return EntryOfStaged(r.attr);
}

Status Filesystem::IncomingOpenDir(DirHandle& dir) {
  dir.parent = dir.ino == kIncomingIno ? kRootIno : kIncomingIno;
  if (dir.ino == kIncomingIno) dir.extras.emplace_back("REJECTED.txt");
  auto [err, children] = incoming_->tree().List(dir.ino);
  if (err != 0) return Status::FromErrno("/incoming readdir", err);
  for (StagedChild& c : children) {
    if (dir.ino == kIncomingIno && c.name == "REJECTED.txt") continue;
    dir.extras.push_back(std::move(c.name));
  }
  return Status::Ok();
}

Result<Filesystem::Resolved> Filesystem::IncomingResolve(const DirHandle& dir, size_t index) {
  // Staged inodes are not in the InodeTable (the staging tree keeps them),
  // so no node is returned and readdirplus counts nothing.
  ASSIGN_OR_RETURN(Entry e, IncomingLookup(dir.ino, dir.extras[index]));
  return Resolved{e, std::nullopt};
}

Result<std::unique_ptr<OpenFile>> Filesystem::IncomingOpen(InodeId ino) {
  if (incoming_ == nullptr) return Status::NotFound("no /incoming");
  auto file = std::make_unique<OpenFile>();
  file->ino = ino;
  if (ino == kRejectedTxtIno) {
    file->content = std::make_shared<StringContent>(incoming_->rejected().Contents());
    file->direct_io = true;  // grows while open elsewhere; no stale page cache
    return file;
  }
  StagedOpen o = incoming_->Open(ino, O_RDONLY);
  if (o.err == ENOENT) return Status::NotFound("no such file");
  if (o.err == EISDIR) return Status::InvalidArgument("is a folder");
  if (o.err != 0) return Status::FromErrno("/incoming open", o.err);
  file->staged = std::move(o.handle);
  file->direct_io = true;
  return file;
}

// --- Writes ---------------------------------------------------------------------

WriteReply Filesystem::Create(InodeId parent, std::string_view name, int flags, uint32_t mode,
                              uint32_t uid, uint32_t gid) {
  if (!IsIncomingFolder(parent)) return WriteReply::Error(EROFS);
  if (parent == kIncomingIno && name == "REJECTED.txt") return WriteReply::Error(EACCES);
  StagedOpen o = incoming_->Create(parent, name, flags, mode & 07777, uid, gid);
  if (o.err != 0) return WriteReply::Error(o.err);
  WriteReply r{0, EntryOfStaged(o.attr), std::make_unique<OpenFile>()};
  r.file->ino = o.attr.ino;
  r.file->staged = std::move(o.handle);
  r.file->direct_io = true;
  return r;
}

WriteReply Filesystem::OpenForWrite(InodeId ino, int flags) {
  if (incoming_ == nullptr || !IsStagedIno(ino)) return WriteReply::Error(EROFS);
  StagedOpen o = incoming_->Open(ino, flags);
  if (o.err != 0) return WriteReply::Error(o.err);
  WriteReply r{0, EntryOfStaged(o.attr), std::make_unique<OpenFile>()};
  r.file->ino = ino;
  r.file->staged = std::move(o.handle);
  r.file->direct_io = true;
  return r;
}

int64_t Filesystem::Write(OpenFile& file, uint64_t offset, std::span<const uint8_t> data) {
  if (!file.staged || !file.staged->writable) return -EBADF;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = pwrite(file.staged->fd, data.data() + done, data.size() - done,
                       static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return done > 0 ? static_cast<int64_t>(done) : -errno;
    done += static_cast<size_t>(n);
  }
  file.staged->written = true;
  return static_cast<int64_t>(done);
}

int Filesystem::Fsync(OpenFile& file, bool datasync) {
  if (!file.staged) return 0;  // read-only content: nothing to sync
  return incoming_->Fsync(*file.staged, datasync);
}

void Filesystem::Release(OpenFile& file) {
  if (file.staged && incoming_ != nullptr) incoming_->Release(*file.staged);
}

WriteReply Filesystem::Mkdir(InodeId parent, std::string_view name, uint32_t mode, uint32_t uid,
                             uint32_t gid) {
  if (!IsIncomingFolder(parent)) return WriteReply::Error(EROFS);
  if (parent == kIncomingIno && name == "REJECTED.txt") return WriteReply::Error(EEXIST);
  StagedReply r = incoming_->tree().Mkdir(parent, name, mode & 07777, uid, gid);
  if (r.err != 0) return WriteReply::Error(r.err);
  WriteReply w;
  w.entry = EntryOfStaged(r.attr);
  return w;
}

int Filesystem::Unlink(InodeId parent, std::string_view name) {
  if (!IsIncomingFolder(parent)) return EROFS;
  if (parent == kIncomingIno && name == "REJECTED.txt") return EACCES;
  return incoming_->Unlink(parent, name);
}

int Filesystem::Rmdir(InodeId parent, std::string_view name) {
  if (!IsIncomingFolder(parent)) return EROFS;
  return incoming_->tree().Rmdir(parent, name);
}

int Filesystem::Rename(InodeId parent, std::string_view name, InodeId new_parent,
                       std::string_view new_name, unsigned flags) {
  if (!IsIncomingFolder(parent) || !IsIncomingFolder(new_parent)) return EROFS;
  if ((parent == kIncomingIno && name == "REJECTED.txt") ||
      (new_parent == kIncomingIno && new_name == "REJECTED.txt")) {
    return EACCES;
  }
  return incoming_->Rename(parent, name, new_parent, new_name, flags);
}

WriteReply Filesystem::SetAttr(InodeId ino, const StagedSetAttr& change, OpenFile* file) {
  if (incoming_ == nullptr || !IsStagedIno(ino)) return WriteReply::Error(EROFS);
  StagedHandle* handle = file != nullptr ? file->staged.get() : nullptr;
  StagedReply r = incoming_->SetAttr(ino, change, handle);
  if (r.err != 0) return WriteReply::Error(r.err);
  WriteReply w;
  w.entry = EntryOfStaged(r.attr);
  return w;
}

}  // namespace dcmfs
