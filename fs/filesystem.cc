#include "fs/filesystem.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "base/log.h"
#include "fs/anonymized/secret.h"
#include "fs/derived/builtin_providers.h"
#include "fs/incoming/incoming.h"
#include "fs/internal/xattrs.h"
#include "index/archive_layout.h"
#include "index/archive_replica.h"

namespace dcmfs {
namespace {

constexpr uint32_t kFolderMode = S_IFDIR | 0555;
constexpr uint32_t kFileMode = S_IFREG | 0444;
// Bound on remembered readdir cursors per open folder (one per reply).
constexpr size_t kMaxCursors = 4096;

bool IsFolderKind(NodeKind kind) {
  return kind == NodeKind::kPatient || kind == NodeKind::kStudy || kind == NodeKind::kSeries ||
         kind == NodeKind::kVirtualFolder;
}

Node NodeOfDirEntry(const DirEntry& e, InodeId parent) {
  return Node{e.kind, e.view, e.ref, e.name, parent, e.size, e.mtime, ""};
}

bool IsFixed(InodeId ino) {
  return ino == kRootIno || ino == kPatientsIno || ino == kStudiesIno ||
         ino == kAnonymizedIno || ino == kDotDcmfsIno || ino == kStatsJsonIno ||
         ino == kManifestIno || ino == kBagitIno || ino == kIncomingIno ||
         ino == kRejectedTxtIno;
}

// The secret keying /anonymized, or "" (view off) when it cannot be had.
std::string ArchiveSecretOrEmpty(const FilesystemOptions& options) {
  if (!options.anonymized_view) return "";
  // A replica must use the writer's secret (fetched from the store when its
  // catalog opened); one of its own would give other pseudonyms.
  if (IsReplicaArchive(options.archive_root) &&
      !std::filesystem::exists(ArchiveLayout{options.archive_root}.secret())) {
    DCMFS_LOG(Warning) << "the store has no archive secret yet: mounting without /anonymized";
    return "";
  }
  Result<std::string> secret = LoadOrCreateArchiveSecret(options.archive_root);
  if (secret.ok()) return std::move(secret).value();
  DCMFS_LOG(Warning) << "no archive secret, mounting without /anonymized: "
                     << secret.status().ToString();
  return "";
}

AnonTreeOptions AnonOptionsOf(const FilesystemOptions& options) {
  AnonTreeOptions o;
  o.deid = options.deid;
  o.include_burned_in = options.anon_include_burned_in;
  o.listing_lifetime_s = options.folder_timeout_s;
  o.iiif_base = options.iiif.base;
  return o;
}

// A writer's archive: follow its writer as a RocksDB secondary. A replica
// (docs/semantics.md, "One archive, many mounts"): own the local replica and
// apply the store's index log on every CatchUp().
Result<std::unique_ptr<Catalog>> OpenCatalogOf(const FilesystemOptions& options) {
  ArchiveLayout layout{options.archive_root};
  if (IsReplicaArchive(options.archive_root)) {
    Result<std::unique_ptr<Catalog>> replica = OpenArchiveReplica(options.archive_root);
    if (!replica.ok()) return replica.status().WithContext("opening the index replica");
    return replica;
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(layout.index(), ec)) {
    return Status::NotFound(options.archive_root +
                            ": not a dcmfs archive (no index/ folder); create it with `dcmfs ingest`");
  }
  CatalogOptions catalog_options;
  catalog_options.path = layout.index();
  catalog_options.read_only_follower = true;
  Result<std::unique_ptr<Catalog>> catalog = Catalog::Open(catalog_options);
  if (!catalog.ok()) return catalog.status().WithContext("opening the catalog");
  return catalog;
}

}  // namespace

Result<std::unique_ptr<Filesystem>> Filesystem::Open(const FilesystemOptions& options) {
  ArchiveLayout layout{options.archive_root};
  Result<std::unique_ptr<Catalog>> catalog = OpenCatalogOf(options);
  if (!catalog.ok()) return catalog.status();
  LocalBlobStoreOptions blob_options;
  blob_options.dir = layout.blobs();
  blob_options.frame_cache_bytes = options.blob_frame_cache_bytes;
  if (options.persistent_cache) {  // over S3: fetched frames kept on this workstation's disk
    blob_options.object_disk_cache_dir = layout.root + "/blob-cache";
    blob_options.object_disk_cache_bytes = options.blob_disk_cache_bytes;
  }
  Result<std::unique_ptr<BlobStore>> blobs = OpenArchiveBlobStore(layout, blob_options);
  if (!blobs.ok()) return blobs.status().WithContext("opening the blob store");

  std::unique_ptr<DerivedFiles> derived;
  if (options.persistent_cache) {
    derived = DerivedFiles::OpenForArchive(options.derived,
                                           DerivedCacheOptions{layout.cache(), options.cache_max_bytes});
  } else {
    derived = std::make_unique<DerivedFiles>(options.derived, nullptr);
  }
  RegisterBuiltinProviders(*derived, options.iiif);
  auto fs = std::make_unique<Filesystem>(options, std::move(catalog).value(),
                                         std::move(blobs).value(), std::move(derived),
                                         ArchiveSecretOrEmpty(options));
  // A replica is written by its poller alone: no /incoming.
  if (options.incoming && !IsReplicaArchive(options.archive_root)) fs->AttachIncoming();
  return fs;
}

Filesystem::Filesystem(const FilesystemOptions& options, std::unique_ptr<Catalog> catalog,
                       std::unique_ptr<BlobStore> blobs, std::unique_ptr<DerivedFiles> derived,
                       std::string archive_secret)
    : options_(options),
      catalog_(std::move(catalog)),
      blobs_(std::move(blobs)),
      derived_(std::move(derived)),
      anon_(archive_secret.empty() || !options.anonymized_view
                ? nullptr
                : std::make_unique<AnonymizedTree>(AnonOptionsOf(options),
                                                   std::move(archive_secret), *catalog_,
                                                   *blobs_, *derived_)),
      bags_(*catalog_, options.folder_timeout_s),
      manifest_(*catalog_),
      started_(std::chrono::steady_clock::now()) {
  CHECK(catalog_ != nullptr && blobs_ != nullptr && derived_ != nullptr);
}

// The children of the fs layer's own folders.
std::optional<InodeId> Filesystem::FixedChild(InodeId parent, std::string_view name) const {
  if (parent == kRootIno) {
    if (name == "patients") return kPatientsIno;
    if (name == "studies") return kStudiesIno;
    if (name == "anonymized" && anon_ != nullptr) return kAnonymizedIno;
    if (name == "bagit") return kBagitIno;
    if (name == ".dcmfs") return kDotDcmfsIno;
    if (name == "incoming" && incoming_ != nullptr) return kIncomingIno;
  } else if (parent == kIncomingIno && name == "REJECTED.txt" && incoming_ != nullptr) {
    return kRejectedTxtIno;
  } else if (parent == kDotDcmfsIno && name == "stats.json") {
    return kStatsJsonIno;
  } else if (parent == kDotDcmfsIno && name == "MANIFEST-sha256.txt") {
    return kManifestIno;
  }
  return std::nullopt;
}

Filesystem::~Filesystem() {
  {
    std::lock_guard lock(bg_mu_);
    stopping_ = true;
  }
  bg_cv_.notify_all();
  if (catch_up_thread_.joinable()) catch_up_thread_.join();
}

void Filesystem::StartBackground() {
  if (incoming_ != nullptr) incoming_->Start();
  if (options_.catch_up_interval.count() <= 0 || catch_up_thread_.joinable()) return;
  catch_up_thread_ = std::thread([this] { CatchUpLoop(); });
}

void Filesystem::CatchUpLoop() {
  // A thread entry point: nothing may escape it (STYLE: threads catch).
  try {
    std::unique_lock lock(bg_mu_);
    bool warned = false;
    while (!bg_cv_.wait_for(lock, options_.catch_up_interval, [this] { return stopping_; })) {
      lock.unlock();
      Status s = catalog_->CatchUp();
      if (!s.ok() && !warned) {
        DCMFS_LOG(Warning) << "catalog catch-up failed: " << s.ToString();
      }
      warned = !s.ok();  // one warning per run of failures, not one per second
      lock.lock();
    }
  } catch (const std::exception& e) {
    DCMFS_LOG(Error) << "catalog catch-up thread stopped: " << e.what();
  } catch (...) {
    DCMFS_LOG(Error) << "catalog catch-up thread stopped by an unknown exception";
  }
}

// --- Entries and attributes ------------------------------------------------

Entry Filesystem::FolderEntry(InodeId ino, int64_t mtime) const {
  Entry e;
  // nlink 1 means "unknown" to find and du: we do not count subfolders.
  e.attr = Attr{ino, kFolderMode, 1, 0, mtime, options_.uid, options_.gid};
  e.attr_timeout_s = options_.folder_timeout_s;
  e.entry_timeout_s = options_.folder_timeout_s;
  return e;
}

Entry Filesystem::FileEntry(InodeId ino, uint64_t size, int64_t mtime, uint32_t nlink,
                            double attr_timeout_s) const {
  Entry e;
  e.attr = Attr{ino, kFileMode, nlink, size, mtime, options_.uid, options_.gid};
  e.attr_timeout_s = attr_timeout_s;
  // Names may change when a clashing sibling arrives (index/naming.h).
  e.entry_timeout_s = options_.folder_timeout_s;
  return e;
}

Entry Filesystem::Identified(Entry e) const {
  // The kernel enforces these (default_permissions): /patients and /studies
  // may be restricted to a group while /anonymized stays open to everyone.
  e.attr.uid = options_.identified_uid.value_or(options_.uid);
  e.attr.gid = options_.identified_gid.value_or(options_.gid);
  const bool folder = (e.attr.mode & S_IFMT) == S_IFDIR;
  e.attr.mode = folder ? S_IFDIR | (options_.identified_mode & 07777)
                       : S_IFREG | (options_.identified_mode & 0444);
  return e;
}

Entry Filesystem::EntryOfDirEntry(const DirEntry& e) const {
  if (e.kind == NodeKind::kInstance) {
    // One inode under /patients and /studies: nlink 2 so tar, du and rsync -H
    // count it once. Its bytes never change, hence the long attribute timeout.
    return Identified(FileEntry(e.ino, e.size, e.mtime, 2, options_.instance_attr_timeout_s));
  }
  return Identified(FolderEntry(e.ino, e.mtime));
}

Result<Node> Filesystem::NodeOf(InodeId ino) const {
  std::optional<Node> node = inodes_.Find(ino);
  if (!node) return Status::NotFound("inode " + std::to_string(ino) + " is not known");
  return *node;
}

Result<Entry> Filesystem::FixedEntry(InodeId ino) {
  if (ino == kStatsJsonIno) {
    // Live content behind a stable size and mtime (see filesystem_stats.cc).
    std::shared_ptr<StringContent> snapshot = StatsSnapshot();
    Entry e = FileEntry(ino, snapshot->size(), 0, 1, 0.0);
    e.entry_timeout_s = options_.folder_timeout_s;
    return e;
  }
  if (ino == kManifestIno) return ManifestEntry();
  if (ino == kIncomingIno) return IncomingFolderEntry();
  if (ino == kRejectedTxtIno) return IncomingAttr(ino);
  // The fixed folders have no date of their own; 0 keeps them stable across mounts.
  if (ino == kPatientsIno || ino == kStudiesIno || ino == kBagitIno) {
    return Identified(FolderEntry(ino, 0));
  }
  return FolderEntry(ino, 0);
}

Result<Entry> Filesystem::EntryOfNode(InodeId ino, const Node& node) {
  if (node.view == View::kAnonymized) return AnonEntryOfNode(ino, node);
  if (node.view == View::kBagit) return BagEntryOfNode(ino, node);
  switch (node.kind) {
    case NodeKind::kInstance:
      return Identified(FileEntry(ino, node.size, node.mtime, 2, options_.instance_attr_timeout_s));
    case NodeKind::kVirtualFolder:
      return Identified(FolderEntry(ino, node.mtime));
    case NodeKind::kVirtual: {
      // The size is only known by producing (or finding) the content.
      ASSIGN_OR_RETURN(std::shared_ptr<DerivedContent> content, VirtualContent(node));
      return Identified(FileEntry(ino, content->size(), node.mtime, 1, options_.folder_timeout_s));
    }
    default:
      return Identified(FolderEntry(ino, node.mtime));
  }
}

Result<Entry> Filesystem::GetAttr(InodeId ino) {
  if (IsFixed(ino)) return FixedEntry(ino);
  if (IsStagedIno(ino)) return IncomingAttr(ino);
  ASSIGN_OR_RETURN(Node node, NodeOf(ino));
  return EntryOfNode(ino, node);
}

// --- Lookup and forget -----------------------------------------------------

Result<Entry> Filesystem::Lookup(InodeId parent, std::string_view name) {
  if (std::optional<InodeId> fixed = FixedChild(parent, name)) return FixedEntry(*fixed);
  if (parent == kRootIno || parent == kDotDcmfsIno) return Status::NotFound("no such file");
  if (parent == kAnonymizedIno) return AnonLookup(parent, nullptr, name);
  if (parent == kBagitIno) return BagLookup(parent, nullptr, name);
  if (IsIncomingFolder(parent)) return IncomingLookup(parent, name);
  std::optional<Node> folder;
  if (parent != kPatientsIno && parent != kStudiesIno) {
    ASSIGN_OR_RETURN(folder, NodeOf(parent));
    if (!IsFolderKind(folder->kind)) return Status::InvalidArgument("not a folder");
    if (folder->view == View::kAnonymized) return AnonLookup(parent, &*folder, name);
    if (folder->view == View::kBagit) return BagLookup(parent, &*folder, name);
  }
  if (folder && folder->kind == NodeKind::kVirtualFolder) {
    ASSIGN_OR_RETURN(Resolved r, LookupVirtual(parent, *folder, name));
    inodes_.Remember(r.entry.attr.ino, *r.node);
    return r.entry;
  }
  Result<DirEntry> e = catalog_->Lookup(parent, name);
  if (e.ok()) {
    inodes_.Remember(e->ino, NodeOfDirEntry(*e, parent));
    return EntryOfDirEntry(*e);
  }
  if (!e.status().IsNotFound() || !folder || folder->kind != NodeKind::kSeries) return e.status();
  ASSIGN_OR_RETURN(Resolved r, LookupVirtual(parent, *folder, name));
  inodes_.Remember(r.entry.attr.ino, *r.node);
  return r.entry;
}

void Filesystem::Forget(InodeId ino, uint64_t nlookup) { inodes_.Forget(ino, nlookup); }

// --- Folders ---------------------------------------------------------------

Result<std::unique_ptr<DirHandle>> Filesystem::OpenDir(InodeId ino) {
  auto dir = std::make_unique<DirHandle>();
  dir->ino = ino;
  dir->parent = kRootIno;
  if (ino == kRootIno) {
    // .dcmfs is reachable by name but not listed: its live figures would
    // otherwise be copied by every rsync, tar or find of the whole mount.
    dir->extras = {"patients", "studies"};
    if (anon_ != nullptr) dir->extras.emplace_back("anonymized");
    dir->extras.emplace_back("bagit");
    if (incoming_ != nullptr) dir->extras.emplace_back("incoming");
  } else if (ino == kDotDcmfsIno) {
    dir->extras = {"MANIFEST-sha256.txt", "stats.json"};
  } else if (ino == kPatientsIno || ino == kStudiesIno) {
    dir->catalog_folder = true;
  } else if (ino == kBagitIno) {
    dir->catalog_folder = true;  // the studies, by UID, from /studies' entries
    dir->bag_root = true;
  } else if (ino == kAnonymizedIno) {
    RETURN_IF_ERROR(AnonOpenDir(*dir, nullptr));
  } else if (IsIncomingFolder(ino)) {
    RETURN_IF_ERROR(IncomingOpenDir(*dir));
  } else {
    ASSIGN_OR_RETURN(Node node, NodeOf(ino));
    if (!IsFolderKind(node.kind)) return Status::InvalidArgument("not a folder");
    dir->parent = node.parent;
    if (node.view == View::kAnonymized) {
      RETURN_IF_ERROR(AnonOpenDir(*dir, &node));
      return dir;
    }
    if (node.view == View::kBagit) {
      RETURN_IF_ERROR(BagOpenDir(*dir, node));
      return dir;
    }
    dir->catalog_folder = node.kind != NodeKind::kVirtualFolder;
    if (node.kind == NodeKind::kSeries || node.kind == NodeKind::kVirtualFolder) {
      RETURN_IF_ERROR(OpenVirtualDir(*dir, node));
    }
  }
  return dir;
}

Result<Filesystem::Resolved> Filesystem::ResolveExtra(const DirHandle& dir, size_t index,
                                                      bool need_attr) {
  const std::string& name = dir.extras[index];
  if (IsIncomingFolder(dir.ino)) return IncomingResolve(dir, index);
  std::optional<InodeId> fixed = FixedChild(dir.ino, name);
  if (!fixed) return ResolveVirtualExtra(dir, index, need_attr);
  if (!need_attr) {
    Entry e;
    e.attr.ino = *fixed;
    e.attr.mode = *fixed == kStatsJsonIno || *fixed == kManifestIno ? kFileMode : kFolderMode;
    if (*fixed == kPatientsIno || *fixed == kStudiesIno || *fixed == kBagitIno) e = Identified(e);
    return Resolved{e, std::nullopt};
  }
  ASSIGN_OR_RETURN(Entry e, FixedEntry(*fixed));
  return Resolved{e, std::nullopt};
}

Result<DirHandle::Cursor> Filesystem::SeekDir(DirHandle& dir, uint64_t offset) {
  // Offsets 0 and 1 are "." and ".."; child i (from 0) ends at offset i + 3.
  if (offset <= 2) return DirHandle::Cursor{};
  auto it = dir.cursors.find(offset);
  if (it != dir.cursors.end()) return it->second;
  // An offset we did not hand out at the end of a reply (seekdir to a telldir
  // inside one): count from the start. Rare, and still a prefix scan.
  uint64_t skip = offset - 2;
  DirHandle::Cursor cursor;
  if (dir.catalog_folder) {
    uint64_t seen = 0;
    RETURN_IF_ERROR(catalog_->List(dir.bag_root ? kStudiesIno : dir.ino, "", [&](const DirEntry& e) {
      cursor.after = e.name;
      return ++seen < skip;
    }));
    if (seen == skip) return cursor;
    skip -= seen;
  }
  cursor.in_extras = true;
  cursor.extra = std::min<uint64_t>(skip, dir.extras.size());
  return cursor;
}

Status Filesystem::ReadCatalogChildren(DirHandle& dir, bool plus, DirHandle::Cursor& cursor,
                                       uint64_t& offset,
                                       const std::function<bool(const DirItem&)>& emit,
                                       bool& full) {
  const InodeId listed = dir.bag_root ? kStudiesIno : dir.ino;
  return catalog_->List(listed, cursor.after, [&](const DirEntry& e) {
    Entry entry;
    Node node;
    if (dir.bag_root) {  // a study's bag folder, named by its UID as in /studies
      auto [ino, bag] = BagTree::BagFolder(e, kBagitIno);
      entry = Identified(FolderEntry(ino, e.mtime));
      node = std::move(bag);
    } else {
      entry = EntryOfDirEntry(e);
      node = NodeOfDirEntry(e, dir.ino);
    }
    if (!emit(DirItem{e.name, entry, offset + 1})) {
      full = true;
      return false;
    }
    if (plus) inodes_.Remember(entry.attr.ino, node);
    ++offset;
    cursor.after = e.name;
    return true;
  });
}

Status Filesystem::ReadDir(DirHandle& dir, uint64_t offset, bool plus,
                           const std::function<bool(const DirItem&)>& emit) {
  std::lock_guard lock(dir.mu);
  if (offset == 0) {
    if (!emit(DirItem{".", FolderEntry(dir.ino, 0), 1})) return Status::Ok();
    offset = 1;
  }
  if (offset == 1) {
    if (!emit(DirItem{"..", FolderEntry(dir.parent, 0), 2})) return Status::Ok();
    offset = 2;
  }
  if (dir.bag) return ReadBagChildren(dir, offset, plus, emit);
  if (dir.anon) return ReadAnonChildren(dir, offset, plus, emit);
  ASSIGN_OR_RETURN(DirHandle::Cursor cursor, SeekDir(dir, offset));
  bool full = false;
  if (!cursor.in_extras && dir.catalog_folder) {
    RETURN_IF_ERROR(ReadCatalogChildren(dir, plus, cursor, offset, emit, full));
  }
  if (!full) {
    if (!cursor.in_extras) cursor = DirHandle::Cursor{true, "", 0};
    for (; cursor.extra < dir.extras.size(); ++cursor.extra) {
      Result<Resolved> r = ResolveExtra(dir, cursor.extra, plus);
      if (!r.ok()) {
        // A virtual file that cannot be produced is left out of the listing
        // rather than failing it; a lookup reports the error.
        DCMFS_LOG(Warning) << "readdir: skipping a virtual file: " << r.status().ToString();
        continue;
      }
      if (!emit(DirItem{dir.extras[cursor.extra], r->entry, offset + 1})) break;
      if (plus && r->node) inodes_.Remember(r->entry.attr.ino, *r->node);
      ++offset;
    }
  }
  if (dir.cursors.size() >= kMaxCursors) dir.cursors.erase(dir.cursors.begin());
  dir.cursors[offset] = cursor;
  return Status::Ok();
}

// --- Files -----------------------------------------------------------------

Result<std::unique_ptr<OpenFile>> Filesystem::Open(InodeId ino) {
  auto file = std::make_unique<OpenFile>();
  file->ino = ino;
  if (ino == kStatsJsonIno) {
    file->content = StatsSnapshot();
    file->direct_io = true;  // regenerated per open; bypass the page cache
    return file;
  }
  if (ino == kManifestIno) {
    ASSIGN_OR_RETURN(file->content, manifest_.Current());
    return file;
  }
  if (ino == kRejectedTxtIno || IsStagedIno(ino)) return IncomingOpen(ino);
  if (IsFixed(ino)) return Status::InvalidArgument("is a folder");
  ASSIGN_OR_RETURN(Node node, NodeOf(ino));
  if (node.view == View::kAnonymized) return AnonOpen(ino, node);
  if (node.view == View::kBagit) return BagOpen(ino, node);
  if (node.kind == NodeKind::kInstance) {
    std::optional<Digest> digest = DigestFromHex(node.ref);
    if (!digest) return Status::Internal("instance entry without a digest");
    ASSIGN_OR_RETURN(file->blob, blobs_->Open(*digest));
    if (file->blob->size() != node.size) {
      return Status::Corruption(blobs_->Locate(*digest) + ": size differs from the catalog's");
    }
    file->keep_cache = true;  // immutable bytes: the page cache may serve repeats
    return file;
  }
  if (node.kind == NodeKind::kVirtual) {
    ASSIGN_OR_RETURN(file->content, VirtualContent(node));
    return file;
  }
  return Status::InvalidArgument("is a folder");
}

Result<size_t> Filesystem::Read(const OpenFile& file, uint64_t offset, std::span<uint8_t> out) {
  if (file.staged) return ReadStaged(*file.staged, offset, out);
  // FUSE treats a short read as end of file, so fill `out` unless at the end.
  size_t done = 0;
  while (done < out.size()) {
    Result<size_t> n = file.blob ? file.blob->ReadAt(offset + done, out.subspan(done))
                                 : file.content->ReadAt(offset + done, out.subspan(done));
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    done += *n;
  }
  return done;
}

// --- Extended attributes ---------------------------------------------------

Result<XattrList> Filesystem::XattrsOf(const Node& node) const {
  if (node.view == View::kAnonymized) return anon_->Xattrs(node);
  // In a bag, the bag folder is its study and a payload file its instance.
  if (node.view == View::kBagit && node.kind != NodeKind::kStudy &&
      node.kind != NodeKind::kInstance) {
    return XattrList{};
  }
  return DicomXattrs(*catalog_, node.kind, node.ref);
}

Result<std::vector<std::string>> Filesystem::ListXattr(InodeId ino) {
  if (IsFixed(ino) || IsStagedIno(ino)) return std::vector<std::string>{};
  ASSIGN_OR_RETURN(Node node, NodeOf(ino));
  ASSIGN_OR_RETURN(XattrList list, XattrsOf(node));
  std::vector<std::string> names;
  names.reserve(list.size());
  for (auto& [name, value] : list) names.push_back(std::move(name));
  return names;
}

Result<std::optional<std::string>> Filesystem::GetXattr(InodeId ino, std::string_view name) {
  if (IsFixed(ino) || IsStagedIno(ino) || !name.starts_with(kXattrPrefix)) {
    return std::optional<std::string>();
  }
  ASSIGN_OR_RETURN(Node node, NodeOf(ino));
  ASSIGN_OR_RETURN(XattrList list, XattrsOf(node));
  for (auto& [n, value] : list) {
    if (n == name) return std::optional<std::string>(std::move(value));
  }
  return std::optional<std::string>();
}

}  // namespace dcmfs
