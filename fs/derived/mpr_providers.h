// Pictures of a series' main volume: preview.png (its middle slice as
// acquired) and mpr/{axial,coronal,sagittal}/NNNN.png (reformats on a grid
// aligned with the patient axes at the volume's own spacing; recon/mpr.h has
// the display conventions).
//
// Windowing, the same for every picture of a series so they compare: the
// first stored window (WindowCenter/Width) of the middle slice's instance;
// without one, a robust window over the middle slice's values (0.5 % and
// 99.5 % percentiles; recon/render.h). Colour volumes get preview.png only.
//
// Pictures are small and cheap to redo but need decoded slices, so they are
// persisted. A bounded cache of "volume views" (the reader, the window and
// decoded slices as modality values) lets the reformats of one series share
// their decoding; a sagittal image of an axial volume touches every slice,
// so a volume larger than the slice cache is re-decoded per such image
// (slow, but memory stays bounded).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/lru.h"
#include "fs/derived/provider.h"

namespace dcmfs {

class VolumeView;  // mpr_providers.cc

// One provider for both kinds of picture, so they share the view cache.
class PicturesProvider final : public DerivedProvider {
 public:
  PicturesProvider();
  std::string kind() const override { return "pictures"; }
  bool view_dependent() const override { return false; }
  bool persist() const override { return true; }
  bool pixels_only() const override { return true; }
  // A picture's size is its PNG's: only known by decoding and encoding, so
  // plain `ls` (readdirplus) must not ask for it.
  bool size_is_cheap() const override { return false; }
  std::vector<std::string> Names(const SeriesContext& ctx) const override;
  std::optional<std::string> Match(const SeriesContext& ctx, std::string_view name) const override;
  Result<std::shared_ptr<DerivedContent>> Produce(const SeriesContext& ctx,
                                                  std::string_view params) const override;

 private:
  Result<std::shared_ptr<VolumeView>> ViewOf(const SeriesContext& ctx) const;

  mutable std::mutex mu_;  // leaf
  mutable LruCache<std::string, std::shared_ptr<VolumeView>> views_;  // GUARDED_BY(mu_)
};

}  // namespace dcmfs
