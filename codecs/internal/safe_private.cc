#include "codecs/internal/safe_private.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcelem.h>
#include <dcmtk/dcmdata/dcitem.h>

#include <map>
#include <string>

#include "codecs/internal/safe_private_table.h"

namespace dcmfs::codecs_internal {
namespace {

// A creator's value: LO as written, or the raw bytes of an element read as
// UN (implicit VR data whose creator DCMTK's dictionary lacks).
std::string CreatorValue(DcmElement& e) {
  if (e.ident() == EVR_UN || e.ident() == EVR_OB) {
    Uint8* data = nullptr;
    if (e.getUint8Array(data).bad() || data == nullptr) return {};
    return std::string(reinterpret_cast<const char*>(data), e.getLength());
  }
  OFString s;
  if (e.getOFStringArray(s).bad()) return {};
  return std::string(s.c_str(), s.length());
}

}  // namespace

std::set<uint32_t> SafePrivateTagsOf(DcmItem& item) {
  // PS3.5 7.8.1: (gggg,00xx), xx in 10..FF, holds the creator of the block
  // (gggg,xx00-xxFF). A creator's value may be read as UN (implicit VR
  // without a dictionary entry).
  std::map<uint32_t, std::string> creators;  // group << 8 | block -> creator
  for (unsigned long i = 0; i < item.card(); ++i) {
    DcmElement* e = item.getElement(i);
    const uint16_t group = e->getGTag(), element = e->getETag();
    if (group % 2 == 0 || element < 0x10 || element > 0xFF) continue;
    creators[uint32_t{group} << 8 | element] = CreatorValue(*e);
  }
  std::set<uint32_t> keep;
  for (unsigned long i = 0; i < item.card(); ++i) {
    DcmElement* e = item.getElement(i);
    const uint16_t group = e->getGTag(), element = e->getETag();
    if (group % 2 == 0 || element < 0x1000) continue;
    const uint32_t block = uint32_t{group} << 8 | (element >> 8);
    const auto creator = creators.find(block);
    if (creator == creators.end()) continue;
    if (!IsSafePrivate(creator->second, group, static_cast<uint8_t>(element & 0xFF))) continue;
    keep.insert(uint32_t{group} << 16 | element);
    keep.insert(uint32_t{group} << 16 | (element >> 8));  // its creator element
  }
  return keep;
}

}  // namespace dcmfs::codecs_internal
