// Value-level helpers of de-identification (codecs/deidentify.cc): big
// decimal numbers for 2.25 UIDs, date shifting, cleaning free text.
// Internal to codecs/. Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dcmfs::codecs_internal {

// The unsigned big-endian 128-bit integer `bytes` in decimal, without
// leading zeros ("0" for zero): the "2.25" UID form of PS3.5 B.2.
std::string Uint128ToDecimal(const std::array<uint8_t, 16>& bytes);

// A DA value (PS3.5 6.2, "YYYYMMDD", possibly several separated by '\')
// moved by `days`. nullopt if any value is not a valid date.
std::optional<std::string> ShiftDa(std::string_view value, int days);

// A DT value ("YYYYMMDD[HHMMSS[.F{1-6}]][&ZZXX]", multi-valued) with its
// date part moved by `days` and the rest kept. nullopt if a value has no
// full date (a year-only DT cannot be shifted by days).
std::optional<std::string> ShiftDt(std::string_view value, int days);

// Removes identifying strings from free text (the C action on descriptions,
// PS3.15 E.3.5 Clean Descriptors Option): every occurrence of a harvested
// identifier (the instance's names, IDs, dates, addresses...) is replaced.
class TextCleaner {
 public:
  // Adds the identifying parts of `value`: the whole value and, for names
  // (`split_words`), each component and word of at least 3 characters.
  void Harvest(std::string_view value, bool split_words);
  // Call once after the last Harvest and before Clean.
  void Seal();
  // `text` with each harvested identifier, matched without regard to ASCII
  // case, replaced by "***".
  std::string Clean(std::string_view text) const;

 private:
  std::vector<std::string> needles_;  // lower case
};

}  // namespace dcmfs::codecs_internal
