#include "mesh/stl.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

namespace dcmfs::mesh {
namespace {

static_assert(std::endian::native == std::endian::little, "STL writer assumes little-endian");

constexpr size_t kHeaderBytes = 84;
constexpr size_t kRecordBytes = 50;

char* PutFloats(char* p, const float* v, int n) {
  std::memcpy(p, v, sizeof(float) * n);
  return p + sizeof(float) * n;
}

void Header(const TriangleMesh& mesh, char* p) {
  static constexpr char kHeader[] = "binary STL, DICOM patient LPS mm";
  std::memset(p, ' ', 80);
  std::memcpy(p, kHeader, sizeof(kHeader) - 1);
  const uint64_t n = mesh.triangles.size();
  const uint32_t count = n > UINT32_MAX ? UINT32_MAX : uint32_t(n);
  std::memcpy(p + 80, &count, 4);
}

// The 50-byte record of triangle t: normal, three vertices, attribute 0.
void Record(const TriangleMesh& mesh, const Triangle& t, char* p) {
  const Vec3f& a = mesh.vertices[t[0]];
  const Vec3f& b = mesh.vertices[t[1]];
  const Vec3f& c = mesh.vertices[t[2]];
  const double u[3] = {double(b[0]) - a[0], double(b[1]) - a[1], double(b[2]) - a[2]};
  const double v[3] = {double(c[0]) - a[0], double(c[1]) - a[1], double(c[2]) - a[2]};
  const double nrm[3] = {u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2],
                         u[0] * v[1] - u[1] * v[0]};
  const double len = std::sqrt(nrm[0] * nrm[0] + nrm[1] * nrm[1] + nrm[2] * nrm[2]);
  const float normal[3] = {len > 0 ? float(nrm[0] / len) : 0.f,
                           len > 0 ? float(nrm[1] / len) : 0.f,
                           len > 0 ? float(nrm[2] / len) : 0.f};
  p = PutFloats(p, normal, 3);
  p = PutFloats(p, a.data(), 3);
  p = PutFloats(p, b.data(), 3);
  p = PutFloats(p, c.data(), 3);
  std::memset(p, 0, 2);  // attribute byte count
}

}  // namespace

size_t ReadBinaryStl(const TriangleMesh& mesh, uint64_t offset, std::span<uint8_t> out) {
  const uint64_t size = BinaryStlSize(mesh.triangles.size());
  if (offset >= size) return 0;
  const size_t want = size_t(std::min<uint64_t>(out.size(), size - offset));
  char* dst = reinterpret_cast<char*>(out.data());
  size_t done = 0;
  char record[kHeaderBytes];  // big enough for the header and for one record
  if (offset < kHeaderBytes) {
    Header(mesh, record);
    done = std::min<size_t>(want, kHeaderBytes - offset);
    std::memcpy(dst, record + offset, done);
  }
  while (done < want) {
    const uint64_t pos = offset + done - kHeaderBytes;
    const uint64_t tri = pos / kRecordBytes, in = pos % kRecordBytes;
    const size_t n = std::min<size_t>(want - done, kRecordBytes - in);
    if (in == 0 && n == kRecordBytes) {
      Record(mesh, mesh.triangles[tri], dst + done);  // whole records straight out
    } else {
      Record(mesh, mesh.triangles[tri], record);
      std::memcpy(dst + done, record + in, n);
    }
    done += n;
  }
  return done;
}

std::string WriteBinaryStl(const TriangleMesh& mesh) {
  std::string out(BinaryStlSize(mesh.triangles.size()), '\0');
  ReadBinaryStl(mesh, 0, {reinterpret_cast<uint8_t*>(out.data()), out.size()});
  return out;
}

}  // namespace dcmfs::mesh
