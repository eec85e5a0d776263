// The folder tree under /incoming: real files and folders in a staging folder
// of the archive (ARCHIVE/incoming/staged), exposed with inode numbers of
// their own. The disk is the source of truth for what exists, its size and
// times; this class keeps, per entry the kernel has seen, its inode, parent,
// name and the owner/mode the writer gave it (chmod/chown are stored, not
// applied: the files on disk belong to the mounting user, mode 0600/0400).
//
// Inodes: kFirstStagedIno | counter. Catalog inodes (index/inode.h) are 63-bit
// hashes and never have the top bit set, so the two never collide. Staged
// inodes are not stable across mounts; staged entries are transient.
//
// Completeness marker (docs/semantics.md, "/incoming"): a staged file whose
// owner-write bit is set on disk (0600) is being written, or was when the
// mount stopped; a file with mode 0400 was closed after its bytes were
// fdatasync'ed and may be ingested. Only `MarkComplete` clears the bit.
//
// Operations follow libfuse's passthrough_hp: they return an errno (0 = done)
// rather than a Status, because POSIX callers need ENOTEMPTY, EISDIR, ...
// Thread-safe: one mutex, held across the metadata syscalls (not data I/O);
// a leaf lock.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <ctime>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "index/inode.h"

namespace dcmfs {

// The /incoming folder itself (fs-level fixed inode, below kFirstDerivedIno).
inline constexpr InodeId kIncomingIno = 5;
inline constexpr InodeId kFirstStagedIno = InodeId{1} << 63;

inline bool IsStagedIno(InodeId ino) { return ino >= kFirstStagedIno; }

struct StagedAttr {
  InodeId ino = 0;
  bool folder = false;
  uint32_t perm = 0;  // permission bits as shown (stored chmod, else the default)
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;
  int64_t mtime = 0;  // seconds
  bool complete = false;  // files: closed and synced (the 0400 marker)
};

// What an operation returns: an errno and, when it is 0, the result.
struct StagedReply {
  int err = 0;
  StagedAttr attr;
  int fd = -1;  // Create/Open: owned by the caller
  static StagedReply Error(int err) {
    StagedReply r;
    r.err = err;
    return r;
  }
};

struct StagedChild {
  std::string name;
  bool folder = false;
};

// setattr's changes; unset fields are left alone.
struct StagedSetAttr {
  std::optional<uint64_t> size;
  std::optional<uint32_t> perm, uid, gid;
  std::optional<timespec> atime, mtime;  // tv_nsec may be UTIME_NOW
};

// A staged file left on disk: by a stopped mount or not yet ingested.
struct StagedLeftover {
  InodeId ino = 0;
  std::string rel;  // path below the staging folder
  bool complete = false;
};

class StagingTree {
 public:
  struct Options {
    std::string dir;               // ARCHIVE/incoming/staged (created on demand)
    uint32_t uid = 0, gid = 0;     // owner shown for entries nobody chown'ed
    uint32_t file_perm = 0640;     // default permission bits shown
    uint32_t folder_perm = 0750;
  };
  explicit StagingTree(Options options);

  // `folder` is kIncomingIno or a staged folder's inode.
  bool IsFolder(InodeId ino) const;
  StagedReply Lookup(InodeId parent, std::string_view name);
  StagedReply GetAttr(InodeId ino);
  // The children of a folder, as on disk now (regular files and folders).
  std::pair<int, std::vector<StagedChild>> List(InodeId folder);

  // Creates (or with !O_EXCL opens) `name` for writing; the file is marked
  // incomplete. O_TRUNC and O_EXCL of `flags` apply.
  StagedReply Create(InodeId parent, std::string_view name, int flags, uint32_t perm,
                     uint32_t uid, uint32_t gid);
  // Opens a staged file; for writing it is first marked incomplete.
  StagedReply Open(InodeId ino, bool for_write, bool truncate);
  StagedReply Mkdir(InodeId parent, std::string_view name, uint32_t perm, uint32_t uid,
                    uint32_t gid);
  // Return the inode removed (0 if it was never seen) alongside the errno.
  std::pair<int, InodeId> Unlink(InodeId parent, std::string_view name);
  int Rmdir(InodeId parent, std::string_view name);
  // `flags`: 0 or RENAME_NOREPLACE (RENAME_EXCHANGE: EINVAL). The inode of a
  // file the rename replaced is returned (0 if none).
  std::pair<int, InodeId> Rename(InodeId parent, std::string_view name, InodeId new_parent,
                                 std::string_view new_name, unsigned flags);
  // A size change marks the file incomplete (the caller decides when it is
  // complete again). `fd` >= 0 applies it through an open handle.
  StagedReply SetAttr(InodeId ino, const StagedSetAttr& change, int fd);

  // fdatasync + mode 0400 through `fd` (the caller's last write handle).
  int MarkComplete(int fd);
  // The same by inode, for a file truncated without an open handle.
  int MarkCompleteByIno(InodeId ino);

  // Moves a complete, not-open file out of the tree to `to` (atomic rename
  // on one filesystem), forgets its inode and returns its path relative to
  // the staging folder. nullopt if it is gone or no longer complete.
  std::optional<std::string> Claim(InodeId ino, const std::string& to);
  // Removes folders that are empty and unchanged for `min_age_s` (so that a
  // `cp -r` between mkdir and its first file is never pulled from under).
  // Returns how many empty folders are left for a later sweep.
  size_t SweepEmptyFolders(int64_t min_age_s);
  // Every staged file on disk, with an inode (for the next mount's re-queue).
  std::vector<StagedLeftover> Leftovers();
  // The path below the staging folder of a known inode ("" for /incoming).
  std::optional<std::string> RelPath(InodeId ino) const;
  // The /incoming path of a staged path: "/incoming/" + rel.
  static std::string Shown(std::string_view rel) { return "/incoming/" + std::string(rel); }
  const std::string& dir() const { return options_.dir; }

 private:
  struct Record {
    InodeId parent = 0;
    std::string name;
    bool folder = false;
    std::optional<uint32_t> perm, uid, gid;
  };
  // Path below the staging folder ("" for the root), nullopt for unknown inodes.
  std::optional<std::string> RelLocked(InodeId ino) const;
  std::optional<std::string> FullLocked(InodeId ino) const;
  InodeId RecordLocked(InodeId parent, std::string_view name, bool folder);
  void EraseLocked(InodeId ino);
  StagedAttr AttrLocked(InodeId ino, const struct stat& st) const;
  StagedReply StatLocked(InodeId ino);
  int EnsureRootLocked();
  void LeftoversBelow(InodeId folder, const std::string& rel, std::vector<StagedLeftover>& out);
  size_t SweepBelow(const std::string& full, int64_t min_age_s, int64_t now, bool is_root);

  const Options options_;
  mutable std::mutex mu_;
  std::unordered_map<InodeId, Record> records_;                    // GUARDED_BY(mu_)
  std::map<std::pair<InodeId, std::string>, InodeId, std::less<>> children_;  // GUARDED_BY(mu_)
  InodeId next_ = kFirstStagedIno + 1;                             // GUARDED_BY(mu_)
};

}  // namespace dcmfs
