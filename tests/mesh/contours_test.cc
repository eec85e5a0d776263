// Planar contours -> coverage field -> mesh, against the polygons' own
// extruded volume (area x slice spacing per contour, the shoelace formula).
#include "mesh/contours.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "mesh/isosurface.h"
#include "mesh/stl.h"
#include "tests/mesh/admesh.h"
#include "tests/support/temp_dir.h"

namespace dcmfs::mesh {
namespace {

using P = std::array<double, 3>;

PlanarContour Polygon2D(std::vector<std::array<double, 2>> xy, double z) {
  PlanarContour c;
  for (auto [x, y] : xy) c.points.push_back({x, y, z});
  return c;
}

double ShoelaceArea(const PlanarContour& c) {
  double a = 0;
  for (size_t i = 0; i < c.points.size(); ++i) {
    const P& p = c.points[i];
    const P& q = c.points[(i + 1) % c.points.size()];
    a += p[0] * q[1] - q[0] * p[1];
  }
  return std::abs(a) / 2;
}

std::vector<std::array<double, 2>> Circle(double cx, double cy, double r, int n) {
  std::vector<std::array<double, 2>> pts;
  for (int i = 0; i < n; ++i) {
    const double t = 2 * std::numbers::pi * i / n;
    pts.push_back({cx + r * std::cos(t), cy + r * std::sin(t)});
  }
  return pts;
}

TriangleMesh MeshOf(const std::vector<PlanarContour>& contours, const ContourGridOptions& o) {
  auto grid = GridForContours(contours, o);
  EXPECT_TRUE(grid.ok()) << grid.status().ToString();
  auto field = ContoursToField(contours, *grid);
  EXPECT_TRUE(field.ok()) << field.status().ToString();
  auto mesh = ExtractIsosurface(*field, {.threshold = 0.5});
  EXPECT_TRUE(mesh.ok()) << mesh.status().ToString();
  return mesh.ok() ? std::move(mesh).value() : TriangleMesh{};
}

TEST(ContoursTest, ExtrudedVolumeOfStackedPolygons) {
  // A pentagon-ish prism tapering over 20 slices of 2.5 mm, plus one slice
  // with two islands: volume = sum(area) * spacing.
  std::vector<PlanarContour> contours;
  double expected = 0;
  for (int s = 0; s < 20; ++s) {
    const double r = 30 - s;
    contours.push_back(Polygon2D({{-r, -r}, {r, -r * 0.8}, {r * 1.2, r * 0.3}, {0, r}, {-r, r * 0.5}},
                                 -40 + 2.5 * s));
    expected += ShoelaceArea(contours.back()) * 2.5;
  }
  contours.push_back(Polygon2D(Circle(-15, 0, 6, 40), 10));
  contours.push_back(Polygon2D(Circle(15, 0, 6, 40), 10));
  expected += 2 * ShoelaceArea(contours.back()) * 2.5;
  const TriangleMesh mesh = MeshOf(contours, {.pixel_mm = 0.8});
  EXPECT_TRUE(CheckTopology(mesh).closed_manifold());
  EXPECT_NEAR(EnclosedVolume(mesh) / expected, 1.0, 0.02) << EnclosedVolume(mesh) << " vs " << expected;
}

TEST(ContoursTest, HoleByEvenOddRule) {
  // A ring: an outer circle with an inner circle on each of 8 slices.
  std::vector<PlanarContour> contours;
  double expected = 0;
  for (int s = 0; s < 8; ++s) {
    contours.push_back(Polygon2D(Circle(5, 5, 20, 64), 3.0 * s));
    contours.push_back(Polygon2D(Circle(5, 5, 10, 64), 3.0 * s));
    expected += (ShoelaceArea(contours[contours.size() - 2]) - ShoelaceArea(contours.back())) * 3;
  }
  const TriangleMesh mesh = MeshOf(contours, {.pixel_mm = 0.7});
  EXPECT_TRUE(CheckTopology(mesh).closed_manifold());
  EXPECT_NEAR(EnclosedVolume(mesh) / expected, 1.0, 0.02) << EnclosedVolume(mesh) << " vs " << expected;
  dcmfs::testing::TempDir dir;
  dcmfs::testing::WriteFileOrDie(dir.Sub("ring.stl"), WriteBinaryStl(mesh));
  const auto report = testing::RunAdmesh(dir.Sub("ring.stl"));
  EXPECT_TRUE(report.Clean()) << report.output;
  EXPECT_EQ(report.Get("Number of parts"), 1) << report.output;
}

TEST(ContoursTest, ObliquePlanesFollowTheReferenceOrientation) {
  // Contours drawn on images tilted 30 degrees about x.
  const double c = std::cos(std::numbers::pi / 6), s = std::sin(std::numbers::pi / 6);
  const P row{1, 0, 0}, col{0, c, s}, n{0, -s, c};
  std::vector<PlanarContour> contours;
  double expected = 0;
  for (int k = 0; k < 10; ++k) {
    PlanarContour pc;
    for (auto [x, y] : Circle(0, 0, 12, 48)) {
      pc.points.push_back({x * row[0] + y * col[0] + 2.0 * k * n[0],
                           x * row[1] + y * col[1] + 2.0 * k * n[1],
                           x * row[2] + y * col[2] + 2.0 * k * n[2]});
    }
    contours.push_back(pc);
    double a = 0;
    const auto ring = Circle(0, 0, 12, 48);
    for (size_t i = 0; i < ring.size(); ++i) {
      const auto& p = ring[i];
      const auto& q = ring[(i + 1) % ring.size()];
      a += p[0] * q[1] - q[0] * p[1];
    }
    expected += std::abs(a) / 2 * 2.0;
  }
  const TriangleMesh mesh = MeshOf(contours, {.pixel_mm = 0.5, .row_direction = row,
                                              .column_direction = col});
  EXPECT_TRUE(CheckTopology(mesh).closed_manifold());
  EXPECT_NEAR(EnclosedVolume(mesh) / expected, 1.0, 0.02);
}

TEST(ContoursTest, RejectsDegenerateInput) {
  EXPECT_FALSE(GridForContours({}, {}).ok());
  EXPECT_FALSE(GridForContours({Polygon2D({{0, 0}, {1, 1}}, 0)}, {}).ok());
  // A contour that is not planar in the grid's slices.
  std::vector<PlanarContour> contours{Polygon2D(Circle(0, 0, 5, 12), 0),
                                      Polygon2D(Circle(0, 0, 5, 12), 2)};
  auto grid = GridForContours(contours, {});
  ASSERT_TRUE(grid.ok());
  PlanarContour skew{{{0, 0, 0}, {5, 0, 1}, {5, 5, 0}}};
  EXPECT_EQ(ContoursToField({skew}, *grid).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dcmfs::mesh
