// Isosurfaces of a series volume: mesh/bone.stl, mesh/skin.stl,
// mesh/iso-<value>.stl and their "-smooth" twins (see mesh_providers.h).
#include <charconv>
#include <cmath>
#include <cstdio>

#include "fs/derived/mesh_providers.h"
#include "fs/derived/volume_providers.h"
#include "mesh/isosurface.h"
#include "mesh/smooth.h"
#include "mesh/volume_field.h"

namespace dcmfs {
namespace {

bool IsCt(const SeriesContext& ctx) { return ctx.series.modality == "CT"; }

bool PlannedVolume(const SeriesContext& ctx) {
  auto plan = SeriesPlanFor(ctx);
  return plan.ok() && !(*plan)->volumes.empty() && (*plan)->volumes[0].samples == 1;
}

bool HasVolume(const SeriesContext& ctx) { return PlannedVolume(ctx) || SeriesHasVolume(ctx); }

// The main volume of the series as series.nii has it (recon's plan: the
// same voxels and affine, so the mesh overlays series.nii exactly); the
// meshes' own slice stack when the plan has no monochrome volume.
Result<mesh::ScalarField> IsoField(const SeriesContext& ctx) {
  if (PlannedVolume(ctx)) {
    ASSIGN_OR_RETURN(std::shared_ptr<VolumeReader> reader, OpenSeriesVolume(ctx, 0));
    return mesh::VolumeField(reader);
  }
  return SeriesVolumeField(ctx);
}

// "v=<threshold> smooth=<0|1>": %.17g keeps the value exact.
std::string Params(double value, bool smooth) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "v=%.17g smooth=%d", value, smooth ? 1 : 0);
  return buf;
}

// "iso-<number>" with an optional "-smooth", or bone/skin.
std::optional<std::pair<double, bool>> ParseStem(std::string_view stem, bool ct) {
  bool smooth = false;
  constexpr std::string_view kSmooth = "-smooth";
  if (stem.size() > kSmooth.size() && stem.substr(stem.size() - kSmooth.size()) == kSmooth) {
    smooth = true;
    stem.remove_suffix(kSmooth.size());
  }
  if (ct && stem == "bone") return std::pair{IsosurfaceProvider::kBoneHu, smooth};
  if (ct && stem == "skin") return std::pair{IsosurfaceProvider::kSkinHu, smooth};
  if (stem.substr(0, 4) != "iso-") return std::nullopt;
  stem.remove_prefix(4);
  double v = 0;
  auto [ptr, ec] = std::from_chars(stem.data(), stem.data() + stem.size(), v);
  if (ec != std::errc() || ptr != stem.data() + stem.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return std::pair{v, smooth};
}

}  // namespace

std::vector<std::string> IsosurfaceProvider::Names(const SeriesContext& ctx) const {
  // Only CT series that form a volume: a listed mesh must be producible.
  if (!IsCt(ctx) || !HasVolume(ctx)) return {};
  return {"mesh/bone-smooth.stl", "mesh/bone.stl", "mesh/skin-smooth.stl", "mesh/skin.stl"};
}

bool IsosurfaceProvider::IsFolder(const SeriesContext& ctx, std::string_view path) const {
  // mesh/ exists for every volume, so that mesh/iso-<value>.stl resolves.
  return path == "mesh" && HasVolume(ctx);
}

std::optional<std::string> IsosurfaceProvider::Match(const SeriesContext& ctx,
                                                     std::string_view name) const {
  constexpr std::string_view kPrefix = "mesh/", kExt = ".stl";
  if (name.size() <= kPrefix.size() + kExt.size() || name.substr(0, kPrefix.size()) != kPrefix ||
      name.substr(name.size() - kExt.size()) != kExt) {
    return std::nullopt;
  }
  const std::string_view stem =
      name.substr(kPrefix.size(), name.size() - kPrefix.size() - kExt.size());
  auto parsed = ParseStem(stem, IsCt(ctx));
  if (!parsed) return std::nullopt;
  if (!HasVolume(ctx)) return std::nullopt;
  return Params(parsed->first, parsed->second);
}

Result<std::shared_ptr<DerivedContent>> IsosurfaceProvider::Produce(const SeriesContext& ctx,
                                                                    std::string_view params) const {
  double value = 0;
  int smooth = 0;
  if (std::sscanf(std::string(params).c_str(), "v=%lg smooth=%d", &value, &smooth) != 2) {
    return Status::InvalidArgument("isosurface: bad parameters");
  }
  ASSIGN_OR_RETURN(mesh::ScalarField field, IsoField(ctx));
  ASSIGN_OR_RETURN(mesh::TriangleMesh m, mesh::ExtractIsosurface(field, {.threshold = value}));
  if (smooth) mesh::TaubinSmooth(m);
  return std::shared_ptr<DerivedContent>(std::make_shared<StlContent>(std::move(m)));
}

}  // namespace dcmfs
