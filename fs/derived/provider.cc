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

std::vector<VirtualChild> DerivedProvider::List(const SeriesContext& ctx,
                                                std::string_view folder) const {
  std::vector<VirtualChild> out;
  const std::string prefix = folder.empty() ? "" : std::string(folder) + "/";
  for (const std::string& name : Names(ctx)) {
    if (!std::string_view(name).starts_with(prefix) || name.size() == prefix.size()) continue;
    std::string_view rest = std::string_view(name).substr(prefix.size());
    size_t slash = rest.find('/');
    VirtualChild child{std::string(rest.substr(0, slash)), slash != std::string_view::npos};
    // Names() is usually sorted, so a folder's repeats are adjacent.
    if (!out.empty() && out.back().name == child.name) continue;
    out.push_back(std::move(child));
  }
  std::sort(out.begin(), out.end(),
            [](const VirtualChild& a, const VirtualChild& b) { return a.name < b.name; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const VirtualChild& a, const VirtualChild& b) { return a.name == b.name; }),
            out.end());
  return out;
}

bool DerivedProvider::IsFolder(const SeriesContext& ctx, std::string_view path) const {
  if (path.empty()) return false;
  const std::string prefix = std::string(path) + "/";
  for (const std::string& name : Names(ctx)) {
    if (std::string_view(name).starts_with(prefix)) return true;
  }
  return false;
}

}  // namespace dcmfs
