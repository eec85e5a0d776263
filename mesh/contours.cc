#include "mesh/contours.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>

namespace dcmfs::mesh {
namespace {

using V3 = std::array<double, 3>;

V3 Sub(const V3& a, const V3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
V3 Cross(const V3& a, const V3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
double Dot(const V3& a, const V3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
double Norm(const V3& a) { return std::sqrt(Dot(a, a)); }
V3 Scale(const V3& a, double s) { return {a[0] * s, a[1] * s, a[2] * s}; }

// Newell's normal: twice the vector area of the polygon.
V3 NewellNormal(const PlanarContour& c) {
  V3 n{0, 0, 0};
  const size_t m = c.points.size();
  for (size_t i = 0; i < m; ++i) {
    n = {n[0] + Cross(c.points[i], c.points[(i + 1) % m])[0],
         n[1] + Cross(c.points[i], c.points[(i + 1) % m])[1],
         n[2] + Cross(c.points[i], c.points[(i + 1) % m])[2]};
  }
  return n;
}

// Row and column directions of the grid: the referenced images' when known,
// else the plane of the largest contour with the row as close to +x as it gets.
Result<std::pair<V3, V3>> PlaneAxes(const std::vector<PlanarContour>& contours,
                                    const ContourGridOptions& options) {
  if (options.row_direction && options.column_direction) {
    V3 r = *options.row_direction, c = *options.column_direction;
    if (Norm(r) < 1e-6 || Norm(c) < 1e-6 || std::abs(Dot(r, c)) > 1e-3 * Norm(r) * Norm(c)) {
      return Status::InvalidArgument("contours: reference orientation is not orthogonal");
    }
    return std::pair{Scale(r, 1 / Norm(r)), Scale(c, 1 / Norm(c))};
  }
  V3 best{0, 0, 0};
  for (const PlanarContour& c : contours) {
    const V3 n = NewellNormal(c);
    if (Norm(n) > Norm(best)) best = n;
  }
  if (Norm(best) < 1e-9) return Status::InvalidArgument("contours: all contours are degenerate");
  const V3 n = Scale(best, 1 / Norm(best));
  V3 axis{1, 0, 0};
  if (std::abs(n[0]) > 0.9) axis = {0, 1, 0};
  V3 r = Sub(axis, Scale(n, Dot(axis, n)));
  r = Scale(r, 1 / Norm(r));
  return std::pair{r, Cross(n, r)};
}

}  // namespace

Result<Affine> InvertAffine(const Affine& m) {
  const double a = m[0], b = m[1], c = m[2], d = m[4], e = m[5], f = m[6];
  const double g = m[8], h = m[9], i = m[10];
  const double det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  if (!std::isfinite(det) || std::abs(det) < 1e-12) {
    return Status::InvalidArgument("affine is singular");
  }
  const double inv[9] = {(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det,
                         (f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det,
                         (d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det};
  Affine out{};
  for (int r = 0; r < 3; ++r) {
    for (int col = 0; col < 3; ++col) out[r * 4 + col] = inv[r * 3 + col];
    out[r * 4 + 3] = -(inv[r * 3] * m[3] + inv[r * 3 + 1] * m[7] + inv[r * 3 + 2] * m[11]);
  }
  out[15] = 1;
  return out;
}

Result<Grid> GridForContours(const std::vector<PlanarContour>& contours,
                             const ContourGridOptions& options) {
  std::vector<const PlanarContour*> usable;
  for (const PlanarContour& c : contours) {
    if (c.points.size() >= 3) usable.push_back(&c);
  }
  if (usable.empty()) return Status::InvalidArgument("contours: no polygon with 3 or more points");
  ASSIGN_OR_RETURN(auto axes, PlaneAxes(contours, options));
  const auto [row, col] = axes;
  const V3 normal = Cross(row, col);
  double lo[3] = {1e300, 1e300, 1e300}, hi[3] = {-1e300, -1e300, -1e300};
  std::vector<double> planes;
  for (const PlanarContour* c : usable) {
    double mean = 0;
    for (const V3& p : c->points) {
      const double q[3] = {Dot(p, row), Dot(p, col), Dot(p, normal)};
      for (int a = 0; a < 3; ++a) lo[a] = std::min(lo[a], q[a]), hi[a] = std::max(hi[a], q[a]);
      mean += q[2];
    }
    planes.push_back(mean / double(c->points.size()));
  }
  std::sort(planes.begin(), planes.end());
  double gap = 0;
  for (size_t i = 1; i < planes.size(); ++i) {
    const double g = planes[i] - planes[i - 1];
    if (g > 1e-3 && (gap == 0 || g < gap)) gap = g;
  }
  const double dz = gap > 0 ? gap : options.single_plane_thickness;
  double px = std::max(options.pixel_mm, 1e-3);
  const double extent = std::max(hi[0] - lo[0], hi[1] - lo[1]);
  const int64_t cap = std::max<int64_t>(16, options.max_in_plane);
  if (extent / px + 5 > double(cap)) px = extent / double(cap - 5);
  Grid grid;
  grid.dims = {int64_t(std::ceil((hi[0] - lo[0]) / px)) + 5,
               int64_t(std::ceil((hi[1] - lo[1]) / px)) + 5,
               int64_t(std::llround((planes.back() - planes.front()) / dz)) + 1};
  if (grid.dims[2] > 100000) return Status::InvalidArgument("contours: too many slices");
  const V3 origin = {0, 0, 0};
  V3 o = origin;
  for (int a = 0; a < 3; ++a) {
    o[a] = row[a] * (lo[0] - 2 * px) + col[a] * (lo[1] - 2 * px) + normal[a] * planes.front();
  }
  for (int a = 0; a < 3; ++a) {
    grid.ijk_to_lps[a * 4 + 0] = row[a] * px;
    grid.ijk_to_lps[a * 4 + 1] = col[a] * px;
    grid.ijk_to_lps[a * 4 + 2] = normal[a] * dz;
    grid.ijk_to_lps[a * 4 + 3] = o[a];
  }
  grid.ijk_to_lps[15] = 1;
  return grid;
}

namespace {

using Polygon = std::vector<std::array<double, 2>>;  // (i, j) voxel coordinates

// Fraction of each voxel of a (w x h) slice covered by the even-odd union of
// `polygons`, sampled on kSub sub-rows per voxel row with exact span lengths.
void FillCoverage(const std::vector<Polygon>& polygons, int64_t w, int64_t h,
                  std::span<float> out) {
  constexpr int kSub = 4;
  std::fill(out.begin(), out.end(), 0.f);
  std::vector<double> xs;
  for (int64_t j = 0; j < h; ++j) {
    for (int s = 0; s < kSub; ++s) {
      const double y = double(j) - 0.5 + (s + 0.5) / kSub;
      xs.clear();
      for (const Polygon& poly : polygons) {
        for (size_t a = 0, n = poly.size(); a < n; ++a) {
          const auto& p = poly[a];
          const auto& q = poly[(a + 1) % n];
          if ((p[1] <= y) == (q[1] <= y)) continue;  // half-open: vertices count once
          xs.push_back(p[0] + (y - p[1]) * (q[0] - p[0]) / (q[1] - p[1]));
        }
      }
      std::sort(xs.begin(), xs.end());
      float* row = out.data() + j * w;
      for (size_t k = 0; k + 1 < xs.size(); k += 2) {
        // Voxel i covers [i - 0.5, i + 0.5).
        const double x0 = std::max(xs[k], -0.5), x1 = std::min(xs[k + 1], double(w) - 0.5);
        if (x1 <= x0) continue;
        const int64_t i0 = int64_t(std::floor(x0 + 0.5)), i1 = int64_t(std::floor(x1 + 0.5));
        for (int64_t i = i0; i <= i1 && i < w; ++i) {
          const double a = std::max(x0, double(i) - 0.5), b = std::min(x1, double(i) + 0.5);
          if (b > a) row[i] += float((b - a) / kSub);
        }
      }
    }
  }
}

}  // namespace

Result<ScalarField> ContoursToField(const std::vector<PlanarContour>& contours, const Grid& grid) {
  ASSIGN_OR_RETURN(const Affine inv, InvertAffine(grid.ijk_to_lps));
  auto by_slice = std::make_shared<std::map<int64_t, std::vector<Polygon>>>();
  for (size_t c = 0; c < contours.size(); ++c) {
    if (contours[c].points.size() < 3) continue;
    Polygon poly;
    double kmin = 1e300, kmax = -1e300;
    for (const V3& p : contours[c].points) {
      const V3 ijk = ApplyAffine(inv, p[0], p[1], p[2]);
      poly.push_back({ijk[0], ijk[1]});
      kmin = std::min(kmin, ijk[2]), kmax = std::max(kmax, ijk[2]);
    }
    const int64_t k = std::llround(0.5 * (kmin + kmax));
    if (kmax - kmin > 0.25 || std::abs(0.5 * (kmin + kmax) - double(k)) > 0.25) {
      return Status::InvalidArgument("contour " + std::to_string(c) +
                                     " does not lie in one slice plane of the grid");
    }
    if (k < 0 || k >= grid.dims[2]) continue;  // outside the grid: nothing to fill
    (*by_slice)[k].push_back(std::move(poly));
  }
  ScalarField field;
  field.dims = grid.dims;
  field.ijk_to_lps = grid.ijk_to_lps;
  const int64_t w = grid.dims[0], h = grid.dims[1];
  field.slice = [by_slice, w, h](int64_t k, std::span<float> out) -> Status {
    if (out.size() != size_t(w * h)) return Status::InvalidArgument("contour field: bad slice size");
    auto it = by_slice->find(k);
    if (it == by_slice->end()) {
      std::fill(out.begin(), out.end(), 0.f);
    } else {
      FillCoverage(it->second, w, h, out);
    }
    return Status::Ok();
  };
  return field;
}

}  // namespace dcmfs::mesh
