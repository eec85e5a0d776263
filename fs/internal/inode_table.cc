#include "fs/internal/inode_table.h"

#include "base/log.h"

namespace dcmfs {

void InodeTable::Remember(InodeId ino, const Node& node) {
  std::lock_guard lock(mu_);
  Slot& slot = slots_[ino];
  slot.node = node;
  ++slot.lookups;
}

void InodeTable::Forget(InodeId ino, uint64_t count) {
  std::lock_guard lock(mu_);
  auto it = slots_.find(ino);
  if (it == slots_.end()) {
    // The kernel forgets only what we gave it; fixed inodes are not tracked.
    return;
  }
  if (count >= it->second.lookups) {
    if (count > it->second.lookups) {
      DCMFS_LOG(Warning) << "forget of inode " << ino << " by " << count << " exceeds its "
                         << it->second.lookups << " lookups";
    }
    slots_.erase(it);
    return;
  }
  it->second.lookups -= count;
}

std::optional<Node> InodeTable::Find(InodeId ino) const {
  std::lock_guard lock(mu_);
  auto it = slots_.find(ino);
  if (it == slots_.end()) return std::nullopt;
  return it->second.node;
}

size_t InodeTable::size() const {
  std::lock_guard lock(mu_);
  return slots_.size();
}

uint64_t InodeTable::LookupCount(InodeId ino) const {
  std::lock_guard lock(mu_);
  auto it = slots_.find(ino);
  return it == slots_.end() ? 0 : it->second.lookups;
}

}  // namespace dcmfs
