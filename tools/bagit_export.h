// `dcmfs export --bagit`: a BagIt 1.0 bag (RFC 8493) of some or all of an
// archive, read through the same Filesystem object the mount serves (no
// kernel mount needed), so the bag holds exactly what /patients shows (or,
// with `anonymized`, what /anonymized shows: PS3.15 Annex E de-identified
// files, EXCLUDED ones left out).
//
//   DEST/bagit.txt  bag-info.txt  manifest-sha256.txt  tagmanifest-sha256.txt
//   DEST/data/<patient>/<study>/<series>/NNNN.dcm
//
// `cd DEST && sha256sum -c manifest-sha256.txt` checks the payload.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace dcmfs::tools {

struct BagitExportArgs {
  std::string archive;
  std::string dest;  // must not exist, or be an empty folder
  bool anonymized = false;
  // Selectors; an instance is exported when it matches every kind given
  // (within a kind, any value). Each value matches the folder's name or its
  // DICOM attribute: PatientID; StudyInstanceUID or AccessionNumber;
  // SeriesInstanceUID. With `anonymized` they match the de-identified names
  // and UIDs shown under /anonymized.
  std::vector<std::string> patients, studies, series;
  std::string description;  // External-Description of bag-info.txt
};

struct BagitExportReport {
  uint64_t patients = 0, studies = 0, series = 0, instances = 0, bytes = 0;
};

// Errors: NotFound (no archive), AlreadyExists (DEST not empty),
// InvalidArgument (nothing matched the selectors), IoError. The bag is
// assembled in DEST.partial and renamed when complete.
Result<BagitExportReport> ExportBagit(const BagitExportArgs& args);

// The subcommand: prints the report; returns the exit code.
int RunExportBagit(const BagitExportArgs& args);

}  // namespace dcmfs::tools
