// Series -> volumes: which frames of which instances form each NIfTI volume,
// in which order, with which geometry and voxel type. Computed from headers
// only (codecs/image_header.h), never from pixels, so a series folder can
// list series.nii with its exact size without decoding anything.
//
// What it does, following dcm2niix (the reference for our NIfTI files):
//   - frames are grouped by matrix, pixel format, orientation, echo and
//     magnitude/phase; differently oriented images (localizers) go into
//     their own volumes ("_i<instance>"), echoes into "_e<n>", phase into
//     "_ph";
//   - slices are sorted by their position along the slice normal
//     (ImageOrientationPatient x, ImagePositionPatient), not InstanceNumber;
//     repeated positions make a 4D volume (temporal position, acquisition,
//     trigger time, instance order);
//   - Siemens mosaics are cut into tiles, with dcm2niix's position
//     correction (the mosaic's IPP is the corner of the whole mosaic);
//   - uniform RescaleSlope/Intercept: raw integers + scl_slope/scl_inter;
//     varying: float32 voxels with the rescale applied;
//   - uneven spacing and gantry tilt are kept as acquired in the main
//     volume (the affine's slice column is the first slice step, a sheared
//     sform for tilt; the sidecar says so); and, as dcm2niix does by
//     default, a second volume is added that is resampled: "_Tilt_1" (rows
//     shifted to undo the tilt), "_Eq_1" (slices linearly interpolated to
//     equal spacing) or "_Tilt_Eq_1" (both); see recon/internal/resample.h.
//
// Voxel order of the NIfTI (as dcm2niix writes it): i = DICOM column,
// j = DICOM row reversed (dcm2niix flips rows), k = slices sorted along the
// normal, t = volumes. The affine maps (i, j, k) to RAS+ millimetres
// (NIfTI's scanner frame; DICOM's LPS with x and y negated).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "codecs/image_header.h"
#include "codecs/pixel_decode.h"

namespace dcmfs {

// One instance of the series as the planner sees it: `key` identifies it to
// the frame source (the fs layer uses the blob digest in hex).
struct PlanInput {
  std::string key;
  ImageHeader header;
};

// One 2D slice of a volume: frame `frame` of instance `instance` (index into
// SeriesPlan::keys), or a tile of it for mosaics.
struct PlannedSlice {
  uint32_t instance = 0;
  uint32_t frame = 0;
  uint32_t tile = 0;           // mosaic tile (row-major), 0 otherwise
  double slope = 1.0;          // the slice's RescaleSlope/Intercept
  double intercept = 0.0;
};

// How a resampled volume ("_Tilt"/"_Eq", see above) is computed from the
// acquired slices; VolumePlan::slices then names, per written slice, the
// source slice it mostly comes from (for metadata and read-ahead only).
struct Resampling {
  uint32_t source_rows = 0;           // rows of a source slice (ny less the tilt padding)
  std::vector<PlannedSlice> sources;  // the acquired slices, sorted along the normal
  // Per source slice: written row r reads source row r - row_shift (tilt
  // correction, linear between the two rows); empty: no tilt correction.
  std::vector<double> row_shift;
  // Per written slice: round(lo * (1 - frac_hi) + hi * frac_hi) of the
  // (tilt-corrected) source slices lo and hi.
  struct Step {
    uint32_t lo = 0, hi = 0;
    float frac_hi = 0;
  };
  std::vector<Step> steps;
  // PixelPaddingValue (0028,0120): rows outside the source take it, and
  // the tilt interpolates nearest next to it (dcm2niix issue 262). Without
  // it they take the darkest voxel of the volume.
  std::optional<double> padding;
};

struct VolumePlan {
  std::string suffix;  // "" for the main volume, else "_e2", "_ph", "_i00003" ...
  uint32_t nx = 0, ny = 0, nz = 0, nt = 1;  // voxels: columns, rows, slices, volumes
  uint16_t samples = 1;                     // 3: RGB24 voxels
  SampleType source_type = SampleType::kInt16;  // decoded frame type
  SampleType voxel_type = SampleType::kInt16;   // as written (float32 when rescale varies)
  bool apply_rescale = false;  // voxels are slope*v+intercept (float32)
  double scl_slope = 1.0, scl_inter = 0.0;  // NIfTI scaling when uniform
  std::array<double, 4> pixdim{1, 1, 1, 0};  // mm, mm, mm, s (TR)
  std::array<std::array<double, 4>, 3> affine{};  // sform rows, RAS+ mm
  // Mosaic cutting: source frame is (mosaic_cols x ...) tiles of nx x ny.
  uint32_t mosaic_cols = 0;  // tiles per row; 0: not a mosaic
  std::vector<PlannedSlice> slices;  // nz * nt, z fastest (file order)
  std::string sidecar_json;          // the BIDS sidecar (series.json) text
  std::optional<Resampling> resampling;  // set for "_Tilt"/"_Eq" volumes
};

// Where an instance's pixels are, so a frame source can read native frames
// in place (codecs/image_header.h DecodeNativeFrame) without re-parsing.
struct PixelStorage {
  bool native = false;
  uint64_t pixel_data_offset = 0;
  uint16_t bits_allocated = 16, bits_stored = 16, high_bit = 15, pixel_representation = 0;
  uint16_t samples = 1;
  uint32_t rows = 0, columns = 0;
  std::string photometric;
};

// The ImageHeader fields DecodeNativeFrame needs, back from PixelStorage.
ImageHeader NativeHeaderOf(const PixelStorage& s);

struct SeriesPlan {
  std::vector<std::string> keys;      // PlanInput keys, by instance index
  std::vector<PixelStorage> storage;  // by instance index
  std::vector<VolumePlan> volumes;    // the main volume first, then by suffix
  std::vector<std::string> skipped;   // instances left out, with the reason
};

// Plans every volume of a series. InvalidArgument if no instance holds a
// monochrome or RGB image that can form a volume.
Result<SeriesPlan> PlanVolumes(std::vector<PlanInput> inputs);

// Bytes per sample of `t` (recon's own, so recon does not depend on the
// decoder's object code).
size_t SampleBytes(SampleType t);
// Bytes per written voxel.
size_t VoxelBytes(const VolumePlan& v);

// A compact, versioned text form of a plan (persisted by the fs layer), and
// back. Corruption if the text is not a plan of this version.
std::string SerializePlan(const SeriesPlan& plan);
Result<SeriesPlan> DeserializePlan(std::string_view text);

}  // namespace dcmfs
