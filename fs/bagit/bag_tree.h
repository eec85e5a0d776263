// /bagit: every study of the archive as a ready BagIt 1.0 bag (RFC 8493),
// generated from the catalog, so that `cp -r /mnt/bagit/<StudyUID> dest`
// hands an archivist a valid bag with nothing exported by hand.
//
//   /bagit/<StudyInstanceUID>/bagit.txt
//                             bag-info.txt           counts, study dates, Payload-Oxum
//                             manifest-sha256.txt    one line per payload file
//                             tagmanifest-sha256.txt over the three above
//                             data/<series>/NNNN.dcm the original bytes
//
// <series> and NNNN.dcm are the names the study has under /patients. The
// payload's sums are the blob digests the catalog already holds (SHA-256 of
// the original file), so no byte is read to list or size a bag.
//
// A bag is one snapshot of its study (its series and instances, taken from
// the catalog and kept for `lifetime_s`), so the tag files and data/ of one
// listing agree even while instances arrive. There is no Bagging-Date: the
// bag is generated on every read, and a date would change its bytes daily.
//
// Nodes (view kBagit): the bag folder is kStudy (ref: study UID); data/ and
// its series folders kVirtualFolder, tag files kVirtual (ref: study UID,
// name: the path in the bag); payload files kInstance (ref: blob digest).
// Payload files are inodes of their own (nlink 1), not further links of the
// /patients inode. Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/lru.h"
#include "base/status.h"
#include "fs/anonymized/anon_tree.h"
#include "index/catalog.h"

namespace dcmfs {

// One study's bag at one moment.
struct BagSnapshot {
  std::string study_uid;
  int64_t mtime = 0;
  struct File {
    std::string path;        // "data/<series>/<name>"
    std::string digest_hex;  // also its SHA-256
    uint64_t size = 0;
    int64_t mtime = 0;
  };
  std::vector<std::string> series;  // folder names, sorted
  std::vector<File> files;          // sorted by path
  // bagit.txt, bag-info.txt, manifest-sha256.txt, tagmanifest-sha256.txt.
  std::vector<std::pair<std::string, std::string>> tag_files;
};

// Builds a study's bag from the catalog (NotFound: no such study).
Result<BagSnapshot> SnapshotStudyBag(const Catalog& catalog, std::string_view study_uid);

class BagTree {
 public:
  BagTree(const Catalog& catalog, double lifetime_s);

  // The bag folder of a study listed under /studies (its DirEntry there).
  static std::pair<InodeId, Node> BagFolder(const DirEntry& study_entry, InodeId bagit_ino);

  // The children of a folder inside a bag (`folder`: a kBagit node), sorted
  // by name. The AnonListing type is shared with /anonymized: a snapshot of
  // named children with their nodes.
  Result<std::shared_ptr<const AnonListing>> List(InodeId folder_ino, const Node& folder);
  // A tag file's text (node kind kVirtual).
  Result<std::string> TagFile(const Node& node);

 private:
  Result<std::shared_ptr<const BagSnapshot>> Snapshot(const std::string& study_uid);

  const Catalog& catalog_;
  const std::chrono::duration<double> lifetime_;
  struct Taken {
    std::shared_ptr<const BagSnapshot> bag;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex mu_;                          // a leaf
  LruCache<std::string, Taken> snapshots_;  // GUARDED_BY(mu_); cost: payload files + 1
};

}  // namespace dcmfs
