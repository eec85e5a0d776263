// A series volume (recon/volume_reader.h) as a ScalarField for isosurfaces:
// one time point, voxels in rescaled units (Hounsfield units for CT) as
// float, and the voxel-to-patient (LPS) matrix of the volume, so meshes land
// exactly on series.nii. Slices are decoded on request, so memory follows
// the isosurface's slabs, not the volume.
#pragma once

#include <memory>

#include "base/status.h"
#include "mesh/isosurface.h"
#include "recon/volume_reader.h"

namespace dcmfs::mesh {

// Unsupported for colour (RGB) volumes; InvalidArgument when t is past the
// last time point. Errors of the reader pass through the slice callback.
Result<ScalarField> VolumeField(std::shared_ptr<const VolumeReader> reader, uint32_t t = 0);

// The plan's RAS+ sform (NIfTI convention) as the ijk -> LPS matrix.
Affine LpsAffineOf(const VolumePlan& plan);

}  // namespace dcmfs::mesh
