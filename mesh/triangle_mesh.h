// An indexed triangle mesh and the measures the tests and providers need.
//
// Coordinates are DICOM patient coordinates (LPS), millimetres, stored as
// float because STL stores float32 and float halves the memory of large
// isosurfaces. Triangles index `vertices`; a vertex shared by several faces is
// stored once. Winding is counter-clockwise seen from outside, so the
// right-hand normal of every triangle points out of the enclosed solid.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace dcmfs::mesh {

using Vec3f = std::array<float, 3>;
using Triangle = std::array<uint32_t, 3>;

struct TriangleMesh {
  std::vector<Vec3f> vertices;
  std::vector<Triangle> triangles;
};

// Volume enclosed by a closed, consistently wound mesh (divergence theorem),
// in mm^3; positive when normals point outward. Meaningless for open meshes.
double EnclosedVolume(const TriangleMesh& mesh);

// Sum of triangle areas, mm^2.
double SurfaceArea(const TriangleMesh& mesh);

// Edge topology of a mesh, for tests and sanity checks: a closed, oriented
// 2-manifold has every undirected edge used by exactly two triangles, once in
// each direction.
struct TopologyReport {
  uint64_t edges = 0;
  uint64_t boundary_edges = 0;      // used by one triangle
  uint64_t nonmanifold_edges = 0;   // used by more than two
  uint64_t misoriented_edges = 0;   // two users traversing it the same way
  uint64_t degenerate_triangles = 0;  // a repeated index or coincident positions
  bool closed_manifold() const {
    return boundary_edges == 0 && nonmanifold_edges == 0 && misoriented_edges == 0 &&
           degenerate_triangles == 0;
  }
};
TopologyReport CheckTopology(const TriangleMesh& mesh);

// Removes vertices no triangle uses and renumbers the rest (order kept).
void CompactVertices(TriangleMesh& mesh);

}  // namespace dcmfs::mesh
