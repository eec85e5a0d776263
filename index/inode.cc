#include "index/inode.h"

#include <string>

#include "codecs/sha256.h"

namespace dcmfs {

InodeId InodeFor(NodeKind kind, View view, std::string_view key) {
  std::string material = "dcmfs-ino";
  material.push_back('\0');
  material.push_back(static_cast<char>(kind));
  // An instance is one inode in both views (a hard link), so its view is not hashed.
  material.push_back(kind == NodeKind::kInstance ? '\0' : static_cast<char>(view));
  material.append(key);
  Digest d = Sha256(material);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | d[i];
  v &= 0x7fffffffffffffffull;  // 63 bits: safe as a signed value in tools that print inodes
  if (v < kFirstDerivedIno) v += kFirstDerivedIno;
  return v;
}

}  // namespace dcmfs
