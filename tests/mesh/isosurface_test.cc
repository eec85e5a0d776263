// Marching cubes against analytic phantoms (sphere, box) on oblique,
// anisotropic grids with partial-volume intensities, and against admesh.
#include "mesh/isosurface.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "mesh/smooth.h"
#include "mesh/stl.h"
#include "tests/mesh/admesh.h"
#include "tests/mesh/phantom.h"
#include "tests/support/temp_dir.h"

namespace dcmfs::mesh {
namespace {

using testing::ObliqueAffine;
using testing::Phantom;

constexpr double kDeg = std::numbers::pi / 180;

TriangleMesh Extract(const Phantom& p, double threshold = 0.5, int threads = 2,
                     int64_t slab = 8) {
  auto mesh = ExtractIsosurface(DenseField(p.values, p.dims, p.affine),
                                {.threshold = threshold, .threads = threads, .slab_slices = slab});
  EXPECT_TRUE(mesh.ok()) << mesh.status().ToString();
  return mesh.ok() ? std::move(mesh).value() : TriangleMesh{};
}

void ExpectAnalytic(const Phantom& p, const TriangleMesh& mesh, double area_tolerance) {
  ASSERT_GT(mesh.triangles.size(), 100u);
  const TopologyReport topo = CheckTopology(mesh);
  EXPECT_TRUE(topo.closed_manifold())
      << "boundary " << topo.boundary_edges << " nonmanifold " << topo.nonmanifold_edges
      << " misoriented " << topo.misoriented_edges << " degenerate " << topo.degenerate_triangles;
  const double volume = EnclosedVolume(mesh);
  EXPECT_NEAR(volume / p.volume, 1.0, 0.01) << "volume " << volume << " vs " << p.volume;
  const double area = SurfaceArea(mesh);
  EXPECT_NEAR(area / p.area, 1.0, area_tolerance) << "area " << area << " vs " << p.area;
  double worst = 0;
  for (const Vec3f& v : mesh.vertices) {
    worst = std::max(worst, std::abs(p.sdf({v[0], v[1], v[2]})));
  }
  EXPECT_LT(worst, p.voxel_diagonal) << "a vertex is " << worst << " mm off the surface";
}

TEST(IsosurfaceTest, ObliqueAnisotropicSphere) {
  const std::array<int64_t, 3> dims{64, 48, 32};
  const Affine a = ObliqueAffine(20 * kDeg, 15 * kDeg, {0.7, 0.9, 1.3}, dims, {10, -20, 35});
  const Phantom p = testing::Sphere({11, -19, 36}, 14, a, dims);
  ExpectAnalytic(p, Extract(p), 0.03);
}

TEST(IsosurfaceTest, ObliqueAnisotropicBox) {
  const std::array<int64_t, 3> dims{72, 60, 40};
  const Affine a = ObliqueAffine(25 * kDeg, 10 * kDeg, {0.6, 0.8, 1.2}, dims, {0, 0, 0});
  const Phantom p = testing::Box({0.5, -0.3, 0.2}, {16, 13, 11}, a, dims);
  ExpectAnalytic(p, Extract(p), 0.03);
}

TEST(IsosurfaceTest, NegativeDeterminantKeepsNormalsOutward) {
  const std::array<int64_t, 3> dims{48, 48, 30};
  const Affine a = ObliqueAffine(30 * kDeg, 5 * kDeg, {0.8, 0.8, 1.5}, dims, {0, 0, 0},
                                 /*mirror=*/true);
  const Phantom p = testing::Sphere({0, 0, 0}, 12, a, dims);
  const TriangleMesh mesh = Extract(p);
  EXPECT_GT(EnclosedVolume(mesh), 0);
  ExpectAnalytic(p, mesh, 0.03);
}

TEST(IsosurfaceTest, ShapeCutByTheBorderIsCapped) {
  // A sphere larger than the grid: the padding closes it where it leaves.
  const std::array<int64_t, 3> dims{20, 20, 20};
  const Affine a = ObliqueAffine(0, 0, {1, 1, 1}, dims, {0, 0, 0});
  const Phantom p = testing::Sphere({5, 0, 0}, 12, a, dims);
  const TriangleMesh mesh = Extract(p);
  EXPECT_TRUE(CheckTopology(mesh).closed_manifold());
  EXPECT_GT(EnclosedVolume(mesh), 0);
}

TEST(IsosurfaceTest, SameMeshWhateverTheThreadsAndSlabs) {
  const std::array<int64_t, 3> dims{40, 36, 33};
  const Affine a = ObliqueAffine(10 * kDeg, 20 * kDeg, {1, 1.1, 1.2}, dims, {0, 0, 0});
  const Phantom p = testing::Sphere({1, 2, -1}, 12, a, dims);
  const TriangleMesh one = Extract(p, 0.5, 1, 1000);
  for (auto [threads, slab] : {std::pair{2, 1}, {2, 3}, {3, 7}, {1, 5}}) {
    const TriangleMesh m = Extract(p, 0.5, threads, slab);
    EXPECT_EQ(m.triangles.size(), one.triangles.size()) << threads << " " << slab;
    EXPECT_EQ(m.vertices.size(), one.vertices.size()) << threads << " " << slab;
    EXPECT_NEAR(EnclosedVolume(m), EnclosedVolume(one), 1e-6 * EnclosedVolume(one));
    EXPECT_TRUE(CheckTopology(m).closed_manifold());
  }
}

// Random fields of small, odd sizes (rows shorter than, and not a multiple
// of, the 8 cells the extraction skips at a time; shapes on every border),
// binary (ambiguous faces at every turn) or uniform noise (the rare cube
// loops fanned around a centre point): a vertex on every sign-changing edge
// of the padded grid (counted here by brute force), each used, and a closed,
// oriented 2-manifold -- no edge of four triangles.
TEST(IsosurfaceTest, RandomOddSizedFieldsGiveClosedManifolds) {
  uint32_t seed = 12345;
  auto next = [&] { return (seed = seed * 1664525u + 1013904223u) >> 8; };
  for (int round = 0; round < 300; ++round) {
    const std::array<int64_t, 3> d{1 + next() % 19, 1 + next() % 17, 1 + next() % 9};
    const double density = 0.2 + 0.6 * (next() % 100) / 100.0;
    std::vector<float> values(size_t(d[0] * d[1] * d[2]));
    for (float& v : values) {
      const float u = float(next() % 1000) / 1000.0f;
      v = round % 2 ? u : (u < density ? 0.9f : 0.1f);
    }
    auto inside = [&](int64_t i, int64_t j, int64_t k) {  // padded: outside beyond the volume
      if (i < 0 || j < 0 || k < 0 || i >= d[0] || j >= d[1] || k >= d[2]) return false;
      return values[size_t((k * d[1] + j) * d[0] + i)] >= 0.5f;
    };
    size_t crossed = 0;
    for (int64_t k = -1; k <= d[2]; ++k) {
      for (int64_t j = -1; j <= d[1]; ++j) {
        for (int64_t i = -1; i <= d[0]; ++i) {
          crossed += (inside(i, j, k) != inside(i + 1, j, k)) +
                     (inside(i, j, k) != inside(i, j + 1, k)) +
                     (inside(i, j, k) != inside(i, j, k + 1));
        }
      }
    }
    const std::string what =
        std::to_string(d[0]) + "x" + std::to_string(d[1]) + "x" + std::to_string(d[2]);
    const Affine a = ObliqueAffine(5 * kDeg, 7 * kDeg, {0.9, 1.1, 1.3}, d, {0, 0, 0});
    auto mesh = ExtractIsosurface(DenseField(values, d, a),
                                  {.threshold = 0.5, .threads = 2, .slab_slices = 3});
    ASSERT_TRUE(mesh.ok()) << mesh.status().ToString();
    if (round % 2 == 0) {  // binary fields never need a centre point
      EXPECT_EQ(mesh->vertices.size(), crossed) << what;
    } else {
      EXPECT_GE(mesh->vertices.size(), crossed) << what;
    }
    TriangleMesh used = *mesh;
    CompactVertices(used);
    EXPECT_EQ(used.vertices.size(), mesh->vertices.size()) << what << ": a vertex no triangle uses";
    const TopologyReport topo = CheckTopology(*mesh);
    EXPECT_TRUE(topo.closed_manifold())
        << what << ": boundary " << topo.boundary_edges << " nonmanifold "
        << topo.nonmanifold_edges << " misoriented " << topo.misoriented_edges << " degenerate "
        << topo.degenerate_triangles;
    if (crossed > 0) {
      EXPECT_GT(EnclosedVolume(*mesh), 0) << what;
    }
  }
}

TEST(IsosurfaceTest, StreamsSlicesAndReportsTheirErrors) {
  const std::array<int64_t, 3> dims{16, 16, 40};
  std::atomic<int> reads{0};
  ScalarField f;
  f.dims = dims;
  f.ijk_to_lps = ObliqueAffine(0, 0, {1, 1, 1}, dims, {0, 0, 0});
  f.slice = [&](int64_t k, std::span<float> out) -> Status {
    ++reads;
    if (k == 25) return Status::DataLoss("slice 25 is damaged");
    std::fill(out.begin(), out.end(), 1.f);
    return Status::Ok();
  };
  auto mesh = ExtractIsosurface(f, {.threshold = 0.5, .threads = 2, .slab_slices = 8});
  ASSERT_FALSE(mesh.ok());
  EXPECT_EQ(mesh.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(mesh.status().message().find("slice 25"), std::string::npos);

  f.slice = [&](int64_t, std::span<float> out) -> Status {
    ++reads;
    std::fill(out.begin(), out.end(), 1.f);
    return Status::Ok();
  };
  reads = 0;
  auto cube = ExtractIsosurface(f, {.threshold = 0.5, .threads = 2, .slab_slices = 8});
  ASSERT_TRUE(cube.ok());
  // Each slice about once: slab boundaries are read twice.
  EXPECT_LE(reads.load(), 40 + 40 / 8 + 1);
  // A full block is capped half a voxel beyond its centres: 16 x 16 x 40 mm^3
  // less the marching-cubes chamfer along its 12 edges (a right triangle of
  // legs 0.5 mm across each: 0.125 mm^2 times ~288 mm of edges).
  EXPECT_NEAR(EnclosedVolume(*cube), 16.0 * 16 * 40 - 0.125 * 288, 2.0);
  EXPECT_TRUE(CheckTopology(*cube).closed_manifold());
}

TEST(IsosurfaceTest, RejectsBadInput) {
  ScalarField f;
  EXPECT_EQ(ExtractIsosurface(f, {}).status().code(), StatusCode::kInvalidArgument);
  f.dims = {4, 4, 4};
  f.slice = [](int64_t, std::span<float>) { return Status::Ok(); };
  EXPECT_EQ(ExtractIsosurface(f, {}).status().code(), StatusCode::kInvalidArgument);  // singular
}

TEST(IsosurfaceTest, AdmeshFindsNothingToRepairRawOrSmoothed) {
  const std::array<int64_t, 3> dims{64, 48, 32};
  const Affine a = ObliqueAffine(20 * kDeg, 15 * kDeg, {0.7, 0.9, 1.3}, dims, {10, -20, 35});
  const Phantom sphere = testing::Sphere({11, -19, 36}, 14, a, dims);
  const Phantom box = testing::Box({10, -20, 35}, {12, 9, 8}, a, dims);
  dcmfs::testing::TempDir dir;
  for (const Phantom* p : {&sphere, &box}) {
    TriangleMesh mesh = Extract(*p);
    for (bool smooth : {false, true}) {
      if (smooth) TaubinSmooth(mesh);
      const std::string stl = WriteBinaryStl(mesh);
      ASSERT_EQ(stl.size(), BinaryStlSize(mesh.triangles.size()));
      const std::string path = dir.Sub("m.stl");
      dcmfs::testing::WriteFileOrDie(path, stl);
      const testing::AdmeshReport r = testing::RunAdmesh(path);
      ASSERT_TRUE(r.ran) << r.output;
      EXPECT_TRUE(r.Clean()) << r.output;
      EXPECT_EQ(r.Get("Number of parts"), 1) << r.output;
      EXPECT_EQ(r.Get("Number of facets"), long(mesh.triangles.size())) << r.output;
    }
  }
}

// The STL served piecewise (as FUSE reads it, at any offset and length) is
// the whole file, and admesh reads it as the same clean solid.
TEST(IsosurfaceTest, StlReadInPiecesIsTheWholeFile) {
  const std::array<int64_t, 3> dims{40, 36, 30};
  const Affine a = ObliqueAffine(10 * kDeg, 25 * kDeg, {0.8, 0.9, 1.1}, dims, {0, 0, 0});
  const TriangleMesh mesh = Extract(testing::Sphere({1, -2, 3}, 10, a, dims));
  const std::string whole = WriteBinaryStl(mesh);
  std::string pieces;
  const size_t lengths[] = {1, 7, 49, 50, 51, 83, 4099};
  for (size_t i = 0; pieces.size() < whole.size() + 100; ++i) {
    std::vector<uint8_t> buf(lengths[i % std::size(lengths)]);
    const size_t n = ReadBinaryStl(mesh, pieces.size(), buf);
    if (n == 0) break;
    ASSERT_LE(n, buf.size());
    pieces.append(reinterpret_cast<const char*>(buf.data()), n);
  }
  ASSERT_EQ(pieces.size(), BinaryStlSize(mesh.triangles.size()));
  EXPECT_TRUE(pieces == whole);
  std::vector<uint8_t> past(10);
  EXPECT_EQ(ReadBinaryStl(mesh, whole.size(), past), 0u);
  dcmfs::testing::TempDir dir;
  dcmfs::testing::WriteFileOrDie(dir.Sub("pieces.stl"), pieces);
  const testing::AdmeshReport r = testing::RunAdmesh(dir.Sub("pieces.stl"));
  ASSERT_TRUE(r.ran) << r.output;
  EXPECT_TRUE(r.Clean()) << r.output;
  EXPECT_EQ(r.Get("Number of facets"), long(mesh.triangles.size())) << r.output;
}

TEST(TaubinTest, SmoothsWithoutShrinking) {
  const std::array<int64_t, 3> dims{64, 48, 32};
  const Affine a = ObliqueAffine(20 * kDeg, 15 * kDeg, {0.7, 0.9, 1.3}, dims, {10, -20, 35});
  const Phantom p = testing::Sphere({11, -19, 36}, 14, a, dims);
  TriangleMesh mesh = Extract(p);
  auto rms_error = [&](const TriangleMesh& m) {
    double s = 0;
    for (const Vec3f& v : m.vertices) s += std::pow(p.sdf({v[0], v[1], v[2]}), 2);
    return std::sqrt(s / double(m.vertices.size()));
  };
  const double before = rms_error(mesh);
  TaubinSmooth(mesh);
  EXPECT_TRUE(CheckTopology(mesh).closed_manifold());
  EXPECT_NEAR(EnclosedVolume(mesh) / p.volume, 1.0, 0.02);
  EXPECT_LT(rms_error(mesh), before) << "smoothing moved vertices away from the sphere";
}

}  // namespace
}  // namespace dcmfs::mesh
