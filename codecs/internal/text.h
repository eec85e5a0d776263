// Text helpers for DICOM string values. Internal to codecs/.
#pragma once

#include <string>
#include <string_view>

namespace dcmfs::codecs_internal {

// Returns `s` with every byte sequence that is not well-formed UTF-8
// (RFC 3629: no overlongs, no surrogates, <= U+10FFFF) replaced by U+FFFD.
std::string SanitizeUtf8(std::string_view s);

// Strips DICOM value padding: trailing spaces and NULs (PS3.5 6.2), and
// leading spaces, which are insignificant for every VR we read as text
// except LT/ST/UT (callers pass those through `trim_leading` = false).
std::string_view TrimPadding(std::string_view s, bool trim_leading = true);

}  // namespace dcmfs::codecs_internal
