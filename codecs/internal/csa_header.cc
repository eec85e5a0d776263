#include "codecs/internal/csa_header.h"

#include <cstdlib>
#include <cstring>

namespace dcmfs::codecs_internal {
namespace {

// CSA integers are little endian int32 regardless of the transfer syntax.
bool ReadI32(std::span<const uint8_t> b, size_t pos, int32_t* out) {
  if (pos + 4 > b.size()) return false;
  uint32_t v = static_cast<uint32_t>(b[pos]) | static_cast<uint32_t>(b[pos + 1]) << 8 |
               static_cast<uint32_t>(b[pos + 2]) << 16 | static_cast<uint32_t>(b[pos + 3]) << 24;
  std::memcpy(out, &v, 4);
  return true;
}

std::string Trim(const uint8_t* p, size_t n) {
  size_t len = strnlen(reinterpret_cast<const char*>(p), n);
  std::string s(reinterpret_cast<const char*>(p), len);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  size_t start = s.find_first_not_of(' ');
  return start == std::string::npos ? std::string() : s.substr(start);
}

}  // namespace

std::map<std::string, std::vector<std::string>> ParseCsaHeader(std::span<const uint8_t> b) {
  std::map<std::string, std::vector<std::string>> out;
  size_t pos = 0;
  // "SV10" + 4 unused bytes: the CSA2 form; otherwise the CSA1 form starts
  // directly with the tag count.
  if (b.size() >= 8 && std::memcmp(b.data(), "SV10", 4) == 0) pos = 8;
  int32_t ntags = 0;
  if (!ReadI32(b, pos, &ntags) || ntags <= 0 || ntags > 1000) return {};
  pos += 8;  // count + the unused "77"
  for (int32_t t = 0; t < ntags; ++t) {
    if (pos + 84 > b.size()) return out;
    std::string name = Trim(b.data() + pos, 64);
    int32_t nitems = 0;
    if (!ReadI32(b, pos + 76, &nitems) || nitems < 0 || nitems > 10000) return out;
    pos += 84;
    std::vector<std::string> values;
    for (int32_t i = 0; i < nitems; ++i) {
      int32_t len = 0;
      if (!ReadI32(b, pos + 4, &len) || len < 0) return out;
      pos += 16;
      if (pos + static_cast<size_t>(len) > b.size()) return out;
      std::string v = Trim(b.data() + pos, static_cast<size_t>(len));
      if (!v.empty()) values.push_back(std::move(v));
      pos += (static_cast<size_t>(len) + 3) & ~size_t{3};
    }
    if (!name.empty()) out[name] = std::move(values);
  }
  return out;
}

std::optional<double> CsaNumber(const std::map<std::string, std::vector<std::string>>& csa,
                                const std::string& name, size_t index) {
  auto it = csa.find(name);
  if (it == csa.end() || index >= it->second.size()) return std::nullopt;
  const char* s = it->second[index].c_str();
  char* end = nullptr;
  double v = std::strtod(s, &end);
  if (end == s) return std::nullopt;
  return v;
}

}  // namespace dcmfs::codecs_internal
