// Planar contours (RT Structure Set ROIs, PS3.3 C.8.8.6) -> a scalar field
// whose 0.5 isosurface is the closed surface of the delineated structure.
//
// Each contour is filled on its slice of a voxel grid with the even-odd rule
// over all contours of that slice, so holes (a contour inside another) and
// several islands per slice come out right. Each voxel holds the fraction of
// its in-plane square that is covered (4 sub-rows per voxel row, exact span
// lengths along the row), so the isosurface follows the polygon edges to a
// fraction of a voxel instead of the voxel staircase. Across slices the
// structure extends half a slice spacing beyond its first and last contour:
// the extruded-polygon volume that treatment planning systems report.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "base/status.h"
#include "mesh/isosurface.h"

namespace dcmfs::mesh {

struct PlanarContour {
  // Closed polygon (the last point joins the first), DICOM LPS, mm.
  std::vector<std::array<double, 3>> points;
};

struct Grid {
  std::array<int64_t, 3> dims{};
  Affine ijk_to_lps{};
};

struct ContourGridOptions {
  // In-plane voxel size, mm: callers pass at most the referenced series'
  // pixel spacing so the mask is no coarser than the images it was drawn on.
  double pixel_mm = 1.0;
  // Row and column directions of the referenced images (unit vectors, LPS),
  // when known; otherwise derived from the contours' plane.
  std::optional<std::array<double, 3>> row_direction = std::nullopt;
  std::optional<std::array<double, 3>> column_direction = std::nullopt;
  // Slice spacing when all contours lie in one plane, mm.
  double single_plane_thickness = 1.0;
  // Bound on voxels per in-plane axis: the pixel size grows to respect it.
  int64_t max_in_plane = 2048;
};

// A grid whose slices are the contours' planes (spacing: the smallest gap
// between distinct planes), covering every point with a margin of two
// voxels. InvalidArgument when there are no contours with 3 or more points.
Result<Grid> GridForContours(const std::vector<PlanarContour>& contours,
                             const ContourGridOptions& options);

// The coverage field of `contours` on `grid` (see above); slices are computed
// on request, so memory holds the contours, not the volume. Contours whose
// points do not lie on one slice of the grid (within a quarter slice) are
// rejected with InvalidArgument naming the contour.
Result<ScalarField> ContoursToField(const std::vector<PlanarContour>& contours, const Grid& grid);

// The inverse of an affine (row-major 4x4, last row 0 0 0 1), or
// InvalidArgument when it is singular.
Result<Affine> InvertAffine(const Affine& m);

}  // namespace dcmfs::mesh
