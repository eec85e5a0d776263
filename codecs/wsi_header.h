// What a IIIF service needs from one VL Whole Slide Microscopy Image
// instance (PS3.3 A.32.8, C.8.12.4 "Whole Slide Microscopy Image Module"):
// the size of the total pixel matrix, the tile (frame) size, how frames are
// organised, and which kind of image it is. Read from a prefix of the file
// that reaches Pixel Data, so a pyramid is described without reading tiles.
// Plain data, no DCMTK types. Thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/status.h"

namespace dcmfs {

inline constexpr const char* kVlWholeSlideMicroscopyStorage = "1.2.840.10008.5.1.4.1.1.77.1.6";

struct WsiHeader {
  std::string sop_class_uid;
  std::string transfer_syntax_uid;
  std::string image_type;   // ImageType (0008,0008) as stored: "DERIVED\PRIMARY\VOLUME\NONE"
  uint32_t total_columns = 0;  // TotalPixelMatrixColumns (0048,0006); 0 when absent
  uint32_t total_rows = 0;     // TotalPixelMatrixRows (0048,0007)
  uint32_t tile_columns = 0;   // Columns (0028,0011): the frame width
  uint32_t tile_rows = 0;      // Rows (0028,0010)
  uint32_t frames = 1;         // NumberOfFrames (0028,0008)
  uint16_t samples_per_pixel = 1;
  std::string photometric;
  // DimensionOrganizationType (0020,9311): "TILED_FULL" means frames are
  // tiles in row-major order over the total pixel matrix (C.7.6.17.3);
  // "TILED_SPARSE" needs per-frame positions, which are not read here.
  std::string dimension_organization;
  uint32_t focal_planes = 1;   // TotalPixelMatrixFocalPlanes (0048,0303)
  uint32_t optical_paths = 1;  // NumberOfOpticalPaths (0048,0302)

  // The third value of ImageType: VOLUME, THUMBNAIL, LABEL or OVERVIEW.
  std::string flavor() const;
};

// Parses the first prefix.size() bytes of a file of `file_size` bytes.
// Returns nullopt-like NeedMore through `need_bytes` > 0 when the prefix ends
// before Pixel Data (ask again with that many bytes). Errors: DataLoss (not
// DICOM).
struct WsiHeaderOrMore {
  WsiHeader header;
  uint64_t need_bytes = 0;  // > 0: call again with at least this many bytes
};
Result<WsiHeaderOrMore> ParseWsiHeader(std::span<const uint8_t> prefix, uint64_t file_size);

}  // namespace dcmfs
