#include "fs/derived/provider.h"

#include <algorithm>
#include <cstring>

namespace dcmfs {

Result<size_t> StringContent::ReadAt(uint64_t offset, std::span<uint8_t> out) const {
  if (offset >= bytes_.size()) return size_t{0};
  size_t n = std::min<uint64_t>(out.size(), bytes_.size() - offset);
  std::memcpy(out.data(), bytes_.data() + offset, n);
  return n;
}

}  // namespace dcmfs
