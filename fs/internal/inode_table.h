// The inodes the kernel currently knows, with exact lookup counts.
//
// Every reply that hands an inode to the kernel (lookup, readdirplus entries
// other than "." and "..") adds one lookup; FORGET subtracts the count the
// kernel sends; at zero the node is erased. The table is thus bounded by what
// the kernel caches, and the catalog stays the source of truth.
// Thread-safe (one internal mutex, a leaf lock).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "index/inode.h"

namespace dcmfs {

// What an inode stands for: enough to answer getattr, open, readdir, xattr.
struct Node {
  NodeKind kind = NodeKind::kInstance;
  View view = View::kPatients;
  // Patient key, study UID, series UID, instance digest hex; for a virtual
  // file the series UID.
  std::string ref;
  std::string name;      // virtual files: the file name in the series folder
  InodeId parent = 0;    // folders and virtual files: the containing folder
  uint64_t size = 0;     // instances: exact size
  int64_t mtime = 0;
  // View::kAnonymized: the catalog's patient key, whose pseudonym and date
  // shift apply (ref then keeps the original identity; never shown).
  std::string patient_key;
};

class InodeTable {
 public:
  // Records `node` under `ino` (replacing what was known, since the catalog
  // may have changed) and adds one lookup.
  void Remember(InodeId ino, const Node& node);
  // Subtracts `count` lookups; erases the node at zero.
  void Forget(InodeId ino, uint64_t count);
  std::optional<Node> Find(InodeId ino) const;
  size_t size() const;
  // The lookup count of `ino` (0 if unknown); for tests.
  uint64_t LookupCount(InodeId ino) const;

 private:
  struct Slot {
    Node node;
    uint64_t lookups = 0;
  };
  mutable std::mutex mu_;
  std::unordered_map<InodeId, Slot> slots_;  // GUARDED_BY(mu_)
};

}  // namespace dcmfs
