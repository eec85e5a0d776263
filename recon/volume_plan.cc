// PlanVolumes: group, sort and describe (see volume_plan.h for the rules).
//
// Passes:
//   1. ExpandCandidates: one Candidate per 2D slice (frames, mosaic tiles).
//   2. Group by matrix, pixel format, echo, phase and orientation.
//   3. Per group: sort along the normal, cluster equal positions, build the
//      4D order, the affine, the voxel type and the sidecar.
#include "recon/volume_plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "recon/internal/candidates.h"
#include "recon/internal/geometry.h"
#include "recon/internal/resample.h"

namespace dcmfs {
namespace {

using recon_internal::Candidate;
using recon_internal::Vec3;
namespace ri = recon_internal;

// Positions closer than this along the normal are the same slice (mm).
constexpr double kSamePosition = 0.01;

struct Group {
  std::vector<uint32_t> members;  // indices into the candidates
  std::string echo_suffix;        // "_e2" ...
  bool phase = false;
  std::string shape;              // matrix + pixel format + orientation
};

// Orientation rounded so that float noise does not split a series.
std::string OrientationKey(const Candidate& c) {
  if (!c.has_geometry) return "none";
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%.3f,%.3f,%.3f,%.3f,%.3f,%.3f", c.orientation[0],
                c.orientation[1], c.orientation[2], c.orientation[3], c.orientation[4],
                c.orientation[5]);
  return buf;
}

// Echo index per candidate: by EchoNumbers when they differ; else by
// EchoTime in order of first appearance (enhanced MR keeps only the time,
// and a Philips field map frame after the magnitude has EffectiveEchoTime
// 0, yet is the second "echo" for dcm2niix). Empty when one echo.
std::vector<std::string> EchoSuffixes(const std::vector<Candidate>& cands) {
  std::set<int64_t> numbers;
  std::vector<double> times;  // first-appearance order
  for (const Candidate& c : cands) {
    if (c.echo_number) numbers.insert(*c.echo_number);
    if (!c.echo_time) continue;
    const double t = std::round(*c.echo_time * 1000) / 1000;
    if (std::find(times.begin(), times.end(), t) == times.end()) times.push_back(t);
  }
  std::vector<std::string> out(cands.size());
  if (numbers.size() > 1) {
    for (size_t i = 0; i < cands.size(); ++i) {
      out[i] = "_e" + std::to_string(cands[i].echo_number.value_or(1));
    }
  } else if (times.size() > 1) {
    for (size_t i = 0; i < cands.size(); ++i) {
      const double t = std::round(cands[i].echo_time.value_or(0) * 1000) / 1000;
      const size_t rank = std::find(times.begin(), times.end(), t) - times.begin();
      out[i] = "_e" + std::to_string(rank + 1);
    }
  }
  return out;
}

// "_s<SeriesNumber>" when one SeriesInstanceUID holds several series
// numbers (dcm2niix keeps them apart; e.g. the same image stored once per
// transfer syntax). Empty otherwise.
std::vector<std::string> SeriesSuffixes(const std::vector<Candidate>& cands) {
  std::set<int64_t> numbers;
  for (const Candidate& c : cands) numbers.insert(c.series_number);
  std::vector<std::string> out(cands.size());
  if (numbers.size() > 1) {
    for (size_t i = 0; i < cands.size(); ++i) out[i] = "_s" + std::to_string(cands[i].series_number);
  }
  return out;
}

std::vector<Group> GroupCandidates(const std::vector<Candidate>& cands) {
  std::vector<std::string> echo = EchoSuffixes(cands);
  const std::vector<std::string> series = SeriesSuffixes(cands);
  for (size_t i = 0; i < cands.size(); ++i) echo[i] = series[i] + echo[i];
  std::map<std::tuple<std::string, bool, std::string>, Group> groups;
  for (uint32_t i = 0; i < cands.size(); ++i) {
    const Candidate& c = cands[i];
    char shape[96];
    std::snprintf(shape, sizeof(shape), "%ux%u/%u/%d/%u|", c.columns, c.rows, c.samples,
                  static_cast<int>(c.type), c.mosaic_cols);
    Group& g = groups[{echo[i], c.phase, shape + OrientationKey(c)}];
    g.echo_suffix = echo[i];
    g.phase = c.phase;
    g.shape = shape + OrientationKey(c);
    g.members.push_back(i);
  }
  std::vector<Group> out;
  for (auto& [key, g] : groups) out.push_back(std::move(g));
  return out;
}

// 4D order within one position: temporal position, acquisition, trigger,
// dimension index, instance number, frame (dcm2niix's tie-breakers).
bool TimeBefore(const Candidate& a, const Candidate& b) {
  return std::tie(a.temporal, a.acquisition, a.trigger, a.dimension_index, a.instance_number,
                  a.instance, a.frame, a.tile) <
         std::tie(b.temporal, b.acquisition, b.trigger, b.dimension_index, b.instance_number,
                  b.instance, b.frame, b.tile);
}

Vec3 NormalOf(const Candidate& c) {
  const Vec3 r{c.orientation[0], c.orientation[1], c.orientation[2]};
  const Vec3 col{c.orientation[3], c.orientation[4], c.orientation[5]};
  return ri::Normalized(ri::Cross(r, col));
}

// Orders the group's slices: z (along the normal) fastest, then t. Sets
// nz/nt; notes when positions repeat unevenly.
std::vector<uint32_t> OrderSlices(const std::vector<Candidate>& cands, const Group& g,
                                  VolumePlan& v, std::vector<std::string>* notes) {
  std::vector<uint32_t> m = g.members;
  const Candidate& first = cands[m[0]];
  if (!first.has_geometry) {
    std::sort(m.begin(), m.end(), [&](uint32_t a, uint32_t b) {
      return std::tie(cands[a].instance_number, cands[a].instance, cands[a].frame) <
             std::tie(cands[b].instance_number, cands[b].instance, cands[b].frame);
    });
    v.nz = static_cast<uint32_t>(m.size());
    return m;
  }
  const Vec3 n = NormalOf(first);
  auto d = [&](uint32_t i) { return ri::Dot(cands[i].position, n); };
  std::stable_sort(m.begin(), m.end(), [&](uint32_t a, uint32_t b) {
    if (std::abs(d(a) - d(b)) > kSamePosition) return d(a) < d(b);
    return TimeBefore(cands[a], cands[b]);
  });
  std::vector<std::vector<uint32_t>> positions;
  for (uint32_t i : m) {
    if (positions.empty() || d(i) - d(positions.back().front()) > kSamePosition) {
      positions.emplace_back();
    }
    positions.back().push_back(i);
  }
  const size_t nt = positions.front().size();
  const bool regular = std::all_of(positions.begin(), positions.end(),
                                   [&](const auto& p) { return p.size() == nt; });
  if (!regular) {
    notes->push_back("repeated positions of unequal counts: slices kept in position order");
    v.nz = static_cast<uint32_t>(m.size());
    return m;
  }
  v.nz = static_cast<uint32_t>(positions.size());
  v.nt = static_cast<uint32_t>(nt);
  std::vector<uint32_t> out;
  for (size_t t = 0; t < nt; ++t) {
    for (const auto& p : positions) out.push_back(p[t]);
  }
  return out;
}

// RescaleSlope/Intercept: uniform -> NIfTI scl_*, varying -> float32.
void ChooseVoxelType(VolumePlan& v) {
  bool uniform = true;
  for (const PlannedSlice& s : v.slices) {
    uniform = uniform && s.slope == v.slices[0].slope && s.intercept == v.slices[0].intercept;
  }
  v.voxel_type = v.source_type;
  if (v.samples == 1 && !uniform) {
    v.apply_rescale = true;
    v.voxel_type = SampleType::kFloat32;
    return;
  }
  v.scl_slope = v.slices[0].slope;
  v.scl_inter = v.slices[0].intercept;
}

// The affine (see volume_plan.h for the voxel order), LPS -> RAS.
void SetGeometry(const std::vector<Candidate>& cands, const std::vector<uint32_t>& order,
                 VolumePlan& v, std::vector<std::string>* notes) {
  const Candidate& c0 = cands[order[0]];
  const Vec3 r{c0.orientation[0], c0.orientation[1], c0.orientation[2]};
  const Vec3 col{c0.orientation[3], c0.orientation[4], c0.orientation[5]};
  const Vec3 n = c0.has_geometry ? NormalOf(c0) : Vec3{0, 0, 1};
  Vec3 step = ri::Scale(n, c0.thickness > 0 ? c0.thickness : 1.0);
  if (c0.has_geometry && v.nz > 1) {
    // The first gap between distinct positions: slices that repeat a
    // position unevenly (a SEG's overlapping segments) are kept in position
    // order, and a zero step would make the affine singular.
    for (uint32_t k = 1; k < v.nz; ++k) {
      step = ri::Sub(cands[order[k]].position, c0.position);
      if (std::abs(ri::Dot(step, n)) > kSamePosition) break;
    }
    if (std::abs(ri::Dot(step, n)) <= kSamePosition) {
      step = ri::Scale(n, c0.thickness > 0 ? c0.thickness : 1.0);
    }
    // Uneven spacing: dcm2niix keeps the slices as acquired in this
    // volume; so do we (the resampled copy is recon/internal/resample.h's).
    const Vec3 whole = ri::Sub(cands[order[v.nz - 1]].position, c0.position);
    if (ri::Norm(ri::Sub(ri::Scale(step, v.nz - 1), whole)) > 0.01 * (v.nz - 1)) {
      notes->push_back("uneven slice spacing: kept as acquired here, the affine uses the first gap");
    }
    if (ri::Norm(ri::Sub(step, ri::Scale(n, ri::Dot(step, n)))) > 1e-3) {
      notes->push_back("gantry tilt: slices kept as acquired here, the affine is sheared");
    }
  }
  const Vec3 ci = ri::Scale(r, c0.column_spacing);
  const Vec3 cj = ri::Scale(col, -c0.row_spacing);  // rows reversed
  const Vec3 origin = ri::Add(c0.position, ri::Scale(col, c0.row_spacing * (v.ny - 1.0)));
  for (int a = 0; a < 3; ++a) {
    const double sign = a < 2 ? -1.0 : 1.0;  // LPS -> RAS
    v.affine[a] = {sign * ci[a], sign * cj[a], sign * step[a], sign * origin[a]};
  }
  double dz = std::abs(ri::Dot(step, n));
  if (dz <= 0) dz = c0.thickness > 0 ? c0.thickness : 1.0;
  v.pixdim = {c0.column_spacing, c0.row_spacing, dz, v.pixdim[3]};
}

double RepetitionTimeSeconds(const ImageHeader& h) {
  for (const auto& [k, val] : h.sidecar) {
    if (k == "RepetitionTime") return std::strtod(val.c_str(), nullptr);
  }
  return 0;
}

// PixelPaddingValue as a voxel value: US in implicit VR files whose pixels
// are signed is the two's complement of the SS value.
std::optional<double> PaddingOf(const ImageHeader& h) {
  if (!h.pixel_padding_value) return std::nullopt;
  int64_t v = *h.pixel_padding_value;
  if (h.pixel_representation == 1 && h.bits_allocated == 16 && v > 32767) v -= 65536;
  return static_cast<double>(v);
}

// The acquired volume of group `g`, then dcm2niix's resampled one (_Tilt,
// _Eq) where it writes one; suffixes are relative to the group's.
std::vector<VolumePlan> BuildVolume(const std::vector<PlanInput>& inputs,
                                    const std::vector<Candidate>& cands, const Group& g) {
  VolumePlan v;
  std::vector<std::string> notes;
  const std::vector<uint32_t> order = OrderSlices(cands, g, v, &notes);
  const Candidate& c0 = cands[order[0]];
  v.nx = c0.columns;
  v.ny = c0.rows;
  v.samples = c0.samples;
  v.source_type = c0.type;
  v.mosaic_cols = c0.mosaic_cols;
  for (uint32_t i : order) {
    const Candidate& c = cands[i];
    v.slices.push_back(PlannedSlice{c.instance, c.frame, c.tile, c.slope, c.intercept});
  }
  ChooseVoxelType(v);
  // Unsigned data that fits 15 bits is written as int16, as dcm2niix does
  // for UINT16 whose range allows it (values are unchanged).
  if (v.voxel_type == SampleType::kUint16 && c0.bits_stored <= 15) v.voxel_type = SampleType::kInt16;
  v.pixdim[3] = RepetitionTimeSeconds(inputs[c0.instance].header);
  SetGeometry(cands, order, v, &notes);
  // dcm2niix reports the volume's earliest AcquisitionTime.
  std::string earliest = inputs[c0.instance].header.acquisition_time;
  for (uint32_t i : order) {
    const std::string& t = inputs[cands[i].instance].header.acquisition_time;
    if (!t.empty() && (earliest.empty() || std::strtod(t.c_str(), nullptr) < std::strtod(earliest.c_str(), nullptr))) earliest = t;
  }
  const ImageHeader& h0 = inputs[c0.instance].header;
  std::vector<std::string> resampled_notes;
  std::optional<VolumePlan> resampled = ri::PlanResampled(
      v, cands, order, ri::ResampleInputs{h0.modality, h0.gantry_tilt, PaddingOf(h0)},
      &resampled_notes);
  if (resampled) notes.push_back("a resampled copy is series" + resampled->suffix + ".nii");
  v.sidecar_json = ri::SidecarJson(h0, c0, notes, earliest);
  std::vector<VolumePlan> out{std::move(v)};
  if (resampled) {
    resampled->sidecar_json = ri::SidecarJson(h0, c0, resampled_notes, earliest);
    out.push_back(std::move(*resampled));
  }
  return out;
}

// "_i00005": images whose matrix or orientation differs from the series'
// main group (localizers), named by their first InstanceNumber.
std::string OutlierSuffix(const std::vector<Candidate>& cands, const Group& g) {
  int64_t first = INT64_MAX;
  for (uint32_t i : g.members) first = std::min(first, cands[i].instance_number);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "_i%05lld", static_cast<long long>(first));
  return buf;
}

}  // namespace

ImageHeader NativeHeaderOf(const PixelStorage& s) {
  ImageHeader h;
  h.native = s.native;
  h.pixel_data_offset = s.pixel_data_offset;
  h.bits_allocated = s.bits_allocated;
  h.bits_stored = s.bits_stored;
  h.high_bit = s.high_bit;
  h.pixel_representation = s.pixel_representation;
  h.samples_per_pixel = s.samples;
  h.rows = s.rows;
  h.columns = s.columns;
  h.photometric = s.photometric;
  return h;
}

size_t SampleBytes(SampleType t) {
  switch (t) {
    case SampleType::kUint8:
    case SampleType::kInt8: return 1;
    case SampleType::kUint16:
    case SampleType::kInt16: return 2;
    default: return 4;
  }
}

size_t VoxelBytes(const VolumePlan& v) { return v.samples == 3 ? 3 : SampleBytes(v.voxel_type); }

Result<SeriesPlan> PlanVolumes(std::vector<PlanInput> inputs) {
  SeriesPlan plan;
  for (const PlanInput& in : inputs) {
    plan.keys.push_back(in.key);
    const ImageHeader& h = in.header;
    plan.storage.push_back(PixelStorage{h.native, h.pixel_data_offset, h.bits_allocated,
                                        h.bits_stored, h.high_bit, h.pixel_representation,
                                        h.samples_per_pixel, h.rows, h.columns, h.photometric});
  }
  const std::vector<Candidate> cands = ri::ExpandCandidates(inputs, &plan.skipped);
  if (cands.empty()) return Status::InvalidArgument("no image in the series can form a volume");
  std::vector<Group> groups = GroupCandidates(cands);
  // The biggest shape (matrix + orientation) is the series' own; others are
  // outliers in every echo/phase group.
  std::map<std::string, size_t> shape_count;
  for (const Group& g : groups) shape_count[g.shape] += g.members.size();
  std::string main_shape;
  size_t best = 0;
  for (const auto& [shape, count] : shape_count) {
    if (count > best) best = count, main_shape = shape;
  }
  for (const Group& g : groups) {
    for (VolumePlan& v : BuildVolume(inputs, cands, g)) {
      v.suffix = (g.shape == main_shape ? "" : OutlierSuffix(cands, g)) + g.echo_suffix +
                 (g.phase ? "_ph" : "") + v.suffix;
      plan.volumes.push_back(std::move(v));
    }
  }
  std::sort(plan.volumes.begin(), plan.volumes.end(),
            [](const VolumePlan& a, const VolumePlan& b) { return a.suffix < b.suffix; });
  return plan;
}

}  // namespace dcmfs
