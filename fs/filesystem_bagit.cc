// Filesystem's side of /bagit (fs/bagit/bag_tree.h) and of
// /.dcmfs/MANIFEST-sha256.txt (fs/bagit/archive_manifest.h). A bag holds
// the identified bytes, so everything below /bagit has the owner and mode of
// /patients.
#include <sys/stat.h>

#include "base/log.h"
#include "fs/filesystem.h"

namespace dcmfs {
namespace {

Result<std::shared_ptr<DerivedContent>> TagContent(BagTree& bags, const Node& node) {
  ASSIGN_OR_RETURN(std::string text, bags.TagFile(node));
  return std::shared_ptr<DerivedContent>(std::make_shared<StringContent>(std::move(text)));
}

}  // namespace

Result<Entry> Filesystem::ManifestEntry() {
  ASSIGN_OR_RETURN(std::shared_ptr<DerivedContent> manifest, manifest_.Current());
  // Changes with every ingest: attributes are asked again after the folders' timeout.
  Entry e = FileEntry(kManifestIno, manifest->size(), 0, 1, options_.folder_timeout_s);
  e.entry_timeout_s = options_.folder_timeout_s;
  return Identified(e);
}

Result<Entry> Filesystem::BagEntryOfNode(InodeId ino, const Node& node) {
  switch (node.kind) {
    case NodeKind::kInstance:
      return Identified(FileEntry(ino, node.size, node.mtime, 1, options_.instance_attr_timeout_s));
    case NodeKind::kVirtual: {
      ASSIGN_OR_RETURN(std::string text, bags_.TagFile(node));
      return Identified(FileEntry(ino, text.size(), node.mtime, 1, options_.folder_timeout_s));
    }
    default:
      return Identified(FolderEntry(ino, node.mtime));
  }
}

Result<Entry> Filesystem::BagLookup(InodeId parent, const Node* folder, std::string_view name) {
  if (folder == nullptr) {  // /bagit/<StudyUID>
    ASSIGN_OR_RETURN(DirEntry study, catalog_->Lookup(kStudiesIno, name));
    auto [ino, node] = BagTree::BagFolder(study, parent);
    inodes_.Remember(ino, node);
    return Identified(FolderEntry(ino, study.mtime));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const AnonListing> listing, bags_.List(parent, *folder));
  const AnonChild* child = listing->Find(name);
  if (child == nullptr) return Status::NotFound("no such file");
  ASSIGN_OR_RETURN(Entry e, BagEntryOfNode(child->ino, child->node));
  inodes_.Remember(child->ino, child->node);
  return e;
}

Status Filesystem::BagOpenDir(DirHandle& dir, const Node& folder) {
  ASSIGN_OR_RETURN(dir.anon, bags_.List(dir.ino, folder));
  dir.bag = true;
  return Status::Ok();
}

Status Filesystem::ReadBagChildren(DirHandle& dir, uint64_t offset, bool plus,
                                   const std::function<bool(const DirItem&)>& emit) {
  const std::vector<AnonChild>& children = dir.anon->children;
  // Offsets 0 and 1 were "." and ".."; child i ends at offset i + 3.
  for (uint64_t i = offset - 2; i < children.size(); ++i) {
    const AnonChild& child = children[i];
    Entry entry;
    if (plus) {
      Result<Entry> e = BagEntryOfNode(child.ino, child.node);
      if (!e.ok()) {
        DCMFS_LOG(Warning) << "readdir: skipping a bag file: " << e.status().ToString();
        continue;
      }
      entry = *e;
    } else {
      entry.attr.ino = child.ino;
      const bool file = child.node.kind == NodeKind::kInstance || child.node.kind == NodeKind::kVirtual;
      entry.attr.mode = file ? S_IFREG | 0444 : S_IFDIR | 0555;
    }
    if (!emit(DirItem{child.name, entry, i + 3})) break;
    if (plus) inodes_.Remember(child.ino, child.node);
  }
  return Status::Ok();
}

Result<std::unique_ptr<OpenFile>> Filesystem::BagOpen(InodeId ino, const Node& node) {
  auto file = std::make_unique<OpenFile>();
  file->ino = ino;
  if (node.kind == NodeKind::kVirtual) {
    ASSIGN_OR_RETURN(file->content, TagContent(bags_, node));
    return file;
  }
  if (node.kind != NodeKind::kInstance) return Status::InvalidArgument("is a folder");
  std::optional<Digest> digest = DigestFromHex(node.ref);
  if (!digest) return Status::Internal("bag payload file without a digest");
  ASSIGN_OR_RETURN(file->blob, blobs_->Open(*digest));
  if (file->blob->size() != node.size) {
    return Status::Corruption(blobs_->Locate(*digest) + ": size differs from the catalog's");
  }
  file->keep_cache = true;  // the original bytes never change
  return file;
}

}  // namespace dcmfs
