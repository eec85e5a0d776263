// SerializePlan / DeserializePlan: JSON (nlohmann), version 3 (2 added the
// resampled "_Tilt"/"_Eq" volumes; 3 has their row shifts and slice distances
// in dcm2niix's float arithmetic, so older plans' voxels differ by one). Slices are flat arrays of 5 numbers so
// a 1000-slice plan stays small.
#include <nlohmann/json.hpp>

#include "recon/volume_plan.h"

namespace dcmfs {
namespace {

constexpr int kVersion = 3;
using nlohmann::json;

json SlicesToJson(const std::vector<PlannedSlice>& in) {
  json slices = json::array();
  for (const PlannedSlice& s : in) slices.push_back({s.instance, s.frame, s.tile, s.slope, s.intercept});
  return slices;
}

std::vector<PlannedSlice> SlicesFromJson(const json& j) {
  std::vector<PlannedSlice> out;
  for (const json& s : j) {
    out.push_back(PlannedSlice{s.at(0).get<uint32_t>(), s.at(1).get<uint32_t>(),
                               s.at(2).get<uint32_t>(), s.at(3).get<double>(),
                               s.at(4).get<double>()});
  }
  return out;
}

json ResamplingToJson(const Resampling& r) {
  json steps = json::array();
  for (const Resampling::Step& s : r.steps) steps.push_back({s.lo, s.hi, s.frac_hi});
  json j{{"source_rows", r.source_rows}, {"sources", SlicesToJson(r.sources)},
         {"row_shift", r.row_shift}, {"steps", std::move(steps)}};
  if (r.padding) j["padding"] = *r.padding;
  return j;
}

Resampling ResamplingFromJson(const json& j) {
  Resampling r;
  r.source_rows = j.at("source_rows").get<uint32_t>();
  r.sources = SlicesFromJson(j.at("sources"));
  r.row_shift = j.at("row_shift").get<std::vector<double>>();
  for (const json& s : j.at("steps")) {
    r.steps.push_back({s.at(0).get<uint32_t>(), s.at(1).get<uint32_t>(), s.at(2).get<float>()});
  }
  if (j.contains("padding")) r.padding = j.at("padding").get<double>();
  return r;
}

json VolumeToJson(const VolumePlan& v) {
  json slices = SlicesToJson(v.slices);
  json out{{"suffix", v.suffix},
              {"dims", {v.nx, v.ny, v.nz, v.nt}},
              {"samples", v.samples},
              {"source_type", static_cast<int>(v.source_type)},
              {"voxel_type", static_cast<int>(v.voxel_type)},
              {"apply_rescale", v.apply_rescale},
              {"scl", {v.scl_slope, v.scl_inter}},
              {"pixdim", v.pixdim},
              {"affine", v.affine},
              {"mosaic_cols", v.mosaic_cols},
              {"slices", std::move(slices)},
              {"sidecar", v.sidecar_json}};
  if (v.resampling) out["resampling"] = ResamplingToJson(*v.resampling);
  return out;
}

VolumePlan VolumeFromJson(const json& j) {
  VolumePlan v;
  v.suffix = j.at("suffix").get<std::string>();
  const auto& d = j.at("dims");
  v.nx = d.at(0).get<uint32_t>();
  v.ny = d.at(1).get<uint32_t>();
  v.nz = d.at(2).get<uint32_t>();
  v.nt = d.at(3).get<uint32_t>();
  v.samples = j.at("samples").get<uint16_t>();
  v.source_type = static_cast<SampleType>(j.at("source_type").get<int>());
  v.voxel_type = static_cast<SampleType>(j.at("voxel_type").get<int>());
  v.apply_rescale = j.at("apply_rescale").get<bool>();
  v.scl_slope = j.at("scl").at(0).get<double>();
  v.scl_inter = j.at("scl").at(1).get<double>();
  v.pixdim = j.at("pixdim").get<std::array<double, 4>>();
  v.affine = j.at("affine").get<std::array<std::array<double, 4>, 3>>();
  v.mosaic_cols = j.at("mosaic_cols").get<uint32_t>();
  v.slices = SlicesFromJson(j.at("slices"));
  v.sidecar_json = j.at("sidecar").get<std::string>();
  if (j.contains("resampling")) v.resampling = ResamplingFromJson(j.at("resampling"));
  return v;
}

}  // namespace

std::string SerializePlan(const SeriesPlan& plan) {
  json volumes = json::array();
  for (const VolumePlan& v : plan.volumes) volumes.push_back(VolumeToJson(v));
  json storage = json::array();
  for (const PixelStorage& p : plan.storage) {
    storage.push_back({p.native, p.pixel_data_offset, p.bits_allocated, p.bits_stored, p.high_bit,
                       p.pixel_representation, p.samples, p.rows, p.columns, p.photometric});
  }
  json j{{"version", kVersion}, {"keys", plan.keys}, {"skipped", plan.skipped},
         {"storage", std::move(storage)},
         {"volumes", std::move(volumes)}};
  return j.dump();
}

Result<SeriesPlan> DeserializePlan(std::string_view text) {
  try {
    const json j = json::parse(text);
    if (j.at("version").get<int>() != kVersion) return Status::Corruption("volume plan: version");
    SeriesPlan plan;
    plan.keys = j.at("keys").get<std::vector<std::string>>();
    plan.skipped = j.at("skipped").get<std::vector<std::string>>();
    for (const json& p : j.at("storage")) {
      plan.storage.push_back(PixelStorage{
          p.at(0).get<bool>(), p.at(1).get<uint64_t>(), p.at(2).get<uint16_t>(),
          p.at(3).get<uint16_t>(), p.at(4).get<uint16_t>(), p.at(5).get<uint16_t>(),
          p.at(6).get<uint16_t>(), p.at(7).get<uint32_t>(), p.at(8).get<uint32_t>(),
          p.at(9).get<std::string>()});
    }
    if (plan.storage.size() != plan.keys.size()) return Status::Corruption("volume plan: storage");
    for (const json& v : j.at("volumes")) plan.volumes.push_back(VolumeFromJson(v));
    for (const VolumePlan& v : plan.volumes) {
      if (v.slices.size() != uint64_t{v.nz} * v.nt) return Status::Corruption("volume plan: slices");
      for (const PlannedSlice& s : v.slices) {
        if (s.instance >= plan.keys.size()) return Status::Corruption("volume plan: instance");
      }
      if (!v.resampling) continue;
      const Resampling& r = *v.resampling;
      if (r.steps.size() != v.nz || v.nt != 1 ||
          (!r.row_shift.empty() && r.row_shift.size() != r.sources.size())) {
        return Status::Corruption("volume plan: resampling");
      }
      for (const Resampling::Step& s : r.steps) {
        if (s.lo >= r.sources.size() || s.hi >= r.sources.size()) {
          return Status::Corruption("volume plan: resampling step");
        }
      }
      for (const PlannedSlice& s : r.sources) {
        if (s.instance >= plan.keys.size()) return Status::Corruption("volume plan: instance");
      }
    }
    return plan;
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("volume plan: ") + e.what());
  }
}

}  // namespace dcmfs
