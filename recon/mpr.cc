#include "recon/mpr.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "recon/internal/geometry.h"

namespace dcmfs {
namespace {

using recon_internal::Vec3;

// Bound on MPR grid dims per axis: a malformed spacing must not ask for a
// billion-pixel PNG.
constexpr uint32_t kMaxGridDim = 8192;

// The plan's affine maps (i, j, k) to RAS; LPS negates x and y.
Vec3 ColumnLps(const VolumePlan& v, int c) {
  return {-v.affine[0][c], -v.affine[1][c], v.affine[2][c]};
}
Vec3 VoxelToLps(const VolumePlan& v, double i, double j, double k) {
  Vec3 p{-v.affine[0][3], -v.affine[1][3], v.affine[2][3]};
  for (int c = 0; c < 3; ++c) {
    const double t = c == 0 ? i : c == 1 ? j : k;
    p = recon_internal::Add(p, recon_internal::Scale(ColumnLps(v, c), t));
  }
  return p;
}

// Inverse of the 3x3 matrix whose columns are the voxel steps in LPS.
bool Invert(const VolumePlan& v, std::array<Vec3, 3>& rows) {
  const Vec3 a = ColumnLps(v, 0), b = ColumnLps(v, 1), c = ColumnLps(v, 2);
  const double det = recon_internal::Dot(a, recon_internal::Cross(b, c));
  if (!(std::fabs(det) > 1e-12)) return false;
  rows[0] = recon_internal::Scale(recon_internal::Cross(b, c), 1.0 / det);
  rows[1] = recon_internal::Scale(recon_internal::Cross(c, a), 1.0 / det);
  rows[2] = recon_internal::Scale(recon_internal::Cross(a, b), 1.0 / det);
  return true;
}

// Which grid axis runs along image columns, rows and the image index, and
// whether rows run against the axis (superior at the top).
struct PlaneAxes {
  int col, row, slice;
  bool row_flipped;
};
PlaneAxes AxesOf(MprPlane plane) {
  switch (plane) {
    case MprPlane::kAxial: return {0, 1, 2, false};
    case MprPlane::kCoronal: return {0, 2, 1, true};
    case MprPlane::kSagittal: return {1, 2, 0, true};
  }
  return {0, 1, 2, false};
}

template <typename T>
void Convert(const uint8_t* in, size_t n, double slope, double inter, float* out) {
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, in + i * sizeof(T), sizeof(T));
    out[i] = static_cast<float>(static_cast<double>(v) * slope + inter);
  }
}

}  // namespace

Result<MprGrid> MprGridFor(const VolumePlan& v) {
  if (v.nx == 0 || v.ny == 0 || v.nz == 0) return Status::InvalidArgument("empty volume");
  std::array<Vec3, 3> inverse;
  if (!Invert(v, inverse)) return Status::InvalidArgument("volume affine is singular");
  MprGrid grid;
  Vec3 lo{1e300, 1e300, 1e300}, hi{-1e300, -1e300, -1e300};
  for (int corner = 0; corner < 8; ++corner) {
    Vec3 p = VoxelToLps(v, (corner & 1) ? v.nx - 1 : 0, (corner & 2) ? v.ny - 1 : 0,
                        (corner & 4) ? v.nz - 1 : 0);
    for (int a = 0; a < 3; ++a) lo[a] = std::min(lo[a], p[a]), hi[a] = std::max(hi[a], p[a]);
  }
  for (int axis = 0; axis < 3; ++axis) {
    // The volume axis most aligned with this patient axis gives the spacing.
    double best = -1, spacing = 1;
    for (int c = 0; c < 3; ++c) {
      const Vec3 step = ColumnLps(v, c);
      const double length = recon_internal::Norm(step);
      const uint32_t n = c == 0 ? v.nx : c == 1 ? v.ny : v.nz;
      if (length <= 0 || n < 2) continue;
      const double alignment = std::fabs(step[axis]) / length;
      if (alignment > best) best = alignment, spacing = length;
    }
    if (best < 0) spacing = recon_internal::Norm(ColumnLps(v, 2));
    if (!(spacing > 1e-6)) spacing = 1;
    const double extent = hi[axis] - lo[axis];
    const double count = std::floor(extent / spacing + 1e-6) + 1;
    grid.dims[axis] = static_cast<uint32_t>(std::clamp(count, 1.0, double{kMaxGridDim}));
    grid.spacing[axis] = spacing;
    // Centre the grid on the box so both ends are treated alike.
    grid.origin[axis] = (lo[axis] + hi[axis]) / 2 - spacing * (grid.dims[axis] - 1) / 2.0;
  }
  return grid;
}

MprImageSize MprSizeOf(const MprGrid& grid, MprPlane plane) {
  const PlaneAxes axes = AxesOf(plane);
  return {grid.dims[axes.col], grid.dims[axes.row], grid.dims[axes.slice]};
}

namespace {

// Trilinear sampling of one volume in voxel space, loading the slices it
// touches once per image.
class VoxelSampler {
 public:
  VoxelSampler(const VolumePlan& v, const SliceSource& slices) : v_(v), slices_(slices) {}

  // NaN outside the volume.
  Result<float> At(double i, double j, double k) {
    const double eps = 1e-6;
    if (i < -eps || j < -eps || k < -eps || i > v_.nx - 1 + eps || j > v_.ny - 1 + eps ||
        k > v_.nz - 1 + eps) {
      return std::numeric_limits<float>::quiet_NaN();
    }
    const int64_t i0 = std::clamp<int64_t>(std::floor(i), 0, v_.nx - 1);
    const int64_t j0 = std::clamp<int64_t>(std::floor(j), 0, v_.ny - 1);
    const int64_t k0 = std::clamp<int64_t>(std::floor(k), 0, v_.nz - 1);
    const int64_t i1 = std::min<int64_t>(i0 + 1, v_.nx - 1);
    const int64_t j1 = std::min<int64_t>(j0 + 1, v_.ny - 1);
    const int64_t k1 = std::min<int64_t>(k0 + 1, v_.nz - 1);
    const double fi = std::clamp(i - i0, 0.0, 1.0), fj = std::clamp(j - j0, 0.0, 1.0);
    const double fk = std::clamp(k - k0, 0.0, 1.0);
    double value = 0;
    for (int dz = 0; dz < 2; ++dz) {
      const double wz = dz ? fk : 1 - fk;
      if (wz == 0) continue;
      ASSIGN_OR_RETURN(const std::vector<float>* s, Slice(dz ? k1 : k0));
      const float* row0 = s->data() + j0 * v_.nx;
      const float* row1 = s->data() + j1 * v_.nx;
      const double top = row0[i0] * (1 - fi) + row0[i1] * fi;
      const double bottom = row1[i0] * (1 - fi) + row1[i1] * fi;
      value += wz * (top * (1 - fj) + bottom * fj);
    }
    return static_cast<float>(value);
  }

 private:
  Result<const std::vector<float>*> Slice(int64_t z) {
    auto it = loaded_.find(static_cast<uint32_t>(z));
    if (it == loaded_.end()) {
      ASSIGN_OR_RETURN(ModalitySlice s, slices_(static_cast<uint32_t>(z)));
      if (s == nullptr || s->size() != size_t{v_.nx} * v_.ny) {
        return Status::DataLoss("volume slice has the wrong size");
      }
      it = loaded_.emplace(static_cast<uint32_t>(z), std::move(s)).first;
    }
    return it->second.get();
  }

  const VolumePlan& v_;
  const SliceSource& slices_;
  std::map<uint32_t, ModalitySlice> loaded_;
};

}  // namespace

Result<std::vector<float>> SampleMprImage(const VolumePlan& v, const MprGrid& grid,
                                          MprPlane plane, uint32_t index,
                                          const SliceSource& slices) {
  const PlaneAxes axes = AxesOf(plane);
  const MprImageSize size = MprSizeOf(grid, plane);
  if (index >= size.count) return Status::InvalidArgument("no such reformatted image");
  std::array<Vec3, 3> inverse;
  if (!Invert(v, inverse)) return Status::InvalidArgument("volume affine is singular");
  const Vec3 origin = VoxelToLps(v, 0, 0, 0);
  std::vector<float> out(size_t{size.width} * size.height);
  VoxelSampler sampler(v, slices);
  for (uint32_t r = 0; r < size.height; ++r) {
    for (uint32_t c = 0; c < size.width; ++c) {
      std::array<uint32_t, 3> g{};
      g[axes.col] = c;
      g[axes.row] = axes.row_flipped ? size.height - 1 - r : r;
      g[axes.slice] = index;
      Vec3 p;
      for (int a = 0; a < 3; ++a) p[a] = grid.origin[a] + grid.spacing[a] * g[a] - origin[a];
      ASSIGN_OR_RETURN(out[size_t{r} * size.width + c],
                       sampler.At(recon_internal::Dot(inverse[0], p),
                                  recon_internal::Dot(inverse[1], p),
                                  recon_internal::Dot(inverse[2], p)));
    }
  }
  return out;
}

Result<std::vector<float>> ModalityValues(const VolumePlan& v, const std::vector<uint8_t>& voxels) {
  if (v.samples != 1) return Status::InvalidArgument("colour volume");
  const size_t n = size_t{v.nx} * v.ny;
  if (voxels.size() != n * SampleBytes(v.voxel_type)) {
    return Status::DataLoss("slice bytes do not match the volume's voxel type");
  }
  const double slope = v.apply_rescale ? 1.0 : v.scl_slope;
  const double inter = v.apply_rescale ? 0.0 : v.scl_inter;
  std::vector<float> out(n);
  const uint8_t* in = voxels.data();
  switch (v.voxel_type) {
    case SampleType::kUint8: Convert<uint8_t>(in, n, slope, inter, out.data()); break;
    case SampleType::kInt8: Convert<int8_t>(in, n, slope, inter, out.data()); break;
    case SampleType::kUint16: Convert<uint16_t>(in, n, slope, inter, out.data()); break;
    case SampleType::kInt16: Convert<int16_t>(in, n, slope, inter, out.data()); break;
    case SampleType::kUint32: Convert<uint32_t>(in, n, slope, inter, out.data()); break;
    case SampleType::kInt32: Convert<int32_t>(in, n, slope, inter, out.data()); break;
    case SampleType::kFloat32: Convert<float>(in, n, slope, inter, out.data()); break;
  }
  return out;
}

}  // namespace dcmfs
