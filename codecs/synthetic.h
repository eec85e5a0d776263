// Synthetic DICOM for tests, benchmarks and the README's sample archive, so
// nothing depends on files outside the repository. Written with DCMTK.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace dcmfs {

struct SyntheticOptions {
  std::string out_dir;       // created if missing
  uint32_t rows = 64;        // image size of every series
  uint32_t columns = 64;
  uint32_t ct_slices = 24;   // per CT series
  uint32_t mr_slices = 16;   // per MR series
  uint32_t seed = 1;         // pixel noise; same seed, same bytes
};

struct SyntheticFile {
  std::string path;
  std::string sop_uid;
  std::string series_uid;
  std::string study_uid;
};

// Writes a fixed set: several patients and studies; CT and MR series with
// real geometry (axial, oblique, a coronal MR); odd names (a '/' in a
// description, non-ASCII in ISO_IR 100 and ISO_IR 192, empty fields, a
// 64-char description, a long patient name); one series in a compressed
// transfer syntax (RLE Lossless, DCMTK's encoder) and one in deflated or
// big-endian explicit VR. File names are <patient>/<study>/<series>/<n>.dcm.
// Deterministic: the same options write byte-identical files.
Result<std::vector<SyntheticFile>> WriteSyntheticSet(const SyntheticOptions& options);

}  // namespace dcmfs
