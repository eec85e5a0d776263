// Filesystem: the mounted tree as plain C++, with no FUSE types, so that it
// is testable without a kernel. fs/fuse_main.cc only converts FUSE requests
// into these calls and the results into replies.
//
//   /                     patients/  studies/  anonymized/  (and .dcmfs/, by name only)
//   /patients/<patient>/<study>/<series>/NNNN.dcm, SHA256SUMS, ...
//   /studies/<StudyUID>/<SeriesUID>/<SOPUID>.dcm, SHA256SUMS, ...
//   /anonymized/<pseudonym>/<date> <modalities>/<series>/NNNN.dcm, ...
//                         (fs/anonymized/anon_tree.h; keyed by ARCHIVE/secret)
//   /bagit/<StudyUID>/    each study as a BagIt bag (fs/bagit/bag_tree.h)
//   /.dcmfs/stats.json    counts, cache statistics, uptime
//   /.dcmfs/MANIFEST-sha256.txt  every instance's sum (fs/bagit/archive_manifest.h)
//   /incoming/            writable: files closed here are ingested
//                         (fs/incoming/incoming.h), REJECTED.txt lists refusals
//
// Inodes are stable (index/inode.h): catalog entries carry their inode;
// virtual files get InodeFor(kVirtual, ...); the fixed folders below.
// An instance file is one inode in both views (nlink 2).
//
// The catalog is opened as a follower (RocksDB secondary) because ingest runs
// in another process as the single writer, and several mounts may share one
// archive; a background thread calls Catalog::CatchUp() every
// `catch_up_interval` so new ingests show up after at most that interval
// plus the 1 s entry/attr timeouts of folders.
//
// Thread-safe: every method may be called concurrently. Locks, in order
// (a lock is only taken while holding locks listed above it):
//   DirHandle::mu  (one directory stream)
//   InodeTable's mutex, DerivedFiles' mutex, AnonymizedTree's mutex,
//   stats_mu_, bg_mu_ (leaves;
//   never held while calling the catalog, the blob store or a provider)
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "base/status.h"
#include "codecs/deidentify.h"
#include "fs/anonymized/anon_tree.h"
#include "fs/bagit/archive_manifest.h"
#include "fs/bagit/bag_tree.h"
#include "fs/derived/derived_files.h"
#include "fs/iiif/iiif_providers.h"
#include "fs/incoming/staging.h"
#include "fs/internal/inode_table.h"
#include "fs/internal/xattrs.h"
#include "index/blob_store.h"
#include "index/catalog.h"

namespace dcmfs {

// Fixed inodes of the fs layer's own folders (below kFirstDerivedIno).
inline constexpr InodeId kDotDcmfsIno = 16;
inline constexpr InodeId kStatsJsonIno = 17;
inline constexpr InodeId kRejectedTxtIno = 18;  // /incoming/REJECTED.txt
inline constexpr InodeId kManifestIno = 19;     // /.dcmfs/MANIFEST-sha256.txt
inline constexpr InodeId kBagitIno = 20;        // /bagit
// /incoming is kIncomingIno (5); its entries have inodes >= kFirstStagedIno.

class Incoming;
class Receiver;
struct StagedHandle;

struct FilesystemOptions {
  std::string archive_root;
  uint32_t uid = 0;  // owner of every node: the mounting user
  uint32_t gid = 0;
  // Folders and virtual files may change as ingests land.
  double folder_timeout_s = 1.0;
  // An instance inode names immutable bytes, so its attributes never change.
  double instance_attr_timeout_s = 3600.0;
  // How often the follower catalog catches up with the writer; 0 = never
  // (tests call CatchUp() themselves).
  std::chrono::milliseconds catch_up_interval{1000};
  bool persistent_cache = true;  // use ARCHIVE/cache for persist() providers
  uint64_t cache_max_bytes = 4ull << 30;
  size_t blob_frame_cache_bytes = 64u << 20;
  // Blobs on an object store: the bound of the on-disk cache of fetched
  // frames in ARCHIVE/blob-cache (used only with persistent_cache; 0: none).
  uint64_t blob_disk_cache_bytes = 1ull << 30;
  DerivedFilesOptions derived;

  // --- The anonymized view (/anonymized) -------------------------------
  bool anonymized_view = true;
  DeidOptions deid;                     // profile options (codecs/deidentify.h)
  // Images that may carry burned-in text (BurnedInAnnotation YES, or absent
  // for US, SC, XC, ES, OT) are left out unless this is set.
  bool anon_include_burned_in = false;

  // --- Who may see what (enforced by the kernel with default_permissions) --
  // Owner, group and folder mode of /patients, /studies and everything
  // below them; files get the folder mode's read bits. /anonymized and the
  // root stay 0555/0444 for everyone (with -o allow_other).
  std::optional<uint32_t> identified_uid;   // default: `uid`
  std::optional<uint32_t> identified_gid;   // default: `gid`
  uint32_t identified_mode = 0555;

  // --- /incoming (fs/incoming/incoming.h): writable unless the mount is
  // read-only. Owned by identified_uid/gid, writable where identified_mode
  // lets the owner or group search (0555 -> 0775, 0550 -> 0770).
  bool incoming = true;

  // --- IIIF (fs/iiif/iiif_providers.h): the URL base of info.json ids and
  // manifests (`-o iiif_base=URL`), and the bounds of its pixel caches.
  IiifOptions iiif;
};

struct Attr {
  InodeId ino = 0;
  uint32_t mode = 0;  // S_IFDIR|0555 or S_IFREG|0444
  uint32_t nlink = 1;
  uint64_t size = 0;
  int64_t mtime = 0;  // seconds since the epoch, from the catalog, never the clock
  uint32_t uid = 0, gid = 0;
};

// A reply to lookup/getattr/readdirplus.
struct Entry {
  Attr attr;
  // readdirplus only: false when the attributes are left out because the
  // size costs a production (meshes); the kernel then asks by lookup when
  // someone stats the file, and plain `ls` never produces it.
  bool has_attributes = true;
  double attr_timeout_s = 1.0;
  double entry_timeout_s = 1.0;
};

// An open file; owned by the caller (the FUSE layer keeps it in fi->fh).
struct OpenFile {
  InodeId ino = 0;
  bool keep_cache = false;  // immutable contents: let the page cache serve repeats
  bool direct_io = false;   // contents regenerated per open (stats.json)
  std::shared_ptr<BlobReader> blob;           // instances
  std::shared_ptr<DerivedContent> content;    // virtual files and stats.json
  std::shared_ptr<StagedHandle> staged;       // files under /incoming
};

// The result of an /incoming operation: an errno (0 = done, then `entry`
// and, for create/open, `file`). Writes are POSIX passthrough to staged
// files, so errors keep their errno (ENOTEMPTY, EISDIR, EEXIST, ...).
struct WriteReply {
  int err = 0;
  Entry entry;
  std::unique_ptr<OpenFile> file;
  static WriteReply Error(int err) {
    WriteReply r;
    r.err = err;
    return r;
  }
};

// An open directory stream: remembers where each reply ended so that the next
// readdir resumes with a prefix scan after a name rather than by counting.
struct DirHandle {
  struct Cursor {
    bool in_extras = false;  // past the catalog entries
    std::string after;       // last catalog name returned
    size_t extra = 0;        // next index into `extras`
  };
  InodeId ino = 0;
  InodeId parent = 0;
  bool catalog_folder = false;       // children come from Catalog::List
  std::vector<std::string> extras;   // listed after the catalog's children
  std::vector<bool> extra_folders;   // per extra when derived: a virtual folder
  // Anonymized folders and folders inside a bag: the children, a snapshot
  // taken at OpenDir; child i ends at offset i + 3.
  std::shared_ptr<const AnonListing> anon;
  bool bag = false;       // `anon` lists a folder inside a /bagit bag
  bool bag_root = false;  // /bagit: the studies, listed from the catalog
  std::mutex mu;
  std::map<uint64_t, Cursor> cursors;  // GUARDED_BY(mu): offset -> where to resume
};

struct DirItem {
  std::string_view name;
  Entry entry;  // readdir (not plus): only attr.ino and attr.mode are set
  uint64_t next_offset = 0;
};

class Filesystem {
 public:
  // Opens ARCHIVE's catalog (as a follower), blob store and derived cache, and
  // registers the built-in providers. NotFound if ARCHIVE is not an archive.
  // Does not start the catch-up thread (see StartBackground).
  static Result<std::unique_ptr<Filesystem>> Open(const FilesystemOptions& options);
  // If options.anonymized_view, reads or creates ARCHIVE/secret
  // (fs/anonymized/secret.h); when that fails (a read-only archive without
  // one) it logs a warning and mounts without /anonymized.
  //
  // Over given parts (tests). An empty `archive_secret` disables /anonymized.
  Filesystem(const FilesystemOptions& options, std::unique_ptr<Catalog> catalog,
             std::unique_ptr<BlobStore> blobs, std::unique_ptr<DerivedFiles> derived,
             std::string archive_secret = "");
  ~Filesystem();
  Filesystem(const Filesystem&) = delete;
  Filesystem& operator=(const Filesystem&) = delete;

  // Starts the catch-up thread (after any fork: threads do not survive it).
  void StartBackground();

  // NotFound if `parent` has no child `name` (or `parent` is unknown). On
  // success the kernel holds one more lookup of the returned inode.
  Result<Entry> Lookup(InodeId parent, std::string_view name);
  void Forget(InodeId ino, uint64_t nlookup);
  // NotFound if the inode is unknown (never looked up, or forgotten).
  Result<Entry> GetAttr(InodeId ino);

  // InvalidArgument if `ino` is not a folder.
  Result<std::unique_ptr<DirHandle>> OpenDir(InodeId ino);
  // Emits entries from `offset` (0 = start; else a next_offset given before)
  // until `emit` returns false (the reply is full; that item was not taken)
  // or the folder ends. With `plus`, every taken item except "." and ".."
  // counts as a lookup of its inode.
  Status ReadDir(DirHandle& dir, uint64_t offset, bool plus,
                 const std::function<bool(const DirItem&)>& emit);

  // InvalidArgument for folders. The result pins the content read.
  Result<std::unique_ptr<OpenFile>> Open(InodeId ino);
  // Fills `out` from `offset` as far as the file goes; returns the count.
  Result<size_t> Read(const OpenFile& file, uint64_t offset, std::span<uint8_t> out);

  // "user.dicom.*" names of the DICOM fields that apply to `ino`.
  Result<std::vector<std::string>> ListXattr(InodeId ino);
  // nullopt if `ino` has no attribute `name` (the kernel's ENODATA).
  Result<std::optional<std::string>> GetXattr(InodeId ino, std::string_view name);

  // --- /incoming (filesystem_incoming.cc). All return EROFS outside
  // /incoming or when the mount has none. Owners are the caller's uid/gid.
  WriteReply Create(InodeId parent, std::string_view name, int flags, uint32_t mode,
                    uint32_t uid, uint32_t gid);
  WriteReply OpenForWrite(InodeId ino, int flags);
  // Bytes written or -errno.
  int64_t Write(OpenFile& file, uint64_t offset, std::span<const uint8_t> data);
  int Fsync(OpenFile& file, bool datasync);
  // Every handle, before it is deleted: a written staged file gets queued.
  void Release(OpenFile& file);
  WriteReply Mkdir(InodeId parent, std::string_view name, uint32_t mode, uint32_t uid,
                   uint32_t gid);
  int Unlink(InodeId parent, std::string_view name);
  int Rmdir(InodeId parent, std::string_view name);
  int Rename(InodeId parent, std::string_view name, InodeId new_parent,
             std::string_view new_name, unsigned flags);
  WriteReply SetAttr(InodeId ino, const StagedSetAttr& change, OpenFile* file);
  // The mount has a writable /incoming.
  bool writable() const { return incoming_ != nullptr; }
  // Shares the mount's SCP receiver with /incoming (nullptr: stop; waits
  // for a store in progress). See fs/incoming/incoming_writer.h.
  void ShareReceiver(Receiver* receiver);

  Status CatchUp() { return catalog_->CatchUp(); }
  // The current /.dcmfs/stats.json text.
  std::string StatsJson();
  // Adds an object to stats.json under `key` (e.g. "scp": the figures of the
  // mount's DICOM SCP). `json` returns a JSON object's text, or "" when it
  // has nothing to say (the key is then null); called on every snapshot, from
  // any thread. Thread-safe.
  void SetStatsSection(std::string key, std::function<std::string()> json);

  const InodeTable& inodes() const { return inodes_; }
  DerivedFiles& derived() { return *derived_; }
  bool anonymized_view() const { return anon_ != nullptr; }
  const Catalog& catalog() const { return *catalog_; }
  const std::string& archive_root() const { return options_.archive_root; }

 private:
  Result<Node> NodeOf(InodeId ino) const;
  Entry FolderEntry(InodeId ino, int64_t mtime) const;
  Entry FileEntry(InodeId ino, uint64_t size, int64_t mtime, uint32_t nlink,
                  double attr_timeout_s) const;
  Entry EntryOfDirEntry(const DirEntry& e) const;
  // `e` with the owner and mode of the identified trees (/patients, /studies).
  Entry Identified(Entry e) const;
  std::optional<InodeId> FixedChild(InodeId parent, std::string_view name) const;
  Result<Entry> EntryOfNode(InodeId ino, const Node& node);
  Result<Entry> FixedEntry(InodeId ino);
  Result<SeriesContext> SeriesContextOf(const std::string& series_uid, View view,
                                        InodeId folder_ino) const;
  Result<std::shared_ptr<DerivedContent>> VirtualContent(const Node& node);
  // An entry and, unless it is a fixed inode, the node to remember when the
  // entry is handed to the kernel.
  struct Resolved {
    Entry entry;
    std::optional<Node> node;
  };
  // Derived files and their folders (filesystem_virtual.cc).
  Result<Resolved> LookupVirtual(InodeId parent, const Node& folder, std::string_view name);
  Status OpenVirtualDir(DirHandle& dir, const Node& folder);
  Result<Resolved> ResolveVirtualExtra(const DirHandle& dir, size_t index, bool need_attr);
  Result<Resolved> ResolveExtra(const DirHandle& dir, size_t index, bool need_attr);
  Status ReadCatalogChildren(DirHandle& dir, bool plus, DirHandle::Cursor& cursor,
                             uint64_t& offset, const std::function<bool(const DirItem&)>& emit,
                             bool& full);
  Result<DirHandle::Cursor> SeekDir(DirHandle& dir, uint64_t offset);
  // The anonymized view (filesystem_anonymized.cc).
  Result<Entry> AnonLookup(InodeId parent, const Node* folder, std::string_view name);
  Result<Resolved> AnonResolve(const AnonChild& child);
  Result<Entry> AnonEntryOfNode(InodeId ino, const Node& node);
  Status AnonOpenDir(DirHandle& dir, const Node* folder);
  Status ReadAnonChildren(DirHandle& dir, uint64_t offset, bool plus,
                          const std::function<bool(const DirItem&)>& emit);
  Result<std::unique_ptr<OpenFile>> AnonOpen(InodeId ino, const Node& node);
  // /bagit (filesystem_bagit.cc).
  Result<Entry> BagLookup(InodeId parent, const Node* folder, std::string_view name);
  Result<Entry> BagEntryOfNode(InodeId ino, const Node& node);
  Status BagOpenDir(DirHandle& dir, const Node& folder);
  Status ReadBagChildren(DirHandle& dir, uint64_t offset, bool plus,
                         const std::function<bool(const DirItem&)>& emit);
  Result<std::unique_ptr<OpenFile>> BagOpen(InodeId ino, const Node& node);
  Result<Entry> ManifestEntry();
  Result<XattrList> XattrsOf(const Node& node) const;
  std::shared_ptr<StringContent> StatsSnapshot();
  void CatchUpLoop();
  // /incoming (filesystem_incoming.cc).
  void AttachIncoming();
  bool IsIncomingFolder(InodeId ino) const;
  Entry IncomingFolderEntry() const;
  Entry EntryOfStaged(const StagedAttr& a) const;
  Result<Entry> IncomingLookup(InodeId parent, std::string_view name);
  Result<Entry> IncomingAttr(InodeId ino);
  Status IncomingOpenDir(DirHandle& dir);
  Result<Resolved> IncomingResolve(const DirHandle& dir, size_t index);
  Result<std::unique_ptr<OpenFile>> IncomingOpen(InodeId ino);

  const FilesystemOptions options_;
  const std::unique_ptr<Catalog> catalog_;
  const std::unique_ptr<BlobStore> blobs_;
  const std::unique_ptr<DerivedFiles> derived_;
  const std::unique_ptr<AnonymizedTree> anon_;  // null: no /anonymized
  BagTree bags_;
  ArchiveManifest manifest_;
  std::unique_ptr<Incoming> incoming_;  // null: read-only mount; set once in Open
  const std::chrono::steady_clock::time_point started_;
  InodeTable inodes_;

  std::mutex stats_mu_;
  std::shared_ptr<StringContent> stats_snapshot_;           // GUARDED_BY(stats_mu_)
  std::chrono::steady_clock::time_point stats_taken_;       // GUARDED_BY(stats_mu_)

  std::mutex sections_mu_;  // a leaf
  std::vector<std::pair<std::string, std::function<std::string()>>> stats_sections_;  // GUARDED_BY(sections_mu_)

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool stopping_ = false;  // GUARDED_BY(bg_mu_)
  std::thread catch_up_thread_;
};

}  // namespace dcmfs
