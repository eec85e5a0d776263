// Analytic phantoms for mesh tests: a sphere and a box in patient
// coordinates, voxelised on an oblique, anisotropic grid with partial-volume
// intensities (each voxel holds the fraction of its parallelepiped inside the
// shape, estimated with 8x8x8 sub-samples near the surface), so the 0.5
// isosurface recovers the analytic surface.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numbers>
#include <vector>

#include "mesh/isosurface.h"

namespace dcmfs::mesh::testing {

using V3 = std::array<double, 3>;

struct Phantom {
  std::array<int64_t, 3> dims{};
  Affine affine{};
  std::vector<float> values;  // i fastest
  std::function<double(const V3&)> sdf;  // signed distance, negative inside, mm
  double volume = 0, area = 0;           // analytic
  double voxel_diagonal = 0;             // mm
};

// Rotation about z by `a` then about x by `b` (radians), columns scaled by
// `spacing`; the grid is centred on `centre` with `dims` voxels.
inline Affine ObliqueAffine(double a, double b, V3 spacing, std::array<int64_t, 3> dims,
                            V3 centre, bool mirror = false) {
  const double ca = std::cos(a), sa = std::sin(a), cb = std::cos(b), sb = std::sin(b);
  // R = Rx(b) * Rz(a)
  double r[3][3] = {{ca, -sa, 0}, {cb * sa, cb * ca, -sb}, {sb * sa, sb * ca, cb}};
  if (mirror) {
    for (auto& row : r) row[2] = -row[2];  // flips k: negative determinant
  }
  Affine m{};
  for (int i = 0; i < 3; ++i) {
    double t = centre[i];
    for (int j = 0; j < 3; ++j) {
      m[i * 4 + j] = r[i][j] * spacing[j];
      t -= m[i * 4 + j] * (double(dims[j]) - 1) / 2;
    }
    m[i * 4 + 3] = t;
  }
  m[15] = 1;
  return m;
}

inline void Voxelise(Phantom& p) {
  const auto& d = p.dims;
  p.values.assign(size_t(d[0] * d[1] * d[2]), 0.f);
  const auto& m = p.affine;
  V3 diag{};
  for (int r = 0; r < 3; ++r) diag[r] = m[r * 4] + m[r * 4 + 1] + m[r * 4 + 2];
  double len2 = 0;
  for (int j = 0; j < 3; ++j) {
    double c = 0;
    for (int r = 0; r < 3; ++r) c += m[r * 4 + j] * m[r * 4 + j];
    len2 += c;
  }
  p.voxel_diagonal = std::sqrt(len2);
  constexpr int kSub = 8;
  for (int64_t k = 0; k < d[2]; ++k) {
    for (int64_t j = 0; j < d[1]; ++j) {
      for (int64_t i = 0; i < d[0]; ++i) {
        const V3 c = ApplyAffine(m, double(i), double(j), double(k));
        const double s = p.sdf(c);
        float& out = p.values[size_t((k * d[1] + j) * d[0] + i)];
        if (s < -p.voxel_diagonal) { out = 1; continue; }
        if (s > p.voxel_diagonal) { out = 0; continue; }
        int in = 0;
        for (int a = 0; a < kSub; ++a)
          for (int b = 0; b < kSub; ++b)
            for (int e = 0; e < kSub; ++e) {
              const double u = (a + 0.5) / kSub - 0.5, v = (b + 0.5) / kSub - 0.5,
                           w = (e + 0.5) / kSub - 0.5;
              in += p.sdf(ApplyAffine(m, double(i) + u, double(j) + v, double(k) + w)) <= 0;
            }
        out = float(in) / (kSub * kSub * kSub);
      }
    }
  }
}

inline Phantom Sphere(V3 centre, double radius, const Affine& affine,
                      std::array<int64_t, 3> dims) {
  Phantom p;
  p.dims = dims;
  p.affine = affine;
  p.sdf = [=](const V3& x) {
    return std::sqrt((x[0] - centre[0]) * (x[0] - centre[0]) +
                     (x[1] - centre[1]) * (x[1] - centre[1]) +
                     (x[2] - centre[2]) * (x[2] - centre[2])) - radius;
  };
  p.volume = 4.0 / 3.0 * std::numbers::pi * radius * radius * radius;
  p.area = 4 * std::numbers::pi * radius * radius;
  Voxelise(p);
  return p;
}

// Axis-aligned in patient coordinates (so oblique to an oblique grid).
inline Phantom Box(V3 centre, V3 half, const Affine& affine, std::array<int64_t, 3> dims) {
  Phantom p;
  p.dims = dims;
  p.affine = affine;
  p.sdf = [=](const V3& x) {
    double q[3], outside = 0, inside = -1e300;
    for (int a = 0; a < 3; ++a) {
      q[a] = std::abs(x[a] - centre[a]) - half[a];
      outside += std::max(q[a], 0.0) * std::max(q[a], 0.0);
      inside = std::max(inside, q[a]);
    }
    return std::sqrt(outside) + std::min(inside, 0.0);
  };
  p.volume = 8 * half[0] * half[1] * half[2];
  p.area = 8 * (half[0] * half[1] + half[1] * half[2] + half[0] * half[2]);
  Voxelise(p);
  return p;
}

}  // namespace dcmfs::mesh::testing
