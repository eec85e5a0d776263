// The PS3.15 Annex E Table E.1-1 (codecs/data/annexE.json, compiled into the
// library) resolved into one action per attribute for a chosen set of
// options. Internal to codecs/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"

namespace dcmfs::codecs_internal {

// The table's actions after the combined ones (Z/D, X/Z, ...) are resolved
// (see annex_e_table.cc for each choice).
enum class DeidAction {
  kRemove,  // X
  kZero,    // Z: zero-length value
  kDummy,   // D: a dummy consistent with the VR
  kKeep,    // K: unchanged; sequences are kept but their items cleaned
  kClean,   // C: values of similar meaning without identifying information
  kUid,     // U: remapped with DeidKeys::MapUid; sequences: UIDs inside remapped
};

// Option columns of the table, by their JSON names.
inline constexpr std::string_view kOptionModifiedDates = "retain-long-modified-dates";
inline constexpr std::string_view kOptionPatientChars = "retain-patient-chars";
inline constexpr std::string_view kOptionDeviceId = "retain-device-id";
inline constexpr std::string_view kOptionCleanDescriptors = "clean-descriptors";
inline constexpr std::string_view kOptionSafePrivate = "retain-safe-private";

// The table with options applied. Immutable, so thread-safe.
class AnnexETable {
 public:
  // Resolves the embedded table for `options` (JSON option names). Internal
  // if the embedded JSON is malformed (a build defect).
  static Result<AnnexETable> Build(const std::vector<std::string_view>& options);

  // The action for an attribute, or nullopt when the table does not list it
  // (the profile then keeps it). Private attributes (odd groups) are listed
  // as one row; repeating groups (50xx, 60xx) match by mask (PS3.5 7.6).
  std::optional<DeidAction> Lookup(uint16_t group, uint16_t element) const;

  size_t size() const { return exact_.size() + masked_.size(); }

 private:
  struct Masked {
    uint32_t mask_bits;
    uint32_t value;
    DeidAction action;
  };
  std::unordered_map<uint32_t, DeidAction> exact_;
  std::vector<Masked> masked_;
  std::optional<DeidAction> private_;
};

// The embedded JSON text (generated from codecs/data/annexE.json).
std::string_view AnnexEJson();

}  // namespace dcmfs::codecs_internal
