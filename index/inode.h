// Stable 64-bit inode numbers, derived from what a node *is* (its kind, view
// and identifying key), never from a counter or the clock: the same archive
// gives the same numbers across mounts, re-ingests and `dcmfs reindex`.
#pragma once

#include <cstdint>
#include <string_view>

namespace dcmfs {

using InodeId = uint64_t;

// Fixed inodes of the top of the tree. Numbers below kFirstDerivedIno are
// reserved for fixed folders the fs layer adds (anonymized/, incoming/, .dcmfs/).
inline constexpr InodeId kRootIno = 1;
inline constexpr InodeId kPatientsIno = 2;
inline constexpr InodeId kStudiesIno = 3;
inline constexpr InodeId kAnonymizedIno = 4;
inline constexpr InodeId kFirstDerivedIno = 1024;

enum class NodeKind : uint8_t {
  kPatient = 1,   // /patients/<name>
  kStudy = 2,     // a study folder
  kSeries = 3,    // a series folder
  kInstance = 4,  // an original .dcm file
  kVirtual = 5,   // a derived file in a series folder (fs layer)
  kVirtualFolder = 6,  // a folder of derived files below a series folder
};

// Folders exist once per view; an instance file is one inode in both views.
// kBagit: the fs layer's /bagit study bags (fs/bagit/bag_tree.h).
enum class View : uint8_t { kPatients = 1, kStudies = 2, kAnonymized = 3, kBagit = 4 };

// SHA-256("dcmfs-ino" | kind | view | key) truncated to 63 bits, moved above
// kFirstDerivedIno. For kInstance the view is ignored (one inode, two links).
InodeId InodeFor(NodeKind kind, View view, std::string_view key);

}  // namespace dcmfs
