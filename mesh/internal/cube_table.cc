#include "mesh/internal/cube_table.h"

#include <functional>
#include <memory>

#include "base/check.h"

namespace dcmfs::mesh::internal {
namespace {

using V3 = std::array<double, 3>;

V3 CornerPos(int c) { return {double(c & 1), double((c >> 1) & 1), double((c >> 2) & 1)}; }

// The edge joining corners a and b (which differ in one bit).
int EdgeBetween(int a, int b) {
  const int diff = a ^ b;
  const int axis = diff == 1 ? 0 : diff == 2 ? 1 : 2;
  const int lo = a & b;
  const int u = (lo >> ((axis + 1) % 3)) & 1;
  const int v = (lo >> ((axis + 2) % 3)) & 1;
  return 4 * axis + u + 2 * v;
}

V3 EdgeMid(int e) {
  const int axis = e / 4, u = e & 1, v = (e >> 1) & 1;
  V3 p{};
  p[axis] = 0.5;
  p[(axis + 1) % 3] = u;
  p[(axis + 2) % 3] = v;
  return p;
}


V3 Sub(const V3& a, const V3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
V3 Cross(const V3& a, const V3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
double Dot(const V3& a, const V3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

// Orients the face segment p -> q so that the inside lies on the side that
// makes the loops wind counter-clockwise seen from outside the solid: with
// n the face's outward normal, ((q - p) x n) . (inside corner - p) > 0.
void AddSegment(int p, int q, const V3& normal, int mask, std::array<int, 12>& next) {
  auto [c0, c1] = EdgeCorners(p);
  const int inside_corner = (mask >> c0) & 1 ? c0 : c1;
  const V3 mp = EdgeMid(p), mq = EdgeMid(q);
  const double s = Dot(Cross(Sub(mq, mp), normal), Sub(CornerPos(inside_corner), mp));
  if (s < 0) std::swap(p, q);
  CHECK(next[p] == -1) << "edge " << p << " leaves twice";
  next[p] = q;
}

// The two cube faces that edge e borders (bit f: face f = 2 * axis + side).
int FacesOfEdge(int e) {
  const int axis = e / 4, u = e & 1, v = (e >> 1) & 1;
  return 1 << (2 * ((axis + 1) % 3) + u) | 1 << (2 * ((axis + 2) % 3) + v);
}

// Triangulates a loop (counter-clockwise from outside) with no diagonal
// that joins two points on one cube face. Such a
// diagonal lies in that face, and the neighbouring cube may draw the same
// one: that edge would then have four triangles (not manifold). A plain fan
// draws many; most loops have a triangulation with none, found here by
// dynamic programming over polygon intervals (n <= 12). The few loops of 8,
// 9 and 12 points that have none are fanned around a centre point instead.
void Triangulate(const int* loop, int n, CubeCase& out) {
  auto cost = [&](int a, int b) {  // a < b: a side of the loop costs nothing
    if (b == a + 1 || (a == 0 && b == n - 1)) return 0;
    return (FacesOfEdge(loop[a]) & FacesOfEdge(loop[b])) != 0 ? 1 : 0;
  };
  // best[a][b]: fewest face diagonals triangulating polygon a..b, apex[a][b]
  // the third corner of the triangle on (a, b) that achieves it.
  int best[12][12] = {}, apex[12][12] = {};
  for (int len = 2; len < n; ++len) {
    for (int a = 0; a + len < n; ++a) {
      const int b = a + len;
      best[a][b] = 1 << 20;
      for (int k = a + 1; k < b; ++k) {
        const int c = cost(a, k) + cost(k, b) + (k > a + 1 ? best[a][k] : 0) +
                      (k < b - 1 ? best[k][b] : 0);
        if (c < best[a][b]) best[a][b] = c, apex[a][b] = k;
      }
    }
  }
  if (best[0][n - 1] > 0) {  // a fan around a centre point: no diagonals at all
    const int centre = out.centre_count++;
    CHECK(centre < 4) << "more than four loops in a cube";
    for (int i = 0; i < n; ++i) out.centre_edges[centre] |= uint16_t(1 << loop[i]);
    for (int i = 0; i < n; ++i) {
      uint8_t* t = &out.edges[3 * out.triangle_count++];
      t[0] = uint8_t(kCentre + centre);
      t[1] = uint8_t(loop[i]);
      t[2] = uint8_t(loop[(i + 1) % n]);
    }
    return;
  }
  std::function<void(int, int)> emit = [&](int a, int b) {
    if (b - a < 2) return;
    const int k = apex[a][b];
    uint8_t* t = &out.edges[3 * out.triangle_count++];
    t[0] = uint8_t(loop[a]);
    t[1] = uint8_t(loop[k]);
    t[2] = uint8_t(loop[b]);
    emit(a, k);
    emit(k, b);
  };
  emit(0, n - 1);
}

CubeCase BuildCase(int mask, int face_bits) {
  std::array<int, 12> next;
  next.fill(-1);
  for (int f = 0; f < 6; ++f) {
    const auto q = FaceCorners(f);
    V3 normal{};
    normal[f / 2] = (f & 1) ? 1.0 : -1.0;
    bool in[4];
    int inside = 0;
    for (int m = 0; m < 4; ++m) inside += in[m] = (mask >> q[m]) & 1;
    if (inside == 0 || inside == 4) continue;
    const bool ambiguous = inside == 2 && in[0] == in[2];
    if (!ambiguous) {
      // One run of inside corners: the segment joins the two sign changes.
      int crossings[2], n = 0;
      for (int m = 0; m < 4; ++m) {
        if (in[m] != in[(m + 1) % 4]) crossings[n++] = EdgeBetween(q[m], q[(m + 1) % 4]);
      }
      AddSegment(crossings[0], crossings[1], normal, mask, next);
      continue;
    }
    // Two diagonal inside corners: cut off either the two inside corners
    // (separated) or the two outside ones (connected through the face).
    const bool connected = (face_bits >> f) & 1;
    for (int m = 0; m < 4; ++m) {
      if (in[m] == connected) continue;  // cut around corners of the other kind
      const int prev = (m + 3) % 4, nxt = (m + 1) % 4;
      AddSegment(EdgeBetween(q[prev], q[m]), EdgeBetween(q[m], q[nxt]), normal, mask, next);
    }
  }
  CubeCase out;
  std::array<bool, 12> seen{};
  for (int start = 0; start < 12; ++start) {
    if (next[start] == -1 || seen[start]) continue;
    int loop[12], n = 0;
    for (int e = start; !seen[e]; e = next[e]) {
      CHECK(next[e] != -1) << "open loop in cube case " << mask;
      seen[e] = true;
      loop[n++] = e;
    }
    CHECK(n >= 3) << "loop of " << n << " in cube case " << mask;
    Triangulate(loop, n, out);
  }
  return out;
}

}  // namespace

std::array<int, 2> EdgeCorners(int e) {
  const int axis = e / 4, u = e & 1, v = (e >> 1) & 1;
  const int lo = (u << ((axis + 1) % 3)) | (v << ((axis + 2) % 3));
  return {lo, lo | (1 << axis)};
}

std::array<uint8_t, 4> FaceCorners(int face) {
  const int axis = face / 2, side = face & 1;
  const int b = (axis + 1) % 3, c = (axis + 2) % 3;
  std::array<uint8_t, 4> q{};
  const int uv[4][2] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
  for (int m = 0; m < 4; ++m) {
    q[m] = (side << axis) | (uv[m][0] << b) | (uv[m][1] << c);
  }
  return q;
}

const CubeTable& GetCubeTable() {
  static const std::unique_ptr<CubeTable> table = [] {
    auto t = std::make_unique<CubeTable>();
    for (int mask = 0; mask < 256; ++mask) {
      uint8_t ambiguous = 0;
      for (int f = 0; f < 6; ++f) {
        const auto q = FaceCorners(f);
        const bool a = (mask >> q[0]) & 1, b = (mask >> q[1]) & 1;
        const bool c = (mask >> q[2]) & 1, d = (mask >> q[3]) & 1;
        if (a == c && b == d && a != b) ambiguous |= 1 << f;
      }
      t->ambiguous_faces[mask] = ambiguous;
      for (int bits = 0; bits < 64; ++bits) {
        // Only bits of ambiguous faces matter; the rest share entry bits & mask.
        if ((bits & ~ambiguous) != 0) continue;
        t->cases[mask | (bits << 8)] = BuildCase(mask, bits);
      }
    }
    return t;
  }();
  return *table;
}

}  // namespace dcmfs::mesh::internal
