// Names in the mounted tree: human-readable, safe, bounded, unique among
// siblings, stable across mounts and re-ingests. Pure functions.
//
// Safe: valid UTF-8 (invalid bytes -> U+FFFD), no '/', no NUL or other
// control characters, not "." or "..", no leading/trailing blanks, at most
// kMaxNameBytes bytes (cut on a character boundary). Non-ASCII is kept.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "codecs/instance_meta.h"
#include "codecs/sha256.h"

namespace dcmfs {

inline constexpr size_t kMaxNameBytes = 200;  // leaves room for suffixes under NAME_MAX (255)

// Makes `raw` safe as above; `fallback` when nothing printable remains.
std::string SafeName(std::string_view raw, std::string_view fallback);

// "<Family Given …> (<PatientID>)": PN components joined with spaces.
std::string PatientFolderName(std::string_view patient_name, std::string_view patient_id);
// "<YYYY-MM-DD> <StudyDescription> (<Accession>)", empty parts left out.
std::string StudyFolderName(std::string_view study_date, std::string_view description,
                            std::string_view accession);
// "<SeriesNumber> <Modality> <SeriesDescription>", empty parts left out.
std::string SeriesFolderName(std::optional<int64_t> number, std::string_view modality,
                             std::string_view description);
// "NNNN.dcm" from InstanceNumber (at least 4 digits), or "<SOP UID>.dcm" without one.
std::string InstanceFileName(const InstanceMeta& meta);

// When several siblings share a base name, every one of them gets a suffix
// derived from its identity (not from ingest order), before the extension:
// "Doe John (12)" -> "Doe John (12) ~1a2b3c", "0001.dcm" -> "0001 ~1a2b3c.dcm".
std::string WithClashSuffix(std::string_view base_name, std::string_view identity);

}  // namespace dcmfs
