// DICOM dates and times to seconds since the epoch, for stable mtimes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "codecs/instance_meta.h"

namespace dcmfs::internal {

// DA "YYYYMMDD" plus TM "HH[MM[SS[.F]]]" (PS3.5 6.2) read as UTC, because the
// mount must give the same mtime on every machine whatever its time zone.
// ACR-NEMA style "YYYY.MM.DD" / "HH:MM:SS" are accepted too. nullopt if the
// date is missing or malformed; a malformed time counts as midnight.
std::optional<int64_t> DicomDateTimeToEpoch(std::string_view date, std::string_view time);

// The instance's own time: ContentDate/Time, else AcquisitionDate/Time, else
// SeriesDate/Time, else StudyDate/Time, else 0.
int64_t InstanceMtime(const InstanceMeta& meta);
// StudyDate/Time, else 0.
int64_t StudyMtime(const InstanceMeta& meta);
// SeriesDate/Time, else the study's.
int64_t SeriesMtime(const InstanceMeta& meta);

}  // namespace dcmfs::internal
