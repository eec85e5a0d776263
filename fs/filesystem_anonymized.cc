// Filesystem's side of /anonymized: entries, listings and open files of the
// de-identified tree, whose names and contents come from AnonymizedTree
// (fs/anonymized/anon_tree.h). Everything here is read-only and owned by
// `uid`/`gid` with 0555/0444 (not the identified trees' restricted mode).
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "base/log.h"
#include "fs/filesystem.h"

namespace dcmfs {

Result<Filesystem::Resolved> Filesystem::AnonResolve(const AnonChild& child) {
  Node node = child.node;
  switch (node.kind) {
    case NodeKind::kInstance: {
      // st_size must be exact before the first read, so the copy is made (or
      // found in the cache) now; the inode table then remembers its size.
      ASSIGN_OR_RETURN(std::shared_ptr<DerivedContent> content, anon_->Content(node));
      node.size = content->size();
      // Its bytes are fixed by the original, the options and the secret.
      Entry e = FileEntry(child.ino, node.size, node.mtime, 1, options_.instance_attr_timeout_s);
      return Resolved{e, std::move(node)};
    }
    case NodeKind::kVirtual: {
      ASSIGN_OR_RETURN(std::shared_ptr<DerivedContent> content, anon_->Content(node));
      Entry e = FileEntry(child.ino, content->size(), node.mtime, 1, options_.folder_timeout_s);
      return Resolved{e, std::move(node)};
    }
    default:
      return Resolved{FolderEntry(child.ino, node.mtime), std::move(node)};
  }
}

Result<Entry> Filesystem::AnonLookup(InodeId parent, const Node* folder, std::string_view name) {
  if (anon_ == nullptr) return Status::NotFound("no such file");
  ASSIGN_OR_RETURN(std::shared_ptr<const AnonListing> listing, anon_->List(parent, folder));
  const AnonChild* child = listing->Find(name);
  std::optional<AnonChild> unlisted;
  if (child == nullptr && folder != nullptr) {
    // IIIF request paths resolve without being listed, as in /patients.
    unlisted = anon_->LookupUnlisted(*folder, name);
    if (unlisted) child = &*unlisted;
  }
  if (child == nullptr) return Status::NotFound("no such file");
  ASSIGN_OR_RETURN(Resolved r, AnonResolve(*child));
  inodes_.Remember(r.entry.attr.ino, *r.node);
  return r.entry;
}

Result<Entry> Filesystem::AnonEntryOfNode(InodeId ino, const Node& node) {
  switch (node.kind) {
    case NodeKind::kInstance:
      return FileEntry(ino, node.size, node.mtime, 1, options_.instance_attr_timeout_s);
    case NodeKind::kVirtual: {
      // SHA256SUMS changes when the series grows: ask again (cached when unchanged).
      ASSIGN_OR_RETURN(std::shared_ptr<DerivedContent> content, anon_->Content(node));
      return FileEntry(ino, content->size(), node.mtime, 1, options_.folder_timeout_s);
    }
    default:
      return FolderEntry(ino, node.mtime);
  }
}

Status Filesystem::AnonOpenDir(DirHandle& dir, const Node* folder) {
  if (anon_ == nullptr) return Status::NotFound("no such folder");
  ASSIGN_OR_RETURN(dir.anon, anon_->List(dir.ino, folder));
  return Status::Ok();
}

namespace {

// How many of the next files a readdirplus de-identifies ahead, in parallel.
constexpr size_t kAnonPrefetchWindow = 64;

// De-identifies children [from, from + count) on all cores, so that the sizes
// readdirplus must report are ready when the sequential loop asks for them.
// De-identification is CPU-bound and per file; without this a first listing
// of a series ran on one core. Results land in DerivedFiles (single flight,
// memory LRU, persistent cache); errors are reported by the loop itself.
void PrefetchAnonContents(AnonymizedTree& anon, const std::vector<AnonChild>& children,
                          size_t from, size_t count) {
  const size_t end = std::min(children.size(), from + count);
  if (end <= from + 1) return;
  std::atomic<size_t> next{from};
  auto work = [&] {
    try {  // thread entry point (STYLE.md): nothing escapes
      for (size_t i = next++; i < end; i = next++) {
        if (children[i].node.kind == NodeKind::kInstance) (void)anon.Content(children[i].node);
      }
    } catch (const std::exception& e) {
      DCMFS_LOG(Warning) << "anonymized prefetch: " << e.what();
    }
  };
  const size_t helpers = std::min<size_t>(end - from, std::thread::hardware_concurrency()) - 1;
  std::vector<std::thread> threads;
  for (size_t t = 0; t < helpers; ++t) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
}

}  // namespace

Status Filesystem::ReadAnonChildren(DirHandle& dir, uint64_t offset, bool plus,
                                    const std::function<bool(const DirItem&)>& emit) {
  const std::vector<AnonChild>& children = dir.anon->children;
  if (plus && offset >= 2) PrefetchAnonContents(*anon_, children, offset - 2, kAnonPrefetchWindow);
  // Offsets 0 and 1 were "." and ".."; child i ends at offset i + 3.
  for (uint64_t i = offset - 2; i < children.size(); ++i) {
    const AnonChild& child = children[i];
    Entry entry;
    std::optional<Node> node;
    if (plus && !child.size_is_cheap) {
      // As in the identified view: a costly size (a mesh) is not produced
      // for a listing; the kernel looks it up when someone stats it.
      entry.attr.ino = child.ino;
      entry.attr.mode = S_IFREG | 0444;
      entry.has_attributes = false;
    } else if (plus) {
      Result<Resolved> r = AnonResolve(child);
      if (!r.ok()) {
        // As with identified virtual files: a file that cannot be produced is
        // left out of the listing; a lookup of its name reports the error.
        DCMFS_LOG(Warning) << "readdir: skipping an anonymized file: " << r.status().ToString();
        continue;
      }
      entry = r->entry;
      node = std::move(r->node);
    } else {
      entry.attr.ino = child.ino;
      entry.attr.mode = (child.node.kind != NodeKind::kInstance && child.node.kind != NodeKind::kVirtual) ? S_IFDIR | 0555 : S_IFREG | 0444;
    }
    if (!emit(DirItem{child.name, entry, i + 3})) break;
    if (node) inodes_.Remember(entry.attr.ino, *node);
  }
  return Status::Ok();
}

Result<std::unique_ptr<OpenFile>> Filesystem::AnonOpen(InodeId ino, const Node& node) {
  if (node.kind != NodeKind::kInstance && node.kind != NodeKind::kVirtual) {
    return Status::InvalidArgument("is a folder");
  }
  auto file = std::make_unique<OpenFile>();
  file->ino = ino;
  ASSIGN_OR_RETURN(file->content, anon_->Content(node));
  // A de-identified copy never changes under its inode; the sums may.
  file->keep_cache = node.kind == NodeKind::kInstance;
  return file;
}

}  // namespace dcmfs
