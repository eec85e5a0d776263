// libfuse low-level callbacks. Each op is split, as in libfuse's
// passthrough_hp.cc, into a Do*() that calls Filesystem and returns an errno
// (0 after it replied itself) and a thin wrapper that replies with that errno.
// Every wrapper runs inside Guard(): an exception escaping our code or a
// library becomes EIO, never a dead mount (STYLE: the FUSE guard catches).
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "base/log.h"
#include "fs/filesystem.h"
#include "fs/internal/fuse_ops.h"
#include "fs/status_errno.h"

namespace dcmfs {
namespace {

Filesystem& Fs(fuse_req_t req) {
  return *static_cast<FuseContext*>(fuse_req_userdata(req))->fs;
}

// Replies `err` unless the op already replied (err == 0).
void ReplyIfError(fuse_req_t req, int err) {
  if (err != 0) fuse_reply_err(req, err);
}

template <typename F>
void Guard(fuse_req_t req, const char* op, F&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    DCMFS_LOG(Error) << op << ": unexpected exception: " << e.what();
    fuse_reply_err(req, EIO);
  } catch (...) {
    DCMFS_LOG(Error) << op << ": unexpected exception";
    fuse_reply_err(req, EIO);
  }
}

struct stat ToStat(const Attr& a) {
  struct stat st {};
  st.st_ino = a.ino;
  st.st_mode = a.mode;
  st.st_nlink = a.nlink;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
  st.st_blksize = 4096;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_mtim.tv_sec = a.mtime;
  st.st_ctim.tv_sec = a.mtime;
  st.st_atim.tv_sec = a.mtime;
  return st;
}

fuse_entry_param ToEntryParam(const Entry& e) {
  fuse_entry_param p{};
  p.ino = e.attr.ino;
  p.attr = ToStat(e.attr);
  p.attr_timeout = e.attr_timeout_s;
  p.entry_timeout = e.entry_timeout_s;
  return p;
}

// --- ops -------------------------------------------------------------------

void OpInit(void* userdata, fuse_conn_info* conn) {
  auto* ctx = static_cast<FuseContext*>(userdata);
  conn->max_write = ctx->max_write;
  conn->max_readahead = std::min(conn->max_readahead, ctx->max_readahead);
  // Must equal the "-o max_read=" mount option when one was given.
  if (ctx->max_read != 0) conn->max_read = ctx->max_read;
  // Many readers at once, and lookups in parallel within one folder.
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO) conn->want |= FUSE_CAP_READDIRPLUS_AUTO;
}

int DoLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Result<Entry> e = Fs(req).Lookup(parent, name);
  if (!e.ok()) return ErrnoFromStatus(e.status());
  fuse_entry_param p = ToEntryParam(*e);
  // If the reply fails (the request was interrupted) the kernel did not take
  // the lookup: undo it to keep the count exact.
  if (fuse_reply_entry(req, &p) != 0) Fs(req).Forget(p.ino, 1);
  return 0;
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, "lookup", [&] { ReplyIfError(req, DoLookup(req, parent, name)); });
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  try {
    Fs(req).Forget(ino, nlookup);
  } catch (...) {
    DCMFS_LOG(Error) << "forget: unexpected exception";
  }
  fuse_reply_none(req);
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  try {
    for (size_t i = 0; i < count; ++i) Fs(req).Forget(forgets[i].ino, forgets[i].nlookup);
  } catch (...) {
    DCMFS_LOG(Error) << "forget_multi: unexpected exception";
  }
  fuse_reply_none(req);
}

int DoGetAttr(fuse_req_t req, fuse_ino_t ino) {
  Result<Entry> e = Fs(req).GetAttr(ino);
  if (!e.ok()) return ErrnoFromStatus(e.status());
  struct stat st = ToStat(e->attr);
  fuse_reply_attr(req, &st, e->attr_timeout_s);
  return 0;
}

void OpGetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* /*fi*/) {
  Guard(req, "getattr", [&] { ReplyIfError(req, DoGetAttr(req, ino)); });
}

int DoOpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Result<std::unique_ptr<DirHandle>> dir = Fs(req).OpenDir(ino);
  if (!dir.ok()) return ErrnoFromStatus(dir.status());
  DirHandle* handle = std::move(dir).value().release();
  fi->fh = reinterpret_cast<uint64_t>(handle);
  if (fuse_reply_open(req, fi) != 0) delete handle;
  return 0;
}

void OpOpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, "opendir", [&] { ReplyIfError(req, DoOpenDir(req, ino, fi)); });
}

int DoReadDir(fuse_req_t req, size_t size, off_t offset, fuse_file_info* fi, bool plus) {
  auto* dir = reinterpret_cast<DirHandle*>(fi->fh);
  std::vector<char> buf(size);
  size_t used = 0;
  std::string name;  // libfuse wants NUL-terminated names
  Status s = Fs(req).ReadDir(*dir, static_cast<uint64_t>(offset), plus, [&](const DirItem& item) {
    name.assign(item.name);
    size_t need;
    if (plus) {
      fuse_entry_param p = ToEntryParam(item.entry);
      // ino 0 in a readdirplus entry means "no attributes, ask me by lookup"
      // to the kernel; the dirent still carries attr.st_ino and the type.
      if (!item.entry.has_attributes) p.ino = 0, p.attr_timeout = 0, p.entry_timeout = 0;
      need = fuse_add_direntry_plus(req, buf.data() + used, size - used, name.c_str(), &p,
                                    static_cast<off_t>(item.next_offset));
    } else {
      struct stat st = ToStat(item.entry.attr);
      need = fuse_add_direntry(req, buf.data() + used, size - used, name.c_str(), &st,
                               static_cast<off_t>(item.next_offset));
    }
    if (need > size - used) return false;  // full: this item was not added
    used += need;
    return true;
  });
  // Entries already placed were counted as lookups; a partial listing is
  // still a valid reply, so only an empty one reports the error.
  if (!s.ok() && used == 0) return ErrnoFromStatus(s);
  if (!s.ok()) {
    DCMFS_LOG(Warning) << "readdir ended early: " << s.ToString();
  }
  fuse_reply_buf(req, buf.data(), used);
  return 0;
}

void OpReadDir(fuse_req_t req, fuse_ino_t /*ino*/, size_t size, off_t off, fuse_file_info* fi) {
  Guard(req, "readdir", [&] { ReplyIfError(req, DoReadDir(req, size, off, fi, false)); });
}

void OpReadDirPlus(fuse_req_t req, fuse_ino_t /*ino*/, size_t size, off_t off,
                   fuse_file_info* fi) {
  Guard(req, "readdirplus", [&] { ReplyIfError(req, DoReadDir(req, size, off, fi, true)); });
}

void OpReleaseDir(fuse_req_t req, fuse_ino_t /*ino*/, fuse_file_info* fi) {
  delete reinterpret_cast<DirHandle*>(fi->fh);
  fuse_reply_err(req, 0);
}

// Hands an open file to the kernel (open and create).
void ReplyOpened(fuse_req_t req, fuse_file_info* fi, std::unique_ptr<OpenFile> file,
                 const Entry* created) {
  OpenFile* handle = file.release();
  fi->keep_cache = handle->keep_cache ? 1 : 0;
  fi->direct_io = handle->direct_io ? 1 : 0;
  fi->fh = reinterpret_cast<uint64_t>(handle);
  int rc;
  if (created != nullptr) {
    fuse_entry_param p = ToEntryParam(*created);
    rc = fuse_reply_create(req, &p, fi);
  } else {
    rc = fuse_reply_open(req, fi);
  }
  if (rc != 0) {
    Fs(req).Release(*handle);
    delete handle;
  }
}

int DoOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  // Writes only under /incoming (EROFS elsewhere); the kernel already
  // refuses them on an "ro" mount.
  if ((fi->flags & O_ACCMODE) != O_RDONLY) {
    WriteReply w = Fs(req).OpenForWrite(ino, fi->flags);
    if (w.err != 0) return w.err;
    ReplyOpened(req, fi, std::move(w.file), nullptr);
    return 0;
  }
  Result<std::unique_ptr<OpenFile>> file = Fs(req).Open(ino);
  if (!file.ok()) return ErrnoFromStatus(file.status());
  OpenFile* handle = std::move(file).value().release();
  fi->keep_cache = handle->keep_cache ? 1 : 0;
  fi->direct_io = handle->direct_io ? 1 : 0;
  fi->fh = reinterpret_cast<uint64_t>(handle);
  if (fuse_reply_open(req, fi) != 0) delete handle;
  return 0;
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, "open", [&] { ReplyIfError(req, DoOpen(req, ino, fi)); });
}

int DoRead(fuse_req_t req, size_t size, off_t offset, fuse_file_info* fi) {
  // One buffer per worker thread, grown to the largest read seen (max_read).
  thread_local std::vector<uint8_t> buf;
  if (buf.size() < size) buf.resize(size);
  const auto* file = reinterpret_cast<const OpenFile*>(fi->fh);
  Result<size_t> n = Fs(req).Read(*file, static_cast<uint64_t>(offset),
                                  std::span<uint8_t>(buf.data(), size));
  if (!n.ok()) {
    DCMFS_LOG(Warning) << "read of inode " << file->ino << " failed: " << n.status().ToString();
    return ErrnoFromStatus(n.status());
  }
  fuse_reply_buf(req, reinterpret_cast<const char*>(buf.data()), *n);
  return 0;
}

void OpRead(fuse_req_t req, fuse_ino_t /*ino*/, size_t size, off_t off, fuse_file_info* fi) {
  Guard(req, "read", [&] { ReplyIfError(req, DoRead(req, size, off, fi)); });
}

void OpRelease(fuse_req_t req, fuse_ino_t /*ino*/, fuse_file_info* fi) {
  auto* file = reinterpret_cast<OpenFile*>(fi->fh);
  try {
    Fs(req).Release(*file);
  } catch (...) {
    DCMFS_LOG(Error) << "release: unexpected exception";
  }
  delete file;
  fuse_reply_err(req, 0);
}

// Size-probe semantics shared by getxattr and listxattr: size 0 asks for the
// length; a smaller buffer than needed is ERANGE.
void ReplyXattr(fuse_req_t req, const std::string& value, size_t size) {
  if (size == 0) {
    fuse_reply_xattr(req, value.size());
  } else if (size < value.size()) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, value.data(), value.size());
  }
}

int DoListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Result<std::vector<std::string>> names = Fs(req).ListXattr(ino);
  if (!names.ok()) return ErrnoFromStatus(names.status());
  std::string list;
  for (const std::string& n : *names) list.append(n).push_back('\0');
  ReplyXattr(req, list, size);
  return 0;
}

void OpListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Guard(req, "listxattr", [&] { ReplyIfError(req, DoListXattr(req, ino, size)); });
}

int DoGetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Result<std::optional<std::string>> value = Fs(req).GetXattr(ino, name);
  if (!value.ok()) return ErrnoFromStatus(value.status());
  // No such attribute: ENODATA (the kernel's ENOATTR).
  if (!value->has_value()) return ENODATA;
  ReplyXattr(req, **value, size);
  return 0;
}

void OpGetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Guard(req, "getxattr", [&] { ReplyIfError(req, DoGetXattr(req, ino, name, size)); });
}

int DoStatFs(fuse_req_t req) {
  struct statvfs st {};
  st.f_bsize = 4096;
  st.f_frsize = 4096;
  st.f_namemax = 255;
  Result<Catalog::Counts> counts = Fs(req).catalog().GetCounts();
  if (counts.ok()) {
    st.f_blocks = (counts->bytes + 4095) / 4096;
    st.f_files = counts->instances;
  }
  // With /incoming, the archive disk's free space: file managers refuse to
  // copy onto a filesystem that reports none.
  struct statvfs disk {};
  if (Fs(req).writable() && statvfs(Fs(req).archive_root().c_str(), &disk) == 0) {
    st.f_bavail = disk.f_bavail * disk.f_frsize / 4096;
    st.f_bfree = disk.f_bfree * disk.f_frsize / 4096;
    st.f_blocks = std::max<fsblkcnt_t>(st.f_blocks, disk.f_blocks * disk.f_frsize / 4096);
    st.f_ffree = disk.f_ffree;
    st.f_favail = disk.f_favail;
  }
  fuse_reply_statfs(req, &st);
  return 0;
}

void OpStatFs(fuse_req_t req, fuse_ino_t /*ino*/) {
  Guard(req, "statfs", [&] { ReplyIfError(req, DoStatFs(req)); });
}

// --- /incoming: the writable folder (fs/filesystem_incoming.cc) -----------------

int ReplyEntryOrErr(fuse_req_t req, const WriteReply& w) {
  if (w.err != 0) return w.err;
  fuse_entry_param p = ToEntryParam(w.entry);
  fuse_reply_entry(req, &p);  // staged inodes keep no lookup count
  return 0;
}

int DoCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
             fuse_file_info* fi) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  WriteReply w = Fs(req).Create(parent, name, fi->flags, mode & ~ctx->umask, ctx->uid, ctx->gid);
  if (w.err != 0) return w.err;
  ReplyOpened(req, fi, std::move(w.file), &w.entry);
  return 0;
}

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  Guard(req, "create", [&] { ReplyIfError(req, DoCreate(req, parent, name, mode, fi)); });
}

void OpWrite(fuse_req_t req, fuse_ino_t /*ino*/, const char* buf, size_t size, off_t off,
             fuse_file_info* fi) {
  Guard(req, "write", [&] {
    auto* file = reinterpret_cast<OpenFile*>(fi->fh);
    int64_t n = Fs(req).Write(*file, static_cast<uint64_t>(off),
                              std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf), size));
    if (n < 0) {
      fuse_reply_err(req, static_cast<int>(-n));
    } else {
      fuse_reply_write(req, static_cast<size_t>(n));
    }
  });
}

void OpFlush(fuse_req_t req, fuse_ino_t /*ino*/, fuse_file_info* /*fi*/) {
  // Every write already reached the staged file; release does the rest.
  fuse_reply_err(req, 0);
}

void OpFsync(fuse_req_t req, fuse_ino_t /*ino*/, int datasync, fuse_file_info* fi) {
  Guard(req, "fsync", [&] {
    fuse_reply_err(req, Fs(req).Fsync(*reinterpret_cast<OpenFile*>(fi->fh), datasync != 0));
  });
}

StagedSetAttr SetAttrChange(const struct stat* attr, int to_set) {
  StagedSetAttr c;
  if (to_set & FUSE_SET_ATTR_SIZE) c.size = static_cast<uint64_t>(attr->st_size);
  if (to_set & FUSE_SET_ATTR_MODE) c.perm = attr->st_mode & 07777;
  if (to_set & FUSE_SET_ATTR_UID) c.uid = attr->st_uid;
  if (to_set & FUSE_SET_ATTR_GID) c.gid = attr->st_gid;
  if (to_set & FUSE_SET_ATTR_ATIME) c.atime = attr->st_atim;
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) c.atime = timespec{0, UTIME_NOW};
  if (to_set & FUSE_SET_ATTR_MTIME) c.mtime = attr->st_mtim;
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) c.mtime = timespec{0, UTIME_NOW};
  return c;
}

int DoSetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
              fuse_file_info* fi) {
  OpenFile* file = fi != nullptr ? reinterpret_cast<OpenFile*>(fi->fh) : nullptr;
  WriteReply w = Fs(req).SetAttr(ino, SetAttrChange(attr, to_set), file);
  if (w.err != 0) return w.err;
  struct stat st = ToStat(w.entry.attr);
  fuse_reply_attr(req, &st, w.entry.attr_timeout_s);
  return 0;
}

void OpSetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
               fuse_file_info* fi) {
  Guard(req, "setattr", [&] { ReplyIfError(req, DoSetAttr(req, ino, attr, to_set, fi)); });
}

void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Guard(req, "mkdir", [&] {
    const fuse_ctx* ctx = fuse_req_ctx(req);
    ReplyIfError(req, ReplyEntryOrErr(req, Fs(req).Mkdir(parent, name, mode & ~ctx->umask,
                                                         ctx->uid, ctx->gid)));
  });
}

void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, "unlink", [&] { fuse_reply_err(req, Fs(req).Unlink(parent, name)); });
}

void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, "rmdir", [&] { fuse_reply_err(req, Fs(req).Rmdir(parent, name)); });
}

void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
              const char* new_name, unsigned int flags) {
  Guard(req, "rename", [&] {
    fuse_reply_err(req, Fs(req).Rename(parent, name, new_parent, new_name, flags));
  });
}

void FillIncomingOps(fuse_lowlevel_ops* ops) {
  ops->create = OpCreate;
  ops->write = OpWrite;
  ops->flush = OpFlush;
  ops->fsync = OpFsync;
  ops->setattr = OpSetAttr;
  ops->mkdir = OpMkdir;
  ops->unlink = OpUnlink;
  ops->rmdir = OpRmdir;
  ops->rename = OpRename;
}

}  // namespace

void FillFuseOps(fuse_lowlevel_ops* ops) {
  std::memset(ops, 0, sizeof(*ops));
  ops->init = OpInit;
  ops->lookup = OpLookup;
  ops->forget = OpForget;
  ops->forget_multi = OpForgetMulti;
  ops->getattr = OpGetAttr;
  ops->opendir = OpOpenDir;
  ops->readdir = OpReadDir;
  ops->readdirplus = OpReadDirPlus;
  ops->releasedir = OpReleaseDir;
  ops->open = OpOpen;
  ops->read = OpRead;
  ops->release = OpRelease;
  ops->listxattr = OpListXattr;
  ops->getxattr = OpGetXattr;
  ops->statfs = OpStatFs;
  FillIncomingOps(ops);
}

}  // namespace dcmfs
