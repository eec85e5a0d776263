#include "mesh/triangle_mesh.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace dcmfs::mesh {
namespace {

std::array<double, 3> ToDouble(const Vec3f& v) { return {v[0], v[1], v[2]}; }

std::array<double, 3> Cross(const std::array<double, 3>& a, const std::array<double, 3>& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

}  // namespace

double EnclosedVolume(const TriangleMesh& mesh) {
  // Sum of signed tetrahedra (origin, a, b, c); the origin is moved to the
  // first vertex so that large LPS offsets do not cost precision.
  if (mesh.vertices.empty()) return 0;
  const auto o = ToDouble(mesh.vertices[0]);
  double six_v = 0;
  for (const Triangle& t : mesh.triangles) {
    std::array<double, 3> p[3];
    for (int i = 0; i < 3; ++i) {
      const Vec3f& v = mesh.vertices[t[i]];
      p[i] = {v[0] - o[0], v[1] - o[1], v[2] - o[2]};
    }
    const auto c = Cross(p[1], p[2]);
    six_v += p[0][0] * c[0] + p[0][1] * c[1] + p[0][2] * c[2];
  }
  return six_v / 6.0;
}

double SurfaceArea(const TriangleMesh& mesh) {
  double area = 0;
  for (const Triangle& t : mesh.triangles) {
    const auto a = ToDouble(mesh.vertices[t[0]]);
    const auto b = ToDouble(mesh.vertices[t[1]]);
    const auto c = ToDouble(mesh.vertices[t[2]]);
    const auto n = Cross({b[0] - a[0], b[1] - a[1], b[2] - a[2]},
                         {c[0] - a[0], c[1] - a[1], c[2] - a[2]});
    area += 0.5 * std::sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
  }
  return area;
}

TopologyReport CheckTopology(const TriangleMesh& mesh) {
  // Directed edges sorted by their undirected key; a closed oriented manifold
  // has each undirected key exactly twice, with opposite directions.
  struct Directed {
    uint64_t key;
    bool forward;
  };
  std::vector<Directed> edges;
  edges.reserve(mesh.triangles.size() * 3);
  TopologyReport report;
  for (const Triangle& t : mesh.triangles) {
    const Vec3f& a = mesh.vertices[t[0]];
    const Vec3f& b = mesh.vertices[t[1]];
    const Vec3f& c = mesh.vertices[t[2]];
    if (t[0] == t[1] || t[1] == t[2] || t[0] == t[2] || a == b || b == c || a == c) {
      ++report.degenerate_triangles;
    }
    for (int i = 0; i < 3; ++i) {
      uint32_t u = t[i], v = t[(i + 1) % 3];
      const bool forward = u < v;
      if (!forward) std::swap(u, v);
      edges.push_back({(uint64_t{u} << 32) | v, forward});
    }
  }
  std::sort(edges.begin(), edges.end(),
            [](const Directed& x, const Directed& y) { return x.key < y.key; });
  for (size_t i = 0; i < edges.size();) {
    size_t j = i;
    int forward = 0;
    while (j < edges.size() && edges[j].key == edges[i].key) forward += edges[j++].forward;
    const size_t uses = j - i;
    ++report.edges;
    if (uses == 1) ++report.boundary_edges;
    if (uses > 2) ++report.nonmanifold_edges;
    if (uses == 2 && forward != 1) ++report.misoriented_edges;
    i = j;
  }
  return report;
}

void CompactVertices(TriangleMesh& mesh) {
  constexpr uint32_t kUnused = UINT32_MAX;
  std::vector<uint32_t> remap(mesh.vertices.size(), kUnused);
  for (const Triangle& t : mesh.triangles) {
    for (uint32_t v : t) remap[v] = 0;
  }
  uint32_t next = 0;
  for (size_t i = 0; i < remap.size(); ++i) {
    if (remap[i] == kUnused) continue;
    remap[i] = next;
    mesh.vertices[next++] = mesh.vertices[i];
  }
  mesh.vertices.resize(next);
  for (Triangle& t : mesh.triangles) {
    for (uint32_t& v : t) v = remap[v];
  }
}

}  // namespace dcmfs::mesh
