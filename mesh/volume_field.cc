#include "mesh/volume_field.h"

#include <cstring>
#include <type_traits>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace dcmfs::mesh {
namespace {

// int16 -> float, 8 at a time: GCC -O2 leaves the plain loop scalar, and
// int16 without rescale is what CT series in HU are.
size_t Int16ToFloat(const uint8_t* in, std::span<float> out) {
  size_t i = 0;
#ifdef __SSE2__
  for (; i + 8 <= out.size(); i += 8) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 2 * i));
    const __m128i lo = _mm_srai_epi32(_mm_unpacklo_epi16(v, v), 16);  // sign-extended
    const __m128i hi = _mm_srai_epi32(_mm_unpackhi_epi16(v, v), 16);
    _mm_storeu_ps(out.data() + i, _mm_cvtepi32_ps(lo));
    _mm_storeu_ps(out.data() + i + 4, _mm_cvtepi32_ps(hi));
  }
#endif
  return i;
}

template <typename T>
void ToFloat(const std::vector<uint8_t>& in, double slope, double inter, std::span<float> out) {
  if (slope == 1 && inter == 0) {  // the usual case (CT in HU): a plain conversion
    size_t i = std::is_same_v<T, int16_t> ? Int16ToFloat(in.data(), out) : 0;
    for (; i < out.size(); ++i) {
      T v;
      std::memcpy(&v, in.data() + i * sizeof(T), sizeof(T));
      out[i] = float(v);
    }
    return;
  }
  for (size_t i = 0; i < out.size(); ++i) {
    T v;
    std::memcpy(&v, in.data() + i * sizeof(T), sizeof(T));
    out[i] = float(double(v) * slope + inter);
  }
}

}  // namespace

Affine LpsAffineOf(const VolumePlan& plan) {
  Affine m{};
  for (int r = 0; r < 3; ++r) {
    const double sign = r < 2 ? -1.0 : 1.0;  // RAS -> LPS: negate x and y
    for (int c = 0; c < 4; ++c) m[r * 4 + c] = sign * plan.affine[r][c];
  }
  m[15] = 1;
  return m;
}

Result<ScalarField> VolumeField(std::shared_ptr<const VolumeReader> reader, uint32_t t) {
  const VolumePlan& plan = reader->plan();
  if (plan.samples != 1) return Status::Unsupported("isosurface of a colour volume");
  if (t >= plan.nt) return Status::InvalidArgument("isosurface: no such time point");
  ScalarField field;
  field.dims = {int64_t(plan.nx), int64_t(plan.ny), int64_t(plan.nz)};
  field.ijk_to_lps = LpsAffineOf(plan);
  // NIfTI: scl_slope 0 means "no scaling"; float voxels already hold the
  // rescaled values (apply_rescale).
  double slope = plan.apply_rescale ? 1.0 : plan.scl_slope;
  const double inter = plan.apply_rescale ? 0.0 : plan.scl_inter;
  if (slope == 0) slope = 1.0;
  const SampleType type = plan.voxel_type;
  field.slice = [reader, t, slope, inter, type](int64_t k, std::span<float> out) -> Status {
    ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, reader->Slice(uint32_t(k), t));
    if (bytes.size() != out.size() * SampleBytes(type)) {
      return Status::DataLoss("volume slice " + std::to_string(k) + " has the wrong size");
    }
    switch (type) {
      case SampleType::kUint8: ToFloat<uint8_t>(bytes, slope, inter, out); break;
      case SampleType::kInt8: ToFloat<int8_t>(bytes, slope, inter, out); break;
      case SampleType::kUint16: ToFloat<uint16_t>(bytes, slope, inter, out); break;
      case SampleType::kInt16: ToFloat<int16_t>(bytes, slope, inter, out); break;
      case SampleType::kUint32: ToFloat<uint32_t>(bytes, slope, inter, out); break;
      case SampleType::kInt32: ToFloat<int32_t>(bytes, slope, inter, out); break;
      case SampleType::kFloat32: ToFloat<float>(bytes, slope, inter, out); break;
    }
    return Status::Ok();
  };
  return field;
}

}  // namespace dcmfs::mesh
