// The IIIF images of one series and the pixels behind them.
//
// An image is a single-frame instance (id = SOP Instance UID), one frame of a
// multi-frame instance (id = "<SOP Instance UID>.f<N>", N from 1), or a
// whole-slide pyramid (VL Whole Slide Microscopy Image Storage, PS3.3
// A.32.8: TILED_FULL VOLUME/THUMBNAIL instances of one series; id = Series
// Instance UID). UIDs are digits and dots, so ids are URL-safe as they are.
// LABEL and OVERVIEW whole-slide instances are ordinary single images.
//
// Images are in spatial order: along the slice normal when the instances
// carry Image Position/Orientation (PS3.3 C.7.6.2), else by Instance Number.
//
// IiifPixels caches what rendering needs (opened files, rendered full
// frames, decoded tiles) in memory, bounded, with one production per key.
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "codecs/image_encode.h"
#include "codecs/pixel_decode.h"
#include "codecs/wsi_header.h"
#include "fs/derived/provider.h"
#include "fs/iiif/iiif_info.h"
#include "recon/render.h"

namespace dcmfs::iiif {

struct PyramidLevel {
  Digest digest{};
  WsiHeader header;
  uint32_t tiles_across = 0;  // ceil(total_columns / tile_columns)
};

struct IiifImage {
  std::string id;
  uint32_t width = 0, height = 0;
  bool color = false;
  std::string label;  // "Instance 12", "Instance 3 frame 2", "Slide"
  // A frame of an instance (not a pyramid):
  Digest digest{};
  uint32_t frame = 0;   // 0-based
  uint32_t frames = 1;  // of the instance
  DisplaySettings display;
  // A pyramid: levels, largest first.
  std::vector<PyramidLevel> levels;
  ImageInfo info;  // what info.json advertises

  bool is_pyramid() const { return !levels.empty(); }
};

struct SeriesImages {
  std::vector<IiifImage> images;  // spatial order
  std::map<std::string, size_t, std::less<>> by_id;
  const IiifImage* Find(std::string_view id) const;
};

// The images of ctx's series. Reads only the catalog, plus a header prefix
// of each whole-slide instance.
Result<std::shared_ptr<const SeriesImages>> ListSeriesImages(const SeriesContext& ctx);

struct IiifPixelsOptions {
  uint64_t raster_bytes = 2ull << 30;  // rendered full frames
  uint64_t file_bytes = 2ull << 30;    // opened whole-slide files
  uint64_t tile_bytes = 256ull << 20;  // decoded whole-slide tiles
};

class IiifPixels {
 public:
  explicit IiifPixels(const IiifPixelsOptions& options);
  ~IiifPixels();

  // The series' images, cached by (series, generation).
  Result<std::shared_ptr<const SeriesImages>> Images(const SeriesContext& ctx);

  // The whole frame of a non-pyramid image through the display pipeline
  // (recon/render.h: first stored window, else the percentile window).
  Result<std::shared_ptr<const Raster>> FrameRaster(const SeriesContext& ctx, const IiifImage& image);
  // Level k of a pyramid built from FrameRaster by 2 x 2 averaging (level 0
  // is the frame; sizes ceil(w / 2^k) x ceil(h / 2^k)), so that a tile at
  // scale factor 2^k is a crop, and other downscales start near their size.
  Result<std::shared_ptr<const Raster>> LevelRaster(const SeriesContext& ctx, const IiifImage& image,
                                                    uint32_t level);

  // The encoded bytes of one request. Whole-slide requests that match a
  // stored JPEG tile are the stored bytes; other regions are composed from
  // the tiles of the finest level not finer than needed.
  Result<std::string> Render(const SeriesContext& ctx, const IiifImage& image, const Resolved& r);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dcmfs::iiif
