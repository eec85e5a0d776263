// Volumes in the mount: series.nii (+ "_e2"... suffixed names) and
// series.json in every series folder whose instances form a volume.
//
//   "volume-plan" (hidden, persisted): reads the header prefix of every
//       instance of the series (BlobReader::ReadAt, growing the prefix until
//       Pixel Data; no pixels), plans the volumes (recon/volume_plan.h) and
//       stores the serialized plan. Keyed by the series generation.
//   "nifti": series<suffix>.nii streamed by recon's VolumeReader; its size
//       comes from the plan, so listing decodes nothing. Not persisted (big,
//       cheap to regenerate); decoded frames live in the reader's LRU.
//   "sidecar": series<suffix>.json, the BIDS sidecar text of the plan.
//
// Other providers (preview, MPR, meshes) share the plan and the frame
// source through SeriesPlanFor() and BlobFrameSource().
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "fs/derived/provider.h"
#include "recon/volume_plan.h"
#include "recon/volume_reader.h"

namespace dcmfs {

// Carries the plan format version (recon/plan_serialize.cc): a cache made by
// an older dcmfs holds plans DeserializePlan refuses; a new kind never
// finds them (they age out of the LRU) and plans afresh.
inline constexpr char kVolumePlanKind[] = "volume-plan-v3";

// The series' volume plan (produced once per generation, cached, persisted).
// NotFound-like errors pass through; InvalidArgument when the series holds
// no image that forms a volume (SR, RT structures...).
Result<std::shared_ptr<const SeriesPlan>> SeriesPlanFor(const SeriesContext& ctx);

// Decodes frames of the plan's instances from the blob store: native frames
// are read in place (only their bytes), others through PixelDecoder.
// `blobs` must outlive the returned function. Thread-safe.
FrameSource BlobFrameSource(const BlobStore* blobs, std::shared_ptr<const SeriesPlan> plan);

// A VolumeReader over the blobs for volume `index` of the series' plan.
Result<std::shared_ptr<VolumeReader>> OpenSeriesVolume(const SeriesContext& ctx, size_t index);

class VolumePlanProvider final : public DerivedProvider {
 public:
  std::string kind() const override { return kVolumePlanKind; }
  bool view_dependent() const override { return false; }
  bool persist() const override { return true; }
  std::vector<std::string> Names(const SeriesContext&) const override { return {}; }
  std::optional<std::string> Match(const SeriesContext&, std::string_view) const override {
    return std::nullopt;
  }
  Result<std::shared_ptr<DerivedContent>> Produce(const SeriesContext& ctx,
                                                  std::string_view params) const override;
};

class NiftiProvider final : public DerivedProvider {
 public:
  std::string kind() const override { return "nifti"; }
  bool view_dependent() const override { return false; }
  bool persist() const override { return false; }
  // Voxels and geometry only: also shown in /anonymized.
  bool pixels_only() const override { return true; }
  std::vector<std::string> Names(const SeriesContext& ctx) const override;
  std::optional<std::string> Match(const SeriesContext& ctx, std::string_view name) const override;
  Result<std::shared_ptr<DerivedContent>> Produce(const SeriesContext& ctx,
                                                  std::string_view params) const override;
};

class SidecarProvider final : public DerivedProvider {
 public:
  std::string kind() const override { return "sidecar"; }
  bool view_dependent() const override { return false; }
  bool persist() const override { return false; }
  std::vector<std::string> Names(const SeriesContext& ctx) const override;
  std::optional<std::string> Match(const SeriesContext& ctx, std::string_view name) const override;
  Result<std::shared_ptr<DerivedContent>> Produce(const SeriesContext& ctx,
                                                  std::string_view params) const override;
};

}  // namespace dcmfs
