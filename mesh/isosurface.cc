// Marching cubes over a padded, streamed volume; see isosurface.h.
//
// Passes per slab of cube layers [c0, c1) (layer c joins slices c and c+1;
// layers -1 and dims[2]-1 touch the padding planes):
//   1. load a plane (slice) into a buffer padded by one NaN voxel per side and
//      mark the voxels at or above the threshold;
//   2. create a vertex on every x and y edge of the plane that changes sign,
//      and on every z edge between the two planes of the layer;
//   3. walk the cubes of the layer, look the case up and emit triangles whose
//      corners are the ids of step 2.
// Edge vertices of a slab's top plane belong to the next slab ("ghosts");
// both slabs create them in the same scan order, so the merge maps the n-th
// ghost of slab s to the n-th vertex of slab s+1 without a search.
#include "mesh/isosurface.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "base/check.h"
#include "mesh/internal/cube_table.h"

namespace dcmfs::mesh {
namespace {

constexpr uint32_t kGhost = 0x80000000u;
constexpr double kEdgeEps = 1e-3;
// Bytes past the end of an inside plane that Word() may read.
constexpr size_t kSlack = 16;

// Eight consecutive inside flags as one word, to skip runs with no change.
inline uint64_t Word(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof(w));
  return w;
}

struct SlabResult {
  std::vector<Vec3f> vertices;
  std::vector<Triangle> triangles;  // kGhost | n: the n-th vertex of the next slab
  uint32_t boundary_count = 0;      // vertices [0, n) lie on the slab's first plane
  uint32_t ghost_count = 0;
};

// Where the id of cube edge e lives: plane 0/1 (bottom/top) x- or y-edge
// arrays, or the layer's z-edge array, at cell offset dx + dy * Nx.
struct EdgeSlot {
  uint8_t kind;  // 0: x edge, 1: y edge, 2: z edge
  uint8_t plane;
  int dx, dy;
};

EdgeSlot SlotOf(int e) {
  const int axis = e / 4, u = e & 1, v = (e >> 1) & 1;
  if (axis == 0) return {0, uint8_t(v), 0, u};  // (i, j+u, k+v)
  if (axis == 1) return {1, uint8_t(u), v, 0};  // (i+v, j, k+u)
  return {2, 0, u, v};                          // (i+u, j+v, k)
}

// dst[i] = src[i] >= t (0 or 1; NaN: 0). GCC does not vectorise the plain
// loop (a float compare may trap), and this runs on every voxel.
void ThresholdRow(const float* src, int64_t n, float t, uint8_t* dst) {
  int64_t i = 0;
#ifdef __SSE2__
  const __m128 tv = _mm_set1_ps(t);
  const __m128i one = _mm_set1_epi8(1);
  for (; i + 16 <= n; i += 16) {
    const __m128i a = _mm_castps_si128(_mm_cmpge_ps(_mm_loadu_ps(src + i), tv));
    const __m128i b = _mm_castps_si128(_mm_cmpge_ps(_mm_loadu_ps(src + i + 4), tv));
    const __m128i c = _mm_castps_si128(_mm_cmpge_ps(_mm_loadu_ps(src + i + 8), tv));
    const __m128i d = _mm_castps_si128(_mm_cmpge_ps(_mm_loadu_ps(src + i + 12), tv));
    const __m128i bytes = _mm_packs_epi16(_mm_packs_epi32(a, b), _mm_packs_epi32(c, d));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm_and_si128(bytes, one));
  }
#endif
  for (; i < n; ++i) dst[i] = src[i] >= t;
}

// The padded columns of a plane row's first and last inside voxels; an
// empty row has lo > hi (and min/max over rows stay meaningful).
struct Extent {
  int64_t lo = INT32_MAX;
  int64_t hi = -1;
};

class SlabWorker {
 public:
  SlabWorker(const ScalarField& field, double threshold, bool flip)
      : field_(field),
        threshold_(threshold),
        flip_(flip),
        nx_(field.dims[0] + 2),
        ny_(field.dims[1] + 2),
        w_(field.dims[0]),
        h_(field.dims[1]) {
    const size_t cells = size_t(nx_ * ny_);
    for (int p = 0; p < 2; ++p) {
      // Values are kept as the field gives them (no padding, no copy); the
      // inside flags are padded, and their ring stays "outside" for good.
      // kSlack: the 8-cell word compares may read past the end.
      values_[p].resize(size_t(w_ * h_));
      inside_[p].assign(cells + kSlack, 0);
      extent_[p].assign(size_t(ny_), Extent{});
      xid_[p].resize(cells);
      yid_[p].resize(cells);
    }
    zid_.resize(cells);
  }

  Status Run(int64_t c0, int64_t c1, SlabResult& out) {
    // Neighbouring slabs hold similar amounts of surface: start at the last
    // slab's size rather than growing (and copying) from nothing.
    out.vertices.reserve(last_vertices_ + last_vertices_ / 4);
    out.triangles.reserve(last_triangles_ + last_triangles_ / 4);
    RETURN_IF_ERROR(LoadPlane(c0, 0));
    PlaneVertices(c0, 0, /*ghost=*/false, out);
    out.boundary_count = uint32_t(out.vertices.size());
    for (int64_t layer = c0; layer < c1; ++layer) {
      RETURN_IF_ERROR(LoadPlane(layer + 1, 1));
      PlaneVertices(layer + 1, 1, /*ghost=*/layer + 1 == c1, out);
      ZVertices(layer, out);
      Cubes(layer, out);
      std::swap(values_[0], values_[1]);
      std::swap(inside_[0], inside_[1]);
      std::swap(extent_[0], extent_[1]);
      std::swap(xid_[0], xid_[1]);
      std::swap(yid_[0], yid_[1]);
    }
    last_vertices_ = out.vertices.size();
    last_triangles_ = out.triangles.size();
    return Status::Ok();
  }

 private:
  Status LoadPlane(int64_t k, int p) {
    std::vector<float>& v = values_[p];
    uint8_t* in = inside_[p].data();
    if (k < 0 || k >= field_.dims[2]) {  // the padding planes
      std::fill(v.begin(), v.end(), std::numeric_limits<float>::quiet_NaN());
      for (int64_t j = 0; j < h_; ++j) std::fill_n(in + (j + 1) * nx_ + 1, w_, 0);
      std::fill(extent_[p].begin(), extent_[p].end(), Extent{});
      return Status::Ok();
    }
    RETURN_IF_ERROR(field_.slice(k, v));
    const float t = float(threshold_);
    for (int64_t j = 0; j < h_; ++j) {
      const float* src = v.data() + j * w_;
      uint8_t* dst = in + (j + 1) * nx_ + 1;
      ThresholdRow(src, w_, t, dst);
      Extent& e = extent_[p][size_t(j + 1)];
      e = Extent{};
      if (const void* first = std::memchr(dst, 1, size_t(w_))) {
        e.lo = int64_t(static_cast<const uint8_t*>(first) - dst) + 1;
        e.hi = int64_t(static_cast<const uint8_t*>(memrchr(dst, 1, size_t(w_))) - dst) + 1;
      }
    }
    return Status::Ok();
  }

  // The value at padded cell (I, J) of plane p; NaN on the padding ring.
  float Value(int p, int64_t I, int64_t J) const {
    if (I < 1 || J < 1 || I > w_ || J > h_) return std::numeric_limits<float>::quiet_NaN();
    return values_[p][size_t((J - 1) * w_ + I - 1)];
  }

  uint32_t AddVertex(double i, double j, double k, bool ghost, SlabResult& out) {
    if (ghost) return kGhost | out.ghost_count++;
    const auto p = ApplyAffine(field_.ijk_to_lps, i, j, k);
    out.vertices.push_back({float(p[0]), float(p[1]), float(p[2])});
    return uint32_t(out.vertices.size() - 1);
  }

  // Where along an edge from value a to value b the threshold is crossed.
  double EdgeT(float a, float b) const {
    if (std::isnan(a) || std::isnan(b)) return 0.5;  // padding: the voxel's own extent
    const double t = (threshold_ - a) / (double(b) - a);
    return std::clamp(t, kEdgeEps, 1 - kEdgeEps);
  }

  // Edge ids are written only where an edge changes sign, and read only by
  // cube cases that cross that edge, so the id arrays need no clearing.
  // Most of a CT is far from the surface: rows are trimmed to the span of
  // their inside voxels (as flying edges does), and within it eight cells
  // at a time are skipped when a word compare shows no change.
  void PlaneVertices(int64_t k, int p, bool ghost, SlabResult& out) {
    const uint8_t* in = inside_[p].data();
    const std::vector<Extent>& ext = extent_[p];
    for (int64_t J = 0; J + 1 < ny_; ++J) {  // the last row is padding: no edges
      // x edges of row J lie in [lo - 1, hi]; y edges to row J + 1 in the union.
      const int64_t lo = std::max<int64_t>(0, std::min(ext[J].lo - 1, ext[J + 1].lo));
      const int64_t hi = std::max(ext[J].hi, ext[J + 1].hi);
      for (int64_t I0 = lo; I0 <= hi; I0 += 8) {
        const int64_t c0 = J * nx_ + I0;
        const uint64_t word = Word(in + c0);
        if (word == Word(in + c0 + 1) && word == Word(in + c0 + nx_)) continue;
        for (int64_t I = I0; I < std::min(I0 + 8, hi + 1); ++I) {
          const int64_t c = J * nx_ + I;
          if (in[c] != in[c + 1]) {
            const double t = EdgeT(Value(p, I, J), Value(p, I + 1, J));
            xid_[p][c] = AddVertex(double(I - 1) + t, double(J - 1), double(k), ghost, out);
          }
          if (in[c] != in[c + nx_]) {
            const double t = EdgeT(Value(p, I, J), Value(p, I, J + 1));
            yid_[p][c] = AddVertex(double(I - 1), double(J - 1) + t, double(k), ghost, out);
          }
        }
      }
    }
  }

  void ZVertices(int64_t layer, SlabResult& out) {
    const uint8_t* b = inside_[0].data();
    const uint8_t* t = inside_[1].data();
    for (int64_t J = 1; J + 1 < ny_; ++J) {
      const int64_t lo = std::min(extent_[0][J].lo, extent_[1][J].lo);
      const int64_t hi = std::max(extent_[0][J].hi, extent_[1][J].hi);
      for (int64_t c0 = J * nx_ + lo; c0 <= J * nx_ + hi; c0 += 8) {
        if (Word(b + c0) == Word(t + c0)) continue;
        for (int64_t c = c0; c < std::min(c0 + 8, J * nx_ + hi + 1); ++c) {
          if (b[c] == t[c]) continue;
          const int64_t I = c - J * nx_;
          const double e = EdgeT(Value(0, I, J), Value(1, I, J));
          zid_[c] = AddVertex(double(I - 1), double(J - 1), double(layer) + e, false, out);
        }
      }
    }
  }

  uint32_t EdgeId(int e, int64_t cell) const {
    const EdgeSlot& s = slots_[e];
    const int64_t c = cell + s.dx + s.dy * nx_;
    return s.kind == 0 ? xid_[s.plane][c] : s.kind == 1 ? yid_[s.plane][c] : zid_[c];
  }

  void Cubes(int64_t layer, SlabResult& out) {
    const internal::CubeTable& table = internal::GetCubeTable();
    const uint8_t* b = inside_[0].data();
    const uint8_t* t = inside_[1].data();
    const int64_t nx = nx_;
    for (int64_t J = 0; J + 1 < ny_; ++J) {
      // Cubes touching an inside corner of the four rows: [lo - 1, hi].
      const Extent* e[4] = {&extent_[0][J], &extent_[0][J + 1], &extent_[1][J], &extent_[1][J + 1]};
      int64_t lo = e[0]->lo, hi = e[0]->hi;
      for (const Extent* x : e) lo = std::min(lo, x->lo), hi = std::max(hi, x->hi);
      hi = std::min(hi, nx_ - 2);
      for (int64_t I0 = std::max<int64_t>(0, lo - 1); I0 <= hi; I0 += 8) {
        const int64_t c0 = J * nx + I0;
        // Eight cubes whose 8 corners all agree (the words chain, so one
        // value throughout) hold no surface.
        const uint64_t w = Word(b + c0);
        if (((w ^ Word(b + c0 + 1)) | (w ^ Word(b + c0 + nx)) | (w ^ Word(b + c0 + nx + 1)) |
             (w ^ Word(t + c0)) | (w ^ Word(t + c0 + 1)) | (w ^ Word(t + c0 + nx)) |
             (w ^ Word(t + c0 + nx + 1))) == 0) {
          continue;
        }
        for (int64_t I = I0; I < std::min(I0 + 8, hi + 1); ++I) CubeAt(I, J, layer, table, out);
      }
    }
  }

  void CubeAt(int64_t I, int64_t J, int64_t layer, const internal::CubeTable& table,
              SlabResult& out) {
    const int64_t c = J * nx_ + I;
    const uint8_t* b = inside_[0].data();
    const uint8_t* t = inside_[1].data();
    const int64_t nx = nx_;
    const int mask = b[c] | b[c + 1] << 1 | b[c + nx] << 2 | b[c + nx + 1] << 3 | t[c] << 4 |
                     t[c + 1] << 5 | t[c + nx] << 6 | t[c + nx + 1] << 7;
    if (mask == 0 || mask == 255) return;
    const int bits = FaceBits(table.ambiguous_faces[mask], I, J);
    const internal::CubeCase& cc = table.cases[mask | bits << 8];
    uint32_t centres[4];
    for (int n = 0; n < cc.centre_count; ++n) {
      centres[n] = CentreVertex(cc.centre_edges[n], I, J, layer, out);
    }
    for (int tri = 0; tri < cc.triangle_count; ++tri) {
      const uint8_t* e = &cc.edges[3 * tri];
      Triangle tr;
      for (int v = 0; v < 3; ++v) {
        tr[v] = e[v] < internal::kCentre ? EdgeId(e[v], c) : centres[e[v] - internal::kCentre];
      }
      if (flip_) std::swap(tr[1], tr[2]);
      out.triangles.push_back(tr);
    }
  }

  // A vertex at the mean of the crossing points on the cube edges in
  // `edges` (bit e), for a loop the case table fans around its centre. It
  // belongs to this cube alone, so it is never a ghost.
  uint32_t CentreVertex(uint16_t edges, int64_t I, int64_t J, int64_t layer, SlabResult& out) {
    double sum[3] = {0, 0, 0};
    int count = 0;
    for (int e = 0; e < 12; ++e) {
      if (!((edges >> e) & 1)) continue;
      const auto [c0, c1] = internal::EdgeCorners(e);
      const int axis = e / 4;
      const float a = Value(c0 >> 2, I + (c0 & 1), J + ((c0 >> 1) & 1));
      const float b = Value(c1 >> 2, I + (c1 & 1), J + ((c1 >> 1) & 1));
      double p[3] = {double(I - 1 + (c0 & 1)), double(J - 1 + ((c0 >> 1) & 1)),
                     double(layer + (c0 >> 2))};
      p[axis] += EdgeT(a, b);
      for (int k = 0; k < 3; ++k) sum[k] += p[k];
      ++count;
    }
    return AddVertex(sum[0] / count, sum[1] / count, sum[2] / count, false, out);
  }

  // Ambiguous faces: connected when the face-centre average reaches the
  // threshold. Both cubes of a face sum the same corners in the same order.
  int FaceBits(uint8_t ambiguous, int64_t I, int64_t J) const {
    int bits = 0;
    for (int f = 0; f < 6; ++f) {
      if (!((ambiguous >> f) & 1)) continue;
      float sum = 0;
      for (uint8_t corner : internal::FaceCorners(f)) {
        const int x = corner & 1, y = (corner >> 1) & 1, z = (corner >> 2) & 1;
        sum += Value(z, I + x, J + y);
      }
      if (sum >= 4 * float(threshold_)) bits |= 1 << f;
    }
    return bits;
  }

  const ScalarField& field_;
  const double threshold_;
  const bool flip_;
  const int64_t nx_, ny_;  // padded plane size
  const int64_t w_, h_;  // the field's plane size
  std::vector<float> values_[2];
  std::vector<uint8_t> inside_[2];
  std::vector<Extent> extent_[2];  // per padded row
  size_t last_vertices_ = 0, last_triangles_ = 0;
  std::vector<uint32_t> xid_[2], yid_[2], zid_;
  std::array<EdgeSlot, 12> slots_ = [] {
    std::array<EdgeSlot, 12> s{};
    for (int e = 0; e < 12; ++e) s[e] = SlotOf(e);
    return s;
  }();
};

double Determinant3(const Affine& m) {
  return m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8]) +
         m[2] * (m[4] * m[9] - m[5] * m[8]);
}

TriangleMesh Merge(std::vector<SlabResult>& slabs) {
  TriangleMesh mesh;
  std::vector<uint32_t> offset(slabs.size() + 1, 0);
  size_t triangles = 0;
  for (size_t s = 0; s < slabs.size(); ++s) {
    offset[s + 1] = offset[s] + uint32_t(slabs[s].vertices.size());
    triangles += slabs[s].triangles.size();
    if (s + 1 < slabs.size()) {
      CHECK(slabs[s].ghost_count == slabs[s + 1].boundary_count)
          << "slab " << s << ": " << slabs[s].ghost_count << " ghosts vs "
          << slabs[s + 1].boundary_count;
    }
  }
  mesh.vertices.reserve(offset.back());
  mesh.triangles.reserve(triangles);
  for (size_t s = 0; s < slabs.size(); ++s) {
    SlabResult& r = slabs[s];
    mesh.vertices.insert(mesh.vertices.end(), r.vertices.begin(), r.vertices.end());
    for (Triangle t : r.triangles) {
      for (uint32_t& v : t) v = (v & kGhost) ? offset[s + 1] + (v & ~kGhost) : offset[s] + v;
      mesh.triangles.push_back(t);
    }
    r = SlabResult();  // release as we go: peak stays near one copy of the mesh
  }
  return mesh;
}

}  // namespace

std::array<double, 3> ApplyAffine(const Affine& m, double i, double j, double k) {
  return {m[0] * i + m[1] * j + m[2] * k + m[3], m[4] * i + m[5] * j + m[6] * k + m[7],
          m[8] * i + m[9] * j + m[10] * k + m[11]};
}

Result<TriangleMesh> ExtractIsosurface(const ScalarField& field, const IsosurfaceOptions& options) {
  const auto& d = field.dims;
  if (d[0] <= 0 || d[1] <= 0 || d[2] <= 0) {
    return Status::InvalidArgument("isosurface: empty volume");
  }
  if (d[0] * d[1] > (int64_t{1} << 28) || d[2] > (int64_t{1} << 24)) {
    return Status::InvalidArgument("isosurface: volume too large");
  }
  if (!field.slice) return Status::InvalidArgument("isosurface: no slice source");
  const double det = Determinant3(field.ijk_to_lps);
  if (!std::isfinite(det) || std::abs(det) < 1e-12) {
    return Status::InvalidArgument("isosurface: singular voxel-to-patient matrix");
  }
  // Cube layers -1 .. d[2]-1 (padding on both ends), split into slabs.
  const int64_t layers = d[2] + 1;
  const int64_t per_slab = std::max<int64_t>(1, options.slab_slices);
  const int64_t slab_count = (layers + per_slab - 1) / per_slab;
  std::vector<SlabResult> slabs(static_cast<size_t>(slab_count));
  int threads = options.threads > 0 ? options.threads : int(std::thread::hardware_concurrency());
  threads = int(std::clamp<int64_t>(threads, 1, slab_count));

  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  Status error;
  auto work = [&] {
    SlabWorker worker(field, options.threshold, det < 0);
    for (int64_t s; !failed && (s = next++) < slab_count;) {
      const int64_t c0 = -1 + s * per_slab;
      const int64_t c1 = std::min(c0 + per_slab, d[2]);
      Status st = worker.Run(c0, c1, slabs[size_t(s)]);
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!failed.exchange(true)) error = st;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (failed) return error;
  const uint64_t vertices = [&] {
    uint64_t n = 0;
    for (const SlabResult& r : slabs) n += r.vertices.size();
    return n;
  }();
  if (vertices >= kGhost) return Status::Unsupported("isosurface: more than 2^31 vertices");
  return Merge(slabs);
}

ScalarField DenseField(std::span<const float> values, std::array<int64_t, 3> dims,
                       const Affine& ijk_to_lps) {
  ScalarField f;
  f.dims = dims;
  f.ijk_to_lps = ijk_to_lps;
  f.slice = [values, dims](int64_t k, std::span<float> out) -> Status {
    const size_t n = size_t(dims[0] * dims[1]);
    if (out.size() != n || values.size() < n * size_t(k + 1)) {
      return Status::InvalidArgument("dense field: slice out of range");
    }
    std::copy_n(values.begin() + n * size_t(k), n, out.begin());
    return Status::Ok();
  };
  return f;
}

}  // namespace dcmfs::mesh
