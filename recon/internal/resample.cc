// PlanResampled and ResampleSlice: see resample.h for what dcm2niix does
// and where we differ. Arithmetic that decides voxel values is float, as in
// dcm2niix, so that interpolated values round the same way.
#include "recon/internal/resample.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <type_traits>

namespace dcmfs::recon_internal {
namespace {

constexpr double kSliceTolerance = 0.2;  // mm: dcm2niix's kSliceTolerance for "spacing varies"
constexpr double kParallel = 1e-4;       // dcm2niix's isSameFloatGE on the stack/normal cosine

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

bool TiltApplies(const VolumePlan& v) {
  return v.samples == 1 &&
         (v.voxel_type == SampleType::kInt16 || v.voxel_type == SampleType::kFloat32);
}

bool EqApplies(const VolumePlan& v) {
  return v.samples == 3 || v.voxel_type == SampleType::kInt16 ||
         v.voxel_type == SampleType::kFloat32 || v.voxel_type == SampleType::kUint8;
}

// dcm2niix's nii_saveNII3Deq slice placement over distances `mm` from the
// first slice: written slice s sits at s * spacing, between the source
// slices that bracket it. Empty when fewer than 3 slices would result.
std::vector<Resampling::Step> EqualSteps(const std::vector<float>& mm, float* spacing) {
  const size_t n = mm.size();
  float mn = mm[1] - mm[0];
  for (size_t i = 1; i < n; ++i) {
    const float dx = mm[i] - mm[i - 1];
    if (dx < mn && std::abs(dx) > 1e-6f) mn = dx;
  }
  if (mn <= 0) return {};
  size_t slices = static_cast<size_t>(std::ceil((mm[n - 1] - 0.5f * (mm[n - 1] - mm[n - 2])) / mn));
  if (slices > 2 * n) {  // dcm2niix caps the growth at twice the slices
    slices = 2 * n;
    mn = mm[n - 1] / static_cast<float>(slices - 1);
  }
  if (slices < 3) return {};
  std::vector<Resampling::Step> steps;
  for (size_t s = 0; s < slices; ++s) {
    const float x = static_cast<float>(s) * mn;
    uint32_t hi = 0;
    while (hi < n - 1 && mm[hi] < x) ++hi;
    const uint32_t lo = hi > 0 ? hi - 1 : 0;
    if (mm[hi] == mm[lo] || x > mm[hi]) {
      steps.push_back({hi, hi, 0.0f});  // a copy of the upper slice
    } else {
      steps.push_back({lo, hi, (x - mm[lo]) / (mm[hi] - mm[lo])});
    }
  }
  *spacing = mn;
  return steps;
}

}  // namespace

namespace {

// dcm2niix's float arithmetic, step for step (nii_dicom_batch.cpp:
// computeGantryTiltPrecise, intersliceDistance, nii_saveNII3Dtilt): its tilt
// and slice distances set every interpolation weight, and a weight that
// differs in its last bit rounds some voxels the other way.
using Vec3f = std::array<float, 3>;
Vec3f ToFloat(const Vec3& v) {
  return {static_cast<float>(v[0]), static_cast<float>(v[1]), static_cast<float>(v[2])};
}
Vec3f SubF(const Vec3f& a, const Vec3f& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
float DotF(const Vec3f& a, const Vec3f& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
float LengthF(const Vec3f& v) { return std::sqrt(DotF(v, v)); }
// The sign that makes the largest-magnitude component positive (dcm2niix's
// makePositive: neither the slice order nor the cross product's sign counts).
Vec3f MakePositive(Vec3f v) {
  float m = v[0];
  if (std::abs(v[1]) > std::abs(m)) m = v[1];
  if (std::abs(v[2]) > std::abs(m)) m = v[2];
  if (m < 0) v = {-v[0], -v[1], -v[2]};
  return v;
}

// Angle (degrees, unsigned) between the stack (first to last slice) and the
// slice normal; 0 when they are parallel within dcm2niix's tolerance.
float StackTiltDegrees(const Vec3f& stack, const std::array<double, 6>& iop) {
  const float len = LengthF(stack);
  const Vec3f r = ToFloat({iop[0], iop[1], iop[2]}), c = ToFloat({iop[3], iop[4], iop[5]});
  const Vec3f n = MakePositive({r[1] * c[2] - c[1] * r[2], c[0] * r[2] - r[0] * c[2],
                                r[0] * c[1] - c[0] * r[1]});
  const float len90 = LengthF(n);
  if (len == 0 || len90 == 0) return 0;
  const float cos_x = DotF(n, MakePositive(stack)) / (len * len90);
  if (std::abs(cos_x - 1.0f) <= static_cast<float>(kParallel)) return 0;
  return static_cast<float>(std::acos(cos_x) * (180.0 / M_PI));
}

// dcm2niix's intersliceDistance: Euclidean, times cos(tilt) for tilted CT.
float SliceDistance(const Vec3f& a, const Vec3f& b, float tilt) {
  const float cos_tilt = tilt != 0 ? static_cast<float>(std::cos(tilt * M_PI / 180)) : 1.0f;
  return cos_tilt * LengthF(SubF(a, b));
}

// The stack of slices as dcm2niix measures it: tilt (degrees, unsigned; 0
// unless checked), distances from the first slice and whether gaps vary.
struct StackShape {
  float tilt = 0;
  std::vector<float> mm;
  bool uneven = false;
};

StackShape MeasureStack(const std::vector<Candidate>& cands, const std::vector<uint32_t>& order,
                        bool tilt_checked) {
  const size_t n = order.size();
  std::vector<Vec3f> p;
  for (uint32_t i : order) p.push_back(ToFloat(cands[i].position));
  StackShape out;
  if (tilt_checked) out.tilt = StackTiltDegrees(SubF(p[n - 1], p[0]), cands[order[0]].orientation);
  out.mm.assign(n, 0.0f);
  const float dx = SliceDistance(p[0], p[1], out.tilt);
  for (size_t k = 1; k < n; ++k) {
    out.mm[k] = SliceDistance(p[0], p[k], out.tilt);
    out.uneven = out.uneven || std::abs(dx - SliceDistance(p[k - 1], p[k], out.tilt)) >
                                   static_cast<float>(kSliceTolerance);
  }
  // Evenly spaced, dcm2niix places slice k at k times the first gap.
  if (!out.uneven) {
    for (size_t k = 1; k < n; ++k) out.mm[k] = static_cast<float>(k) * dx;
  }
  return out;
}

// Fills rs->row_shift, each slice's shift (written rows, NIfTI order) that
// stacks the slices straight, as dcm2niix's nii_saveNII3Dtilt computes it:
// tan(tilt) / row spacing times the slice's distance, the shifts starting at
// 0 (the far end is padded). Which end shifts most comes from the slices'
// positions: the last slice's corner lies up or down the column direction
// from the first's. Returns the first slice's shift: the written origin
// moves back by that many rows along j. (dcm2niix moves it by the ceiling
// of it, along the transposed row of its sform: srow_y, not column j; see
// resample.h.)
double PlanRowShifts(const std::vector<Candidate>& cands, const std::vector<uint32_t>& order,
                     const StackShape& stack, Resampling* rs) {
  const Candidate& c0 = cands[order[0]];
  const float px = static_cast<float>(
      std::tan(stack.tilt / (180 / M_PI)) / static_cast<float>(c0.row_spacing));
  const Vec3 col{c0.orientation[3], c0.orientation[4], c0.orientation[5]};
  // NIfTI rows run against DICOM rows: a last slice further down the
  // column direction needs its rows moved up, the first slice most.
  const bool first_most = Dot(Sub(cands[order.back()].position, c0.position), col) > 0;
  const float last = stack.mm.back();
  for (float mm : stack.mm) rs->row_shift.push_back(first_most ? px * (last - mm) : px * mm);
  return rs->row_shift.front();
}

}  // namespace

std::optional<VolumePlan> PlanResampled(const VolumePlan& acquired,
                                        const std::vector<Candidate>& cands,
                                        const std::vector<uint32_t>& order,
                                        const ResampleInputs& in, std::vector<std::string>* notes) {
  const uint32_t n = acquired.nz;
  if (acquired.nt != 1 || n < 3 || order.size() != n || acquired.mosaic_cols != 0) return std::nullopt;
  const Candidate& c0 = cands[order[0]];
  if (!c0.has_geometry) return std::nullopt;
  const Vec3 r{c0.orientation[0], c0.orientation[1], c0.orientation[2]};
  const Vec3 col{c0.orientation[3], c0.orientation[4], c0.orientation[5]};
  const Vec3 normal = Normalized(Cross(r, col));
  const StackShape stack =
      MeasureStack(cands, order, in.modality == "CT" || in.tag_tilt.value_or(0) > 0);
  const bool do_tilt = stack.tilt != 0 && TiltApplies(acquired);
  const bool do_eq = stack.uneven && EqApplies(acquired);
  if (!do_tilt && !do_eq) return std::nullopt;

  VolumePlan v = acquired;
  Resampling rs;
  rs.source_rows = acquired.ny;
  rs.sources = acquired.slices;
  rs.padding = in.padding;
  double origin_rows = 0;
  if (do_tilt) {
    origin_rows = PlanRowShifts(cands, order, stack, &rs);
    // dcm2niix: ceil(|tan(tilt) / row spacing * last distance|) rows more.
    const float most = *std::max_element(rs.row_shift.begin(), rs.row_shift.end());
    v.ny = acquired.ny + static_cast<uint32_t>(std::ceil(most));
    notes->push_back("resampled as dcm2niix's _Tilt: rows of each slice shifted to undo a gantry tilt of " +
                     Number(stack.tilt) + " degrees (" + std::to_string(v.ny - acquired.ny) +
                     " rows added), linear between rows");
  }
  float eq_spacing = 0;
  if (do_eq) rs.steps = EqualSteps(stack.mm, &eq_spacing);
  const double spacing = rs.steps.empty() ? acquired.pixdim[2] : eq_spacing;
  if (stack.uneven) {
    // dcm2niix saves a tilted, unevenly spaced stack only after _Eq.
    if (rs.steps.empty()) return std::nullopt;
    notes->push_back("resampled as dcm2niix's _Eq: slices linearly interpolated to an equal spacing of " +
                     Number(spacing) + " mm (" + std::to_string(rs.steps.size()) + " slices from " +
                     std::to_string(n) + ")");
  } else {
    for (uint32_t k = 0; k < n; ++k) rs.steps.push_back({k, k, 0.0f});
  }
  v.nz = static_cast<uint32_t>(rs.steps.size());
  v.slices.clear();
  for (const Resampling::Step& s : rs.steps) v.slices.push_back(acquired.slices[s.hi]);
  // The written grid is orthogonal: i and j as acquired, k along the normal.
  const Vec3 n_ras{-normal[0], -normal[1], normal[2]};
  for (int a = 0; a < 3; ++a) {
    v.affine[a][2] = n_ras[a] * spacing;
    v.affine[a][3] = acquired.affine[a][3] - origin_rows * acquired.affine[a][1];
  }
  v.pixdim[2] = spacing;
  // dcm2niix names the file "_Tilt" whenever it found a tilt, even where its
  // tilt step did not apply to the voxel type.
  v.suffix = std::string(stack.tilt != 0 ? "_Tilt" : "") + (stack.uneven ? "_Eq" : "") + "_1";
  v.resampling = std::move(rs);
  return v;
}

namespace {

template <typename T>
T RoundTo(float v) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::round(v);  // dcm2niix rounds float data as well
  } else {
    return static_cast<T>(std::round(v));
  }
}

// One source slice with dcm2niix's tilt correction: written row r reads
// source row r - shift, linear between the two rows, nearest next to
// padding; rows outside the source take `fill`.
template <typename T>
std::vector<T> TiltSlice(const T* src, uint32_t nx, uint32_t src_ny, uint32_t ny, double shift,
                         std::optional<double> padding, T fill) {
  std::vector<T> out(uint64_t{nx} * ny, fill);
  const float off = static_cast<float>(shift);
  const float frac_hi = std::ceil(off) - off;
  const float frac_lo = 1.0f - frac_hi;
  for (uint32_t r = 0; r < ny; ++r) {
    const float ri = static_cast<float>(r) - off;
    if (ri < 0 || ri >= static_cast<float>(src_ny)) continue;
    const uint32_t lo = static_cast<uint32_t>(std::floor(ri));
    const uint32_t hi = std::min(lo + 1, src_ny - 1);
    const T* a = src + uint64_t{lo} * nx;
    const T* b = src + uint64_t{hi} * nx;
    T* o = out.data() + uint64_t{r} * nx;
    for (uint32_t c = 0; c < nx; ++c) {
      if (padding && (a[c] == *padding || b[c] == *padding)) {
        o[c] = frac_hi >= 0.5f ? b[c] : a[c];  // dcm2niix issue 262
      } else {
        o[c] = RoundTo<T>(static_cast<float>(a[c]) * frac_lo + static_cast<float>(b[c]) * frac_hi);
      }
    }
  }
  return out;
}

template <typename T>
Result<std::vector<uint8_t>> PrepareTyped(const VolumePlan& v, uint32_t k,
                                          std::vector<uint8_t> bytes, double fill) {
  const Resampling& rs = *v.resampling;
  const uint32_t width = v.nx * v.samples;  // RGB blends byte by byte, as dcm2niix does
  if (bytes.size() != uint64_t{width} * rs.source_rows * sizeof(T)) {
    return Status::DataLoss("source slice " + std::to_string(k) + " has the wrong size");
  }
  if (rs.row_shift.empty()) return bytes;
  std::vector<T> voxels(bytes.size() / sizeof(T));
  std::memcpy(voxels.data(), bytes.data(), bytes.size());
  const std::vector<T> tilted =
      TiltSlice<T>(voxels.data(), width, rs.source_rows, v.ny, rs.row_shift.at(k), rs.padding,
                   static_cast<T>(rs.padding.value_or(fill)));
  std::vector<uint8_t> out(tilted.size() * sizeof(T));
  std::memcpy(out.data(), tilted.data(), out.size());
  return out;
}

template <typename T>
Status ResampleTyped(const VolumePlan& v, uint32_t z, uint64_t first, uint64_t count,
                     const PreparedSliceFn& prepared, uint8_t* out) {
  const Resampling::Step& step = v.resampling->steps.at(z);
  const uint64_t a = first * v.samples, n = count * v.samples;
  ASSIGN_OR_RETURN(std::shared_ptr<const std::vector<uint8_t>> hi_bytes, prepared(step.hi));
  if ((a + n) * sizeof(T) > hi_bytes->size()) return Status::InvalidArgument("voxel range outside the slice");
  if (step.lo == step.hi) {
    std::memcpy(out, hi_bytes->data() + a * sizeof(T), n * sizeof(T));
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const std::vector<uint8_t>> lo_bytes, prepared(step.lo));
  if (lo_bytes->size() != hi_bytes->size()) return Status::DataLoss("prepared slices differ in size");
  const T* lo = reinterpret_cast<const T*>(lo_bytes->data()) + a;
  const T* hi = reinterpret_cast<const T*>(hi_bytes->data()) + a;
  const float f_hi = step.frac_hi, f_lo = 1.0f - step.frac_hi;
  for (uint64_t i = 0; i < n; ++i) {
    const T value = RoundTo<T>(static_cast<float>(lo[i]) * f_lo + static_cast<float>(hi[i]) * f_hi);
    std::memcpy(out + i * sizeof(T), &value, sizeof(T));
  }
  return Status::Ok();
}

template <typename T>
double MinOf(const std::vector<uint8_t>& bytes) {
  double m = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i + sizeof(T) <= bytes.size(); i += sizeof(T)) {
    T v;
    std::memcpy(&v, bytes.data() + i, sizeof(T));
    m = std::min(m, static_cast<double>(v));
  }
  return m;
}

}  // namespace

Result<std::vector<uint8_t>> PrepareSource(const VolumePlan& plan, uint32_t k,
                                           std::vector<uint8_t> acquired, double fill) {
  if (!plan.resampling) return Status::InvalidArgument("volume is not resampled");
  if (plan.samples == 3) return PrepareTyped<uint8_t>(plan, k, std::move(acquired), fill);
  switch (plan.voxel_type) {
    case SampleType::kInt16: return PrepareTyped<int16_t>(plan, k, std::move(acquired), fill);
    case SampleType::kFloat32: return PrepareTyped<float>(plan, k, std::move(acquired), fill);
    case SampleType::kUint8: return PrepareTyped<uint8_t>(plan, k, std::move(acquired), fill);
    default: return Status::InvalidArgument("resampling supports int16, float32, uint8 and RGB voxels");
  }
}

Status ResampleSlice(const VolumePlan& plan, uint32_t z, uint64_t first, uint64_t count,
                     const PreparedSliceFn& prepared, uint8_t* out) {
  if (!plan.resampling) return Status::InvalidArgument("volume is not resampled");
  if (plan.samples == 3) return ResampleTyped<uint8_t>(plan, z, first, count, prepared, out);
  switch (plan.voxel_type) {
    case SampleType::kInt16: return ResampleTyped<int16_t>(plan, z, first, count, prepared, out);
    case SampleType::kFloat32: return ResampleTyped<float>(plan, z, first, count, prepared, out);
    case SampleType::kUint8: return ResampleTyped<uint8_t>(plan, z, first, count, prepared, out);
    default: return Status::InvalidArgument("resampling supports int16, float32, uint8 and RGB voxels");
  }
}

Result<double> DarkestVoxel(const VolumePlan& plan, const SourceSliceFn& source) {
  double darkest = std::numeric_limits<double>::infinity();
  for (uint32_t k = 0; k < plan.resampling->sources.size(); ++k) {
    ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, source(k));
    darkest = std::min(darkest, plan.voxel_type == SampleType::kFloat32 ? MinOf<float>(bytes)
                                                                          : MinOf<int16_t>(bytes));
  }
  return std::isfinite(darkest) ? darkest : 0.0;
}

}  // namespace dcmfs::recon_internal
