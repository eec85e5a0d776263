// Multi-planar reformats and previews of a planned volume: axial, coronal
// and sagittal images resampled from the volume at its own spacing, on a
// grid aligned with the patient axes, shown the way radiologists expect.
//
// The grid: for each patient axis (LPS), the spacing of the volume axis most
// aligned with it, and an extent covering the volume's bounding box, so an
// oblique or sagittal acquisition still gives square-looking axial images.
// Display conventions (radiological, as in every PACS viewer):
//   axial     columns patient right -> left, rows anterior -> posterior,
//             images from inferior (0001) to superior;
//   coronal   columns right -> left, rows superior -> inferior,
//             images from anterior to posterior;
//   sagittal  columns anterior -> posterior, rows superior -> inferior,
//             images from the patient's right to left.
// Sampling is trilinear in voxel space; pixels outside the volume are NaN
// (rendered black).
//
// Thread-safe: plain functions; the slice source must be thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "base/status.h"
#include "recon/volume_plan.h"

namespace dcmfs {

enum class MprPlane { kAxial, kCoronal, kSagittal };

struct MprGrid {
  std::array<double, 3> origin{};   // LPS mm of grid voxel (0,0,0)
  std::array<double, 3> spacing{};  // mm along L, P, S
  std::array<uint32_t, 3> dims{};   // along L, P, S
};

struct MprImageSize {
  uint32_t width = 0, height = 0, count = 0;
};

// InvalidArgument for a volume without extent or a singular affine.
Result<MprGrid> MprGridFor(const VolumePlan& volume);
MprImageSize MprSizeOf(const MprGrid& grid, MprPlane plane);

// Modality values (rescale applied) of volume slice z (of time point 0),
// nx * ny floats in NIfTI voxel order (i fastest, rows as in the .nii).
using ModalitySlice = std::shared_ptr<const std::vector<float>>;
using SliceSource = std::function<Result<ModalitySlice>(uint32_t z)>;

// Image `index` (0-based) of `plane`: width * height modality values, rows
// top to bottom. InvalidArgument when index is out of range.
Result<std::vector<float>> SampleMprImage(const VolumePlan& volume, const MprGrid& grid,
                                          MprPlane plane, uint32_t index,
                                          const SliceSource& slices);

// Converts one slice of NIfTI voxels (VolumeReader::Slice bytes) to modality
// values: the plan's voxel type, times scl_slope plus scl_inter unless the
// rescale is already applied (float32 voxels). Colour volumes are
// InvalidArgument (previews of RGB series use the luminance elsewhere).
Result<std::vector<float>> ModalityValues(const VolumePlan& volume,
                                          const std::vector<uint8_t>& voxels);

}  // namespace dcmfs
