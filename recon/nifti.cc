// NIfTI-1 header writer. Field offsets are those of nifti1.h's
// struct nifti_1_header (348 bytes, packed, little endian here).
#include "recon/nifti.h"

#include <cmath>
#include <cstring>

#include "recon/internal/geometry.h"

namespace dcmfs {
namespace {

namespace ri = recon_internal;

template <typename T>
void Put(std::string& h, size_t offset, T value) {
  std::memcpy(h.data() + offset, &value, sizeof(T));
}

int16_t DatatypeCode(const VolumePlan& v) {
  if (v.samples == 3) return 128;  // DT_RGB24
  switch (v.voxel_type) {
    case SampleType::kUint8: return 2;
    case SampleType::kInt8: return 256;
    case SampleType::kInt16: return 4;
    case SampleType::kUint16: return 512;
    case SampleType::kInt32: return 8;
    case SampleType::kUint32: return 768;
    case SampleType::kFloat32: return 16;
  }
  return 0;
}

// nifti1_io.c nifti_mat44_to_quatern, after orthonormalising the columns
// (Gram-Schmidt; a sheared tilt affine has no exact quaternion form).
void PutQform(std::string& h, const VolumePlan& v) {
  ri::Vec3 c[3];
  for (int k = 0; k < 3; ++k) c[k] = {v.affine[0][k], v.affine[1][k], v.affine[2][k]};
  const double det = ri::Dot(ri::Cross(c[0], c[1]), c[2]);
  ri::Vec3 x = ri::Normalized(c[0]);
  ri::Vec3 y = ri::Normalized(ri::Sub(c[1], ri::Scale(x, ri::Dot(c[1], x))));
  ri::Vec3 z = ri::Cross(x, y);  // right-handed; qfac carries the handedness
  const float qfac = det < 0 ? -1.0f : 1.0f;
  const double r11 = x[0], r12 = y[0], r13 = z[0];
  const double r21 = x[1], r22 = y[1], r23 = z[1];
  const double r31 = x[2], r32 = y[2], r33 = z[2];
  double a = r11 + r22 + r33 + 1.0, b, c2, d;
  if (a > 0.5) {
    a = 0.5 * std::sqrt(a);
    b = 0.25 * (r32 - r23) / a;
    c2 = 0.25 * (r13 - r31) / a;
    d = 0.25 * (r21 - r12) / a;
  } else {
    const double xd = 1.0 + r11 - (r22 + r33), yd = 1.0 + r22 - (r11 + r33);
    const double zd = 1.0 + r33 - (r11 + r22);
    if (xd > 1.0) {
      b = 0.5 * std::sqrt(xd);
      c2 = 0.25 * (r12 + r21) / b;
      d = 0.25 * (r13 + r31) / b;
      a = 0.25 * (r32 - r23) / b;
    } else if (yd > 1.0) {
      c2 = 0.5 * std::sqrt(yd);
      b = 0.25 * (r12 + r21) / c2;
      d = 0.25 * (r23 + r32) / c2;
      a = 0.25 * (r13 - r31) / c2;
    } else {
      d = 0.5 * std::sqrt(zd);
      b = 0.25 * (r13 + r31) / d;
      c2 = 0.25 * (r23 + r32) / d;
      a = 0.25 * (r21 - r12) / d;
    }
    if (a < 0.0) b = -b, c2 = -c2, d = -d;
  }
  Put<float>(h, 76, qfac);
  Put<float>(h, 256, static_cast<float>(b));
  Put<float>(h, 260, static_cast<float>(c2));
  Put<float>(h, 264, static_cast<float>(d));
  for (int a2 = 0; a2 < 3; ++a2) Put<float>(h, 268 + 4 * a2, static_cast<float>(v.affine[a2][3]));
}

}  // namespace

uint64_t NiftiSliceBytes(const VolumePlan& v) { return uint64_t{v.nx} * v.ny * VoxelBytes(v); }

uint64_t NiftiFileSize(const VolumePlan& v) {
  return kNiftiHeaderBytes + NiftiSliceBytes(v) * v.nz * v.nt;
}

std::string NiftiHeader(const VolumePlan& v) {
  std::string h(kNiftiHeaderBytes, '\0');
  Put<int32_t>(h, 0, 348);
  h[38] = 'r';
  const int16_t dims[8] = {static_cast<int16_t>(v.nt > 1 ? 4 : 3), static_cast<int16_t>(v.nx),
                           static_cast<int16_t>(v.ny), static_cast<int16_t>(v.nz),
                           static_cast<int16_t>(v.nt), 1, 1, 1};
  for (int i = 0; i < 8; ++i) Put<int16_t>(h, 40 + 2 * i, dims[i]);
  Put<int16_t>(h, 70, DatatypeCode(v));
  Put<int16_t>(h, 72, static_cast<int16_t>(VoxelBytes(v) * 8));
  for (int i = 0; i < 4; ++i) Put<float>(h, 80 + 4 * i, static_cast<float>(v.pixdim[i]));
  Put<float>(h, 108, static_cast<float>(kNiftiHeaderBytes));
  Put<float>(h, 112, v.apply_rescale ? 1.0f : static_cast<float>(v.scl_slope));
  Put<float>(h, 116, v.apply_rescale ? 0.0f : static_cast<float>(v.scl_inter));
  h[123] = 10;  // NIFTI_UNITS_MM | NIFTI_UNITS_SEC
  std::memcpy(h.data() + 148, "dcmfs", 5);
  Put<int16_t>(h, 252, 1);  // qform_code NIFTI_XFORM_SCANNER_ANAT
  Put<int16_t>(h, 254, 1);  // sform_code
  PutQform(h, v);
  for (int row = 0; row < 3; ++row) {
    for (int col = 0; col < 4; ++col) {
      Put<float>(h, 280 + 16 * row + 4 * col, static_cast<float>(v.affine[row][col]));
    }
  }
  std::memcpy(h.data() + 344, "n+1\0", 4);
  return h;  // bytes 348..351: extension flag 0 (none)
}

}  // namespace dcmfs
