// Isosurfaces of a scalar volume as closed, oriented triangle meshes.
//
// Marching cubes (Lorensen & Cline, SIGGRAPH 1987) with a generated case
// table whose ambiguous faces are resolved by the face-centre average (see
// mesh/internal/cube_table.h), so every mesh is closed and 2-manifold:
//   - the volume is padded by one voxel of "outside" on every side, so a
//     structure touching the border is capped (the cap lies half a voxel
//     beyond the last voxel centre, where the voxel ends);
//   - vertices are keyed by the voxel edge they lie on and shared by all
//     faces around it (no duplicated-vertex soup);
//   - no vertex sits exactly on a voxel centre (the edge parameter is kept
//     within [1e-3, 1 - 1e-3]), so no triangle collapses to a line or point;
//   - triangles wind counter-clockwise seen from outside (values below the
//     threshold), also when ijk -> LPS has a negative determinant.
//
// Streaming: slices are requested through ScalarField::slice, slab by slab;
// memory grows with one slab per thread plus the output mesh, not with the
// volume. Slabs run on `threads` std::threads.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>

#include "base/status.h"
#include "mesh/triangle_mesh.h"

namespace dcmfs::mesh {

// Row-major 4x4 matrix mapping voxel indices (i, j, k, 1) -- i along a row
// (column index), j down the columns (row index), k across slices -- to the
// voxel centre in DICOM patient coordinates (LPS, mm).
using Affine = std::array<double, 16>;

// Applies `m` to the point (i, j, k).
std::array<double, 3> ApplyAffine(const Affine& m, double i, double j, double k);

struct ScalarField {
  std::array<int64_t, 3> dims{};  // voxels along i, j, k
  Affine ijk_to_lps{};
  // Fills `out` (dims[0] * dims[1] floats, i fastest) with slice k, 0 <= k <
  // dims[2]. Called from several threads at once for different k, and about
  // once per slice (slab boundaries are read twice). NaN counts as outside.
  std::function<Status(int64_t k, std::span<float> out)> slice;
};

struct IsosurfaceOptions {
  double threshold = 0;     // voxels with value >= threshold are inside
  int threads = 0;          // 0: std::thread::hardware_concurrency()
  int64_t slab_slices = 8;  // cube layers per unit of work
};

// Errors: InvalidArgument for empty dims, a singular affine or no slice
// callback; otherwise the first error a slice callback returned. An empty
// mesh (nothing reaches the threshold) is not an error.
Result<TriangleMesh> ExtractIsosurface(const ScalarField& field, const IsosurfaceOptions& options);

// A ScalarField over a dense in-memory volume (i fastest, then j, then k);
// `values` must outlive the field. For tests and small volumes.
ScalarField DenseField(std::span<const float> values, std::array<int64_t, 3> dims,
                       const Affine& ijk_to_lps);

}  // namespace dcmfs::mesh
