// The records the catalog keeps, and the directory entries of the mounted tree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "codecs/instance_meta.h"
#include "codecs/sha256.h"
#include "index/inode.h"

namespace dcmfs {

// One child in a folder of the mounted tree. Files are instances; folders
// are patients, studies and series in one of the two views.
struct DirEntry {
  std::string name;  // safe, unique among siblings (see index/naming.h)
  InodeId ino = 0;
  NodeKind kind = NodeKind::kInstance;
  View view = View::kPatients;
  // What the entry stands for: the patient key, study UID, series UID, or
  // for instances the 64-hex digest of the blob.
  std::string ref;
  uint64_t size = 0;  // instances: exact size of the original file in bytes
  int64_t mtime = 0;  // seconds since the epoch, from DICOM dates (docs/semantics.md)
};

struct PatientRecord {
  std::string key;  // stable identity: hex SHA-256 of issuer, ID and name
  std::string name;
  std::string id;
  std::string issuer;
  std::string birth_date;
  std::string sex;
  int64_t mtime = 0;
};

struct StudyRecord {
  std::string uid;
  std::string patient_key;
  std::string date;
  std::string time;
  std::string description;
  std::string accession;
  std::string study_id;
  int64_t mtime = 0;
};

struct SeriesRecord {
  std::string uid;
  std::string study_uid;
  std::optional<int64_t> number;
  std::string modality;
  std::string description;
  std::string date;
  std::string time;
  uint64_t instance_count = 0;
  // Changes whenever the set of instances changes: hex of the XOR of the
  // instances' digests, plus the count. Keys the derived-file cache.
  std::string generation;
  int64_t mtime = 0;  // newest instance mtime
};

struct InstanceRecord {
  Digest digest{};
  uint64_t size = 0;   // original bytes
  int64_t mtime = 0;
  InstanceMeta meta;
};

}  // namespace dcmfs
