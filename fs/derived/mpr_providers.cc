#include "fs/derived/mpr_providers.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "codecs/image_encode.h"
#include "codecs/sha256.h"
#include "fs/derived/volume_providers.h"
#include "recon/mpr.h"
#include "recon/render.h"

namespace dcmfs {
namespace {

// At most this many series' views at once, each with this many bytes of
// decoded slices.
constexpr size_t kMaxViews = 4;
constexpr uint64_t kViewSliceBytes = 64ull << 20;

constexpr std::string_view kPreviewName = "preview.png";

struct PlaneName {
  MprPlane plane;
  std::string_view name;
};
constexpr PlaneName kPlanes[] = {{MprPlane::kAxial, "axial"},
                                 {MprPlane::kCoronal, "coronal"},
                                 {MprPlane::kSagittal, "sagittal"}};

// "0001".."9999", then as many digits as needed, so names sort in order.
std::string ImageName(uint32_t number, uint32_t count) {
  int width = std::max(4, static_cast<int>(std::to_string(count).size()));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*u.png", width, number);
  return buf;
}

Result<std::string> EncodeGray(const std::vector<float>& values, uint32_t width, uint32_t height,
                               const WindowLevel& window, VoiFunction function) {
  Raster raster;
  raster.width = width, raster.height = height, raster.channels = 1;
  raster.pixels.resize(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const double y = std::isnan(values[i]) ? 0.0 : ApplyVoi(values[i], window, function);
    raster.pixels[i] = static_cast<uint8_t>(std::clamp(std::lround(y), 0L, 255L));
  }
  return EncodePng(raster.view());
}

struct MprRequest {
  MprPlane plane;
  uint32_t number;  // 1-based
};

std::optional<MprRequest> ParseMprName(std::string_view name) {
  if (!name.starts_with("mpr/") || !name.ends_with(".png")) return std::nullopt;
  name.remove_prefix(4);
  name.remove_suffix(4);
  const size_t slash = name.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view plane = name.substr(0, slash), digits = name.substr(slash + 1);
  for (const PlaneName& p : kPlanes) {
    if (p.name != plane) continue;
    uint32_t number = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    return MprRequest{p.plane, number};
  }
  return std::nullopt;
}

}  // namespace

// One series' main volume, ready to picture: plan, reader, window, and a
// bounded cache of slices as modality values. Thread-safe.
class VolumeView {
 public:
  static Result<std::shared_ptr<VolumeView>> Open(const SeriesContext& ctx) {
    auto view = std::shared_ptr<VolumeView>(new VolumeView());
    ASSIGN_OR_RETURN(view->reader_, OpenSeriesVolume(ctx, 0));
    const VolumePlan& v = view->reader_->plan();
    view->colour_ = v.samples != 1;
    if (!view->colour_) {
      // No reformats without a usable affine (e.g. a SEG whose segments
      // repeat positions), but the preview is the acquired middle slice
      // and needs none.
      Result<MprGrid> grid = MprGridFor(v);
      if (grid.ok()) view->grid_ = *grid;
      view->has_grid_ = grid.ok();
      RETURN_IF_ERROR(view->ChooseWindow(ctx));
    }
    return view;
  }

  const VolumePlan& plan() const { return reader_->plan(); }
  bool colour() const { return colour_; }
  bool has_grid() const { return has_grid_; }
  const MprGrid& grid() const { return grid_; }
  const WindowLevel& window() const { return window_; }
  VoiFunction function() const { return function_; }

  Result<ModalitySlice> Slice(uint32_t z) const {
    {
      std::lock_guard lock(mu_);
      if (std::optional<ModalitySlice> hit = slices_.Get(z)) return *hit;
    }
    ASSIGN_OR_RETURN(std::vector<uint8_t> voxels, reader_->Slice(z));
    ASSIGN_OR_RETURN(std::vector<float> values, ModalityValues(plan(), voxels));
    auto slice = std::make_shared<const std::vector<float>>(std::move(values));
    std::lock_guard lock(mu_);
    slices_.Put(z, slice, slice->size() * sizeof(float));
    return ModalitySlice(slice);
  }

  // The raw NIfTI voxels of slice z (colour previews).
  Result<std::vector<uint8_t>> Voxels(uint32_t z) const { return reader_->Slice(z); }

 private:
  VolumeView() : slices_(kViewSliceBytes) {}

  // The first stored window of the middle slice's instance, else a robust
  // window over the middle slice.
  Status ChooseWindow(const SeriesContext& ctx) {
    const VolumePlan& v = plan();
    const uint32_t middle = v.nz / 2;
    ASSIGN_OR_RETURN(std::shared_ptr<const SeriesPlan> series_plan, SeriesPlanFor(ctx));
    std::optional<Digest> digest;
    if (v.slices[middle].instance < series_plan->keys.size()) {
      digest = DigestFromHex(series_plan->keys[v.slices[middle].instance]);
    }
    if (digest) {
      Result<InstanceRecord> record = ctx.catalog->GetInstance(*digest);
      if (record.ok()) {
        DisplaySettings settings = DisplaySettingsFromMeta(record->meta);
        if (!settings.windows.empty()) {
          window_ = settings.windows.front();
          function_ = settings.voi_function;
          return Status::Ok();
        }
      }
    }
    ASSIGN_OR_RETURN(ModalitySlice values, Slice(middle));
    DecodedFrame frame;
    frame.format.rows = v.ny, frame.format.columns = v.nx;
    frame.format.type = SampleType::kFloat32;
    frame.format.photometric = "MONOCHROME2";
    frame.data.resize(values->size() * sizeof(float));
    std::memcpy(frame.data.data(), values->data(), frame.data.size());
    ASSIGN_OR_RETURN(window_, PercentileWindow(frame, DisplaySettings{}, 0.5, 99.5));
    function_ = VoiFunction::kLinearExact;
    return Status::Ok();
  }

  std::shared_ptr<VolumeReader> reader_;
  bool colour_ = false;
  bool has_grid_ = false;
  MprGrid grid_;
  WindowLevel window_;
  VoiFunction function_ = VoiFunction::kLinear;
  mutable std::mutex mu_;  // leaf
  mutable LruCache<uint32_t, ModalitySlice> slices_;  // GUARDED_BY(mu_)
};

namespace {

// The middle slice as acquired: NIfTI rows run bottom-up (dcm2niix's flip),
// so they are reversed back to the DICOM order a viewer shows.
Result<std::string> PreviewPng(const VolumeView& view) {
  const VolumePlan& v = view.plan();
  const uint32_t middle = v.nz / 2;
  if (view.colour()) {
    ASSIGN_OR_RETURN(std::vector<uint8_t> voxels, view.Voxels(middle));
    const size_t row = size_t{v.nx} * 3;
    if (voxels.size() != row * v.ny) return Status::DataLoss("preview: colour slice size");
    Raster raster;
    raster.width = v.nx, raster.height = v.ny, raster.channels = 3;
    raster.pixels.resize(voxels.size());
    for (uint32_t r = 0; r < v.ny; ++r) {
      std::memcpy(&raster.pixels[r * row], &voxels[(v.ny - 1 - r) * row], row);
    }
    return EncodePng(raster.view());
  }
  ASSIGN_OR_RETURN(ModalitySlice values, view.Slice(middle));
  std::vector<float> flipped(values->size());
  for (uint32_t r = 0; r < v.ny; ++r) {
    std::copy_n(values->data() + size_t{v.ny - 1 - r} * v.nx, v.nx, flipped.data() + size_t{r} * v.nx);
  }
  return EncodeGray(flipped, v.nx, v.ny, view.window(), view.function());
}

}  // namespace

PicturesProvider::PicturesProvider() : views_(kMaxViews) {}

Result<std::shared_ptr<VolumeView>> PicturesProvider::ViewOf(const SeriesContext& ctx) const {
  const std::string key = ctx.series.uid + '\0' + ctx.series.generation;
  {
    std::lock_guard lock(mu_);
    if (auto hit = views_.Get(key)) return *hit;
  }
  ASSIGN_OR_RETURN(std::shared_ptr<VolumeView> view, VolumeView::Open(ctx));
  std::lock_guard lock(mu_);
  views_.Put(key, view, 1);
  return view;
}

std::vector<std::string> PicturesProvider::Names(const SeriesContext& ctx) const {
  Result<std::shared_ptr<const SeriesPlan>> plan = SeriesPlanFor(ctx);
  if (!plan.ok() || (*plan)->volumes.empty()) return {};
  const VolumePlan& v = (*plan)->volumes.front();
  std::vector<std::string> names{std::string(kPreviewName)};
  if (v.samples != 1) return names;
  Result<MprGrid> grid = MprGridFor(v);
  if (!grid.ok()) return names;
  for (const PlaneName& p : kPlanes) {
    const uint32_t count = MprSizeOf(*grid, p.plane).count;
    for (uint32_t i = 1; i <= count; ++i) {
      names.push_back("mpr/" + std::string(p.name) + "/" + ImageName(i, count));
    }
  }
  return names;
}

std::optional<std::string> PicturesProvider::Match(const SeriesContext& ctx,
                                                   std::string_view name) const {
  if (name == kPreviewName) {
    if (Names(ctx).empty()) return std::nullopt;
    return std::string(name);
  }
  // mpr/<plane>/<number>.png, spelled exactly as listed, within the count.
  std::optional<MprRequest> request = ParseMprName(name);
  if (!request) return std::nullopt;
  Result<std::shared_ptr<const SeriesPlan>> plan = SeriesPlanFor(ctx);
  if (!plan.ok() || (*plan)->volumes.empty() || (*plan)->volumes.front().samples != 1) {
    return std::nullopt;
  }
  Result<MprGrid> grid = MprGridFor((*plan)->volumes.front());
  if (!grid.ok()) return std::nullopt;
  const uint32_t count = MprSizeOf(*grid, request->plane).count;
  if (request->number < 1 || request->number > count) return std::nullopt;
  if (name.substr(name.rfind('/') + 1) != ImageName(request->number, count)) return std::nullopt;
  return std::string(name);
}

Result<std::shared_ptr<DerivedContent>> PicturesProvider::Produce(const SeriesContext& ctx,
                                                                  std::string_view params) const {
  ASSIGN_OR_RETURN(std::shared_ptr<VolumeView> view, ViewOf(ctx));
  const VolumePlan& v = view->plan();
  std::string png;
  if (params == kPreviewName) {
    ASSIGN_OR_RETURN(png, PreviewPng(*view));
  } else {
    std::optional<MprRequest> request = ParseMprName(params);
    if (!request || view->colour() || !view->has_grid()) {
      return Status::NotFound("no such reformatted image");
    }
    const MprImageSize size = MprSizeOf(view->grid(), request->plane);
    SliceSource slices = [&view](uint32_t z) { return view->Slice(z); };
    ASSIGN_OR_RETURN(std::vector<float> values,
                     SampleMprImage(v, view->grid(), request->plane, request->number - 1, slices));
    ASSIGN_OR_RETURN(png, EncodeGray(values, size.width, size.height, view->window(),
                                     view->function()));
  }
  return std::shared_ptr<DerivedContent>(std::make_shared<StringContent>(std::move(png)));
}

}  // namespace dcmfs
