// The derived files of a series folder and the virtual folders below it
// (mpr/axial/, mesh/, iiif/<image>/...): lookup, listing and contents, all
// through DerivedFiles (fs/derived/derived_files.h).
//
// A virtual folder is a Node of kind kVirtualFolder whose `ref` is the
// series UID and whose `name` is its path relative to the series folder
// ("mpr/axial"); a virtual file's `name` is likewise its relative path.
#include <sys/stat.h>

#include "base/log.h"
#include "fs/filesystem.h"

namespace dcmfs {
namespace {

// `name` inside `folder`, as a path relative to the series folder.
std::string RelativePath(const Node& folder, std::string_view name) {
  if (folder.kind != NodeKind::kVirtualFolder) return std::string(name);
  std::string path = folder.name;
  path.push_back('/');
  path.append(name);
  return path;
}

}  // namespace

Result<SeriesContext> Filesystem::SeriesContextOf(const std::string& series_uid, View view,
                                                  InodeId folder_ino) const {
  SeriesContext ctx;
  ctx.catalog = catalog_.get();
  ctx.blobs = blobs_.get();
  ASSIGN_OR_RETURN(ctx.series, catalog_->GetSeries(series_uid));
  ctx.view = view;
  ctx.folder_ino = folder_ino;
  ctx.derived = derived_.get();
  return ctx;
}

Result<std::shared_ptr<DerivedContent>> Filesystem::VirtualContent(const Node& node) {
  ASSIGN_OR_RETURN(SeriesContext ctx, SeriesContextOf(node.ref, node.view, node.parent));
  std::optional<DerivedName> match = derived_->Match(ctx, node.name);
  if (!match) return Status::NotFound("no provider for a virtual file");
  return derived_->Get(ctx, *match);
}

Result<Filesystem::Resolved> Filesystem::LookupVirtual(InodeId parent, const Node& folder,
                                                       std::string_view name) {
  ASSIGN_OR_RETURN(SeriesContext ctx, SeriesContextOf(folder.ref, folder.view, parent));
  const std::string path = RelativePath(folder, name);
  if (derived_->IsFolder(ctx, path)) {
    InodeId ino = DerivedFiles::FolderInodeOf(ctx, path);
    Node node{NodeKind::kVirtualFolder, folder.view, folder.ref, path, parent, 0,
              ctx.series.mtime, ""};
    return Resolved{Identified(FolderEntry(ino, node.mtime)), std::move(node)};
  }
  std::optional<DerivedName> match = derived_->Match(ctx, path);
  if (!match) return Status::NotFound("no such file");
  ASSIGN_OR_RETURN(std::shared_ptr<DerivedContent> content, derived_->Get(ctx, *match));
  InodeId ino = DerivedFiles::InodeOf(*match->provider, ctx, path);
  Node node{NodeKind::kVirtual, folder.view, folder.ref, path, parent, 0, ctx.series.mtime, ""};
  return Resolved{
      Identified(FileEntry(ino, content->size(), node.mtime, 1, options_.folder_timeout_s)),
      std::move(node)};
}

Status Filesystem::OpenVirtualDir(DirHandle& dir, const Node& folder) {
  // The virtual names are fixed for the life of this stream (a snapshot).
  ASSIGN_OR_RETURN(SeriesContext ctx, SeriesContextOf(folder.ref, folder.view, dir.ino));
  const std::string path = folder.kind == NodeKind::kVirtualFolder ? folder.name : "";
  for (VirtualChild& child : derived_->List(ctx, path)) {
    dir.extras.push_back(std::move(child.name));
    dir.extra_folders.push_back(child.folder);
  }
  return Status::Ok();
}

Result<Filesystem::Resolved> Filesystem::ResolveVirtualExtra(const DirHandle& dir, size_t index,
                                                             bool need_attr) {
  const std::string& name = dir.extras[index];
  const bool folder_child = index < dir.extra_folders.size() && dir.extra_folders[index];
  ASSIGN_OR_RETURN(Node folder, NodeOf(dir.ino));
  if (folder_child) {
    // Folders cost nothing to describe: always with attributes.
    return LookupVirtual(dir.ino, folder, name);
  }
  ASSIGN_OR_RETURN(SeriesContext ctx, SeriesContextOf(folder.ref, folder.view, dir.ino));
  const std::string path = RelativePath(folder, name);
  std::optional<DerivedName> match = derived_->Match(ctx, path);
  if (!match) return Status::NotFound("virtual file vanished");
  if (need_attr && match->provider->size_is_cheap()) return LookupVirtual(dir.ino, folder, name);
  // Plain readdir, or a costly size: only the inode and type, nothing produced.
  Entry e;
  e.attr.ino = DerivedFiles::InodeOf(*match->provider, ctx, path);
  e.attr.mode = S_IFREG | 0444;
  e.has_attributes = false;
  return Resolved{Identified(e), std::nullopt};
}

}  // namespace dcmfs
