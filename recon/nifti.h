// NIfTI-1 single-file header (.nii) of a planned volume: 348 bytes, the
// 4-byte extension flag (no extensions), voxels from byte 352.
// Format: https://nifti.nimh.nih.gov/nifti-1 (nifti1.h). qform and sform
// both carry the plan's affine with code 1 (scanner); the qform is the
// affine's rotation orthonormalised (a sheared tilt affine survives only in
// the sform, as in dcm2niix). descrip holds "dcmfs" only; intent is unset.
#pragma once

#include <cstdint>
#include <string>

#include "recon/volume_plan.h"

namespace dcmfs {

inline constexpr uint64_t kNiftiHeaderBytes = 352;

// The 352 bytes before the voxels (little endian).
std::string NiftiHeader(const VolumePlan& volume);
// Header + voxels: the exact size of series.nii.
uint64_t NiftiFileSize(const VolumePlan& volume);
// Bytes of one slice's voxels.
uint64_t NiftiSliceBytes(const VolumePlan& volume);

}  // namespace dcmfs
