#include "fs/bagit/bag_tree.h"

#include <algorithm>

#include "fs/bagit/bag_text.h"

namespace dcmfs {
namespace {

// Snapshots kept at once; each costs its payload file count (+1).
constexpr size_t kSnapshotCapacity = 1u << 20;
constexpr std::string_view kData = "data";

InodeId BagInode(NodeKind kind, const std::string& study_uid, std::string_view path) {
  return InodeFor(kind, View::kBagit, study_uid + "/" + std::string(path));
}

AnonChild Child(std::string name, NodeKind kind, const BagSnapshot& bag, std::string path,
                InodeId parent, int64_t mtime) {
  AnonChild c;
  c.name = std::move(name);
  // Payload files hash as kVirtual too: InodeFor ignores the view of kInstance.
  c.ino = BagInode(kind == NodeKind::kInstance ? NodeKind::kVirtual : kind, bag.study_uid,
                   path);
  c.node = Node{kind, View::kBagit, bag.study_uid, std::move(path), parent, 0, mtime, ""};
  return c;
}

AnonListing RootListing(const BagSnapshot& bag, InodeId self) {
  AnonListing out;
  out.children.push_back(
      Child(std::string(kData), NodeKind::kVirtualFolder, bag, std::string(kData), self, bag.mtime));
  for (const auto& [name, text] : bag.tag_files) {
    out.children.push_back(Child(name, NodeKind::kVirtual, bag, name, self, bag.mtime));
  }
  std::sort(out.children.begin(), out.children.end(),
            [](const AnonChild& a, const AnonChild& b) { return a.name < b.name; });
  return out;
}

AnonListing DataListing(const BagSnapshot& bag, InodeId self) {
  AnonListing out;
  for (const std::string& s : bag.series) {
    out.children.push_back(Child(s, NodeKind::kVirtualFolder, bag, std::string(kData) + "/" + s,
                                 self, bag.mtime));
  }
  return out;
}

// The payload files of data/<series>: a contiguous run of the sorted files.
AnonListing SeriesListing(const BagSnapshot& bag, const std::string& folder, InodeId self) {
  AnonListing out;
  const std::string prefix = folder + "/";
  auto it = std::lower_bound(bag.files.begin(), bag.files.end(), prefix,
                             [](const BagSnapshot::File& f, const std::string& p) { return f.path < p; });
  for (; it != bag.files.end() && it->path.starts_with(prefix); ++it) {
    std::string name = it->path.substr(prefix.size());
    if (name.find('/') != std::string::npos) continue;
    AnonChild c = Child(name, NodeKind::kInstance, bag, it->path, self, it->mtime);
    c.node.ref = it->digest_hex;  // what Open reads
    c.node.size = it->size;
    out.children.push_back(std::move(c));
  }
  return out;
}

Status AddSeries(const Catalog& catalog, const DirEntry& series, BagSnapshot& bag) {
  const std::string folder = BagPathComponent(series.name);
  bag.series.push_back(folder);
  return catalog.List(series.ino, "", [&](const DirEntry& e) {
    if (e.kind != NodeKind::kInstance) return true;
    bag.files.push_back({std::string(kData) + "/" + folder + "/" + BagPathComponent(e.name), e.ref,
                         e.size, e.mtime});
    return true;
  });
}

}  // namespace

Result<BagSnapshot> SnapshotStudyBag(const Catalog& catalog, std::string_view study_uid) {
  ASSIGN_OR_RETURN(StudyRecord study, catalog.GetStudy(study_uid));
  BagSnapshot bag;
  bag.study_uid = study.uid;
  bag.mtime = study.mtime;
  // The study's folder under /patients lists its series with their names.
  const InodeId study_ino = InodeFor(NodeKind::kStudy, View::kPatients, study.uid);
  std::vector<DirEntry> series;
  RETURN_IF_ERROR(catalog.List(study_ino, "", [&](const DirEntry& e) {
    if (e.kind == NodeKind::kSeries) series.push_back(e);
    return true;
  }));
  for (const DirEntry& s : series) RETURN_IF_ERROR(AddSeries(catalog, s, bag));
  std::sort(bag.series.begin(), bag.series.end());
  std::sort(bag.files.begin(), bag.files.end(),
            [](const BagSnapshot::File& a, const BagSnapshot::File& b) { return a.path < b.path; });

  std::vector<BagPayloadFile> payload;
  payload.reserve(bag.files.size());
  for (const BagSnapshot::File& f : bag.files) payload.push_back({f.path, f.digest_hex, f.size});
  BagSummary summary;
  summary.patients = 1;
  summary.studies = 1;
  summary.series = bag.series.size();
  summary.instances = bag.files.size();
  summary.first_study_date = summary.last_study_date = study.date;
  summary.description = "DICOM study " + study.uid;
  bag.tag_files = {{"bag-info.txt", BagInfoText(summary, payload)},
                   {"bagit.txt", BagitTxt()},
                   {"manifest-sha256.txt", ManifestText(payload)}};
  bag.tag_files.emplace_back("tagmanifest-sha256.txt", TagManifestText(bag.tag_files));
  return bag;
}

BagTree::BagTree(const Catalog& catalog, double lifetime_s)
    : catalog_(catalog), lifetime_(lifetime_s), snapshots_(kSnapshotCapacity) {}

std::pair<InodeId, Node> BagTree::BagFolder(const DirEntry& study_entry, InodeId bagit_ino) {
  Node node{NodeKind::kStudy, View::kBagit, study_entry.ref, "", bagit_ino, 0, study_entry.mtime, ""};
  return {BagInode(NodeKind::kStudy, study_entry.ref, ""), std::move(node)};
}

Result<std::shared_ptr<const BagSnapshot>> BagTree::Snapshot(const std::string& study_uid) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    if (std::optional<Taken> hit = snapshots_.Get(study_uid); hit && now - hit->at < lifetime_) {
      return hit->bag;
    }
  }
  // Built outside the lock: two first readers may both build; both agree.
  ASSIGN_OR_RETURN(BagSnapshot bag, SnapshotStudyBag(catalog_, study_uid));
  auto shared = std::make_shared<const BagSnapshot>(std::move(bag));
  std::lock_guard lock(mu_);
  snapshots_.Put(study_uid, Taken{shared, now}, shared->files.size() + 1);
  return shared;
}

Result<std::shared_ptr<const AnonListing>> BagTree::List(InodeId folder_ino, const Node& folder) {
  ASSIGN_OR_RETURN(std::shared_ptr<const BagSnapshot> bag, Snapshot(folder.ref));
  if (folder.kind == NodeKind::kStudy) {
    return std::make_shared<const AnonListing>(RootListing(*bag, folder_ino));
  }
  if (folder.name == kData) return std::make_shared<const AnonListing>(DataListing(*bag, folder_ino));
  return std::make_shared<const AnonListing>(SeriesListing(*bag, folder.name, folder_ino));
}

Result<std::string> BagTree::TagFile(const Node& node) {
  ASSIGN_OR_RETURN(std::shared_ptr<const BagSnapshot> bag, Snapshot(node.ref));
  for (const auto& [name, text] : bag->tag_files) {
    if (name == node.name) return text;
  }
  return Status::NotFound("no tag file " + node.name);
}

}  // namespace dcmfs
