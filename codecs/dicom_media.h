// Reading DICOM interchange media (PS3.10 8, PS3.11): the DICOMDIR of a CD,
// DVD or USB export, and .zip archives of DICOM files, so that `dcmfs
// ingest` takes what a modality or a PACS export hands over as it is.
// DCMTK and libzip types stay inside codecs/.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace dcmfs {

// True if `path` is a DICOMDIR: a Part 10 file whose Media Storage SOP
// Class is Media Storage Directory Storage (1.2.840.10008.1.3.10).
bool IsDicomdir(const std::string& path);

// The Referenced File ID (0004,1500) of every record of the DICOMDIR at
// `path` (PS3.3 F.3.2.2), its components joined with '/', in record order,
// each once. The IDs are as written on the medium (often upper case, ISO
// 9660 names); the caller resolves them against the folder. Errors:
// DataLoss if the file is not a readable DICOMDIR.
Result<std::vector<std::string>> ReadDicomdirFileIds(const std::string& path);

// True if the file at `path` starts like a zip archive ("PK\3\4").
bool LooksLikeZip(const std::string& path);

struct ZipExtraction {
  uint64_t files = 0;
  uint64_t bytes = 0;
  // Entries not extracted, with the reason (unsafe name, damaged entry, ...).
  std::vector<std::pair<std::string, std::string>> skipped;
};

// Extracts every file entry of the zip at `zip_path` below `dest_dir`
// (which must exist), streaming in 1 MiB steps. Names are kept, except that
// entries whose name is absolute or climbs out with ".." are skipped.
// Errors: DataLoss if `zip_path` is not a readable zip; IoError on writing.
Result<ZipExtraction> ExtractZip(const std::string& zip_path, const std::string& dest_dir);

}  // namespace dcmfs
