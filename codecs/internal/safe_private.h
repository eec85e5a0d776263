// Which private attributes of one DICOM item the Retain Safe Private Option
// (PS3.15 E.3.10) keeps: those Table E.3.10-1 lists
// (codecs/internal/safe_private_table.h), and the private creator elements
// that reserve their blocks. Internal to codecs/; DCMTK stays behind a
// forward declaration.
#pragma once

#include <cstdint>
#include <set>

class DcmItem;

namespace dcmfs::codecs_internal {

// Tags (group << 16 | element) to keep among the private attributes of
// `item` itself; nested items have their own private creators (PS3.5 7.8.1)
// and are asked separately. A private attribute whose block has no creator
// element in the item is not safe.
std::set<uint32_t> SafePrivateTagsOf(DcmItem& item);

}  // namespace dcmfs::codecs_internal
