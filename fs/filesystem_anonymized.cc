// Filesystem's side of /anonymized: entries, listings and open files of the
// de-identified tree, whose names and contents come from AnonymizedTree
// (fs/anonymized/anon_tree.h). Everything here is read-only and owned by
// `uid`/`gid` with 0555/0444 (not the identified trees' restricted mode).
#include <sys/stat.h>

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

Status Filesystem::ReadAnonChildren(DirHandle& dir, uint64_t offset, bool plus,
                                    const std::function<bool(const DirItem&)>& emit) {
  const std::vector<AnonChild>& children = dir.anon->children;
  // Offsets 0 and 1 were "." and ".."; child i ends at offset i + 3.
  for (uint64_t i = offset - 2; i < children.size(); ++i) {
    const AnonChild& child = children[i];
    Entry entry;
    std::optional<Node> node;
    if (plus) {
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
