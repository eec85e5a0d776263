#include "mesh/stl.h"

#include <bit>
#include <cmath>
#include <cstring>

namespace dcmfs::mesh {
namespace {

static_assert(std::endian::native == std::endian::little, "STL writer assumes little-endian");

char* PutFloats(char* p, const float* v, int n) {
  std::memcpy(p, v, sizeof(float) * n);
  return p + sizeof(float) * n;
}

}  // namespace

std::string WriteBinaryStl(const TriangleMesh& mesh) {
  const uint64_t n = mesh.triangles.size();
  std::string out(BinaryStlSize(n), '\0');
  char* p = out.data();
  static constexpr char kHeader[] = "binary STL, DICOM patient LPS mm";
  std::memset(p, ' ', 80);
  std::memcpy(p, kHeader, sizeof(kHeader) - 1);
  p += 80;
  const uint32_t count = n > UINT32_MAX ? UINT32_MAX : uint32_t(n);
  std::memcpy(p, &count, 4);
  p += 4;
  for (const Triangle& t : mesh.triangles) {
    const Vec3f& a = mesh.vertices[t[0]];
    const Vec3f& b = mesh.vertices[t[1]];
    const Vec3f& c = mesh.vertices[t[2]];
    const double u[3] = {double(b[0]) - a[0], double(b[1]) - a[1], double(b[2]) - a[2]};
    const double v[3] = {double(c[0]) - a[0], double(c[1]) - a[1], double(c[2]) - a[2]};
    double nrm[3] = {u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2],
                     u[0] * v[1] - u[1] * v[0]};
    const double len = std::sqrt(nrm[0] * nrm[0] + nrm[1] * nrm[1] + nrm[2] * nrm[2]);
    const float normal[3] = {len > 0 ? float(nrm[0] / len) : 0.f,
                             len > 0 ? float(nrm[1] / len) : 0.f,
                             len > 0 ? float(nrm[2] / len) : 0.f};
    p = PutFloats(p, normal, 3);
    p = PutFloats(p, a.data(), 3);
    p = PutFloats(p, b.data(), 3);
    p = PutFloats(p, c.data(), 3);
    p += 2;  // attribute byte count: 0
  }
  return out;
}

}  // namespace dcmfs::mesh
