// dcm2niix's resampled volumes for gantry-tilted and unevenly spaced series
// (dcm2niix console/nii_dicom_batch.cpp: nii_saveNII3Dtilt, nii_saveNII3Deq,
// the same from v1.0.20220720 to v1.0.20241211). dcm2niix keeps the acquired
// volume and, by default (isTiltCorrect), also writes:
//   "_Tilt_1"     CT whose slice stack is sheared (gantry tilt, found from
//                 the first and last ImagePositionPatient, not the tag):
//                 each slice's rows are shifted by the shear so the stack
//                 becomes orthogonal; the volume grows by the largest shift
//                 (rows outside the slice take the padding value);
//   "_Eq_1"       a single 3D volume whose slice spacing varies by more than
//                 0.2 mm: slices linearly interpolated at multiples of the
//                 smallest gap (at most twice as many slices);
//   "_Tilt_Eq_1"  both, tilt first (the name says _Tilt even where the tilt
//                 step did not apply to the voxel type, as dcm2niix's does).
// Every written slice comes from at most two source slices, so a reader
// streams it with two source slices in memory.
//
// The shifts and slice distances are computed in dcm2niix's float arithmetic
// (computeGantryTiltPrecise, intersliceDistance), so voxels are identical to
// its own; slices are taken in order along the normal, whatever their
// InstanceNumbers (tests/integration/nifti_tilt_test.cc).
//
// Known differences from dcm2niix, where its geometry is not the DICOM's:
// our affine is the true geometry; sform and qform agree with dcm2niix's
// for a positive tilt with slices numbered along their positions. For a
// negative tilt the first slice shifts most, and dcm2niix moves its origin
// by ceil(that shift) rows along srow_y (a row of its sform, where column j
// was meant; its issue 259), so its voxels sit millimetres off their slices;
// we move it by the shift itself along j. Numbered against their positions,
// dcm2niix reverses the slices but steps its origin along the slice normal,
// not the sheared stack (and, unevenly spaced, pairs the reversed slices
// with distances in instance order). Its _Eq sform scales a row of srow (a
// "to do" in its source); its qform is the geometry. "RESAMPLED" in
// DerivationDescription (0008,2111), which stops its _Eq, is not read.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "recon/internal/candidates.h"
#include "recon/volume_plan.h"

namespace dcmfs::recon_internal {

// What the planner needs beyond the slices, from the first instance.
struct ResampleInputs {
  std::string modality;             // a sheared CT stack is a gantry tilt
  std::optional<double> tag_tilt;   // GantryDetectorTilt > 0: the same for other modalities
  std::optional<double> padding;    // PixelPaddingValue as a voxel value
};

// The resampled volume dcm2niix would write next to `acquired` (built from
// cands[order[k]], k along the normal), with suffix "_Tilt_1", "_Eq_1" or
// "_Tilt_Eq_1" and `notes` for its sidecar; nullopt when it writes none.
// Its sidecar_json is left as acquired's (the caller writes it).
std::optional<VolumePlan> PlanResampled(const VolumePlan& acquired,
                                        const std::vector<Candidate>& cands,
                                        const std::vector<uint32_t>& order,
                                        const ResampleInputs& in, std::vector<std::string>* notes);

// Source slice `k` of `plan.resampling` as written voxels (nx * source_rows,
// rows in NIfTI order).
using SourceSliceFn = std::function<Result<std::vector<uint8_t>>(uint32_t k)>;

// Source slice `k` (its voxels `acquired`, as SourceSliceFn gives them)
// made ready for ResampleSlice: tilt-corrected to nx * ny voxels where the
// plan says so, rows outside the source taking the padding value, else
// `fill`. Worth caching: consecutive written slices share sources.
Result<std::vector<uint8_t>> PrepareSource(const VolumePlan& plan, uint32_t k,
                                           std::vector<uint8_t> acquired, double fill);
using PreparedSliceFn =
    std::function<Result<std::shared_ptr<const std::vector<uint8_t>>>(uint32_t k)>;

// Writes voxels [first, first + count) of written slice `z` of the
// resampled volume `plan` into `out`, from the prepared source slices.
Status ResampleSlice(const VolumePlan& plan, uint32_t z, uint64_t first, uint64_t count,
                     const PreparedSliceFn& prepared, uint8_t* out);

// The darkest voxel of the source slices (dcm2niix's fill without a
// padding value): reads every source slice once.
Result<double> DarkestVoxel(const VolumePlan& plan, const SourceSliceFn& source);

}  // namespace dcmfs::recon_internal
