// The planner's view of one 2D slice before grouping: a frame of an
// instance, or a tile of a Siemens mosaic, with its geometry and the keys
// that group and order it. Internal to recon/.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codecs/pixel_decode.h"
#include "recon/internal/geometry.h"
#include "recon/volume_plan.h"

namespace dcmfs::recon_internal {

struct Candidate {
  uint32_t instance = 0, frame = 0, tile = 0;
  bool has_geometry = false;
  Vec3 position{};                 // LPS mm of the first voxel of the (tile) slice
  std::array<double, 6> orientation{1, 0, 0, 0, 1, 0};
  double row_spacing = 1, column_spacing = 1;  // PixelSpacing[0], [1]
  std::optional<Vec3> normal;      // mosaics: the CSA slice normal
  double thickness = 0;            // SpacingBetweenSlices, else SliceThickness; 0 unknown
  double slope = 1, intercept = 0;
  // Grouping.
  uint32_t rows = 0, columns = 0;  // of the slice (tile for mosaics)
  uint32_t mosaic_cols = 0;
  uint16_t samples = 1;
  SampleType type = SampleType::kInt16;
  uint16_t bits_stored = 16;
  std::optional<int64_t> echo_number;
  std::optional<double> echo_time;
  bool phase = false;
  // Ordering within a position (dcm2niix's 4D order).
  int64_t temporal = 0, acquisition = 0, instance_number = 0;
  int64_t series_number = 0;
  double trigger = 0;
  std::vector<uint32_t> dimension_index;
};

// Every slice of `inputs`; instances that cannot form a volume are named in
// `skipped` with the reason.
std::vector<Candidate> ExpandCandidates(const std::vector<PlanInput>& inputs,
                                        std::vector<std::string>* skipped);

// The sidecar JSON of a volume whose first slice is `first` (dcm2niix's
// fields from the instance, then the geometry and notes).
// `acquisition_time` (TM) replaces the instance's AcquisitionTime.
std::string SidecarJson(const ImageHeader& header, const Candidate& first,
                        const std::vector<std::string>& notes, const std::string& acquisition_time);

}  // namespace dcmfs::recon_internal
