// The Siemens CSA header (private element (0029,1010) "CSA Image Header
// Info"; format "SV10", also the older headerless form): a list of named
// items, each with up to N string values. Not part of the DICOM standard;
// the layout is the one documented by NiBabel's and dcm2niix's readers
// (name[64], vm, vr[4], syngodt, nitems, 77|205, then items of
// [4 x int32 with the length second] + value padded to 4 bytes).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace dcmfs::codecs_internal {

// Item name -> its non-empty values (trimmed). Returns an empty map for
// malformed input (bounds are checked; nothing is trusted).
std::map<std::string, std::vector<std::string>> ParseCsaHeader(std::span<const uint8_t> bytes);

// The first value of `name` as a number, if present and numeric.
std::optional<double> CsaNumber(const std::map<std::string, std::vector<std::string>>& csa,
                                const std::string& name, size_t index = 0);

}  // namespace dcmfs::codecs_internal
