// PS3.15 Table E.3.10-1 "Safe Private Attributes", kept as data, for the
// Retain Safe Private Option (PS3.15 E.3.10). Internal to codecs/.
//
// A private attribute (gggg,xxee) is identified by its private creator (the
// value of (gggg,00xx), PS3.5 7.8.1), its group gggg and the low byte ee of
// its element; the block byte xx is chosen by whoever wrote the file, so the
// table lists "(gggg,xxee)" and matching ignores xx.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace dcmfs::codecs_internal {

struct SafePrivateAttribute {
  std::string_view creator;  // Private Creator value, without padding
  uint16_t group;            // odd
  uint8_t element;           // the low byte of the element number
  std::string_view vr;       // as the table gives it ("" where it gives none)
  std::string_view name;     // the table's Meaning, shortened
};

// Every row of the table, in the table's order. Thread-safe (constant).
std::span<const SafePrivateAttribute> SafePrivateAttributes();

// Whether the attribute with low element byte `element` in a block of
// `group` reserved by `creator` is listed. `creator` is compared exactly
// after trailing spaces and NULs are dropped (LO padding, PS3.5 6.2).
bool IsSafePrivate(std::string_view creator, uint16_t group, uint8_t element);

}  // namespace dcmfs::codecs_internal
