// The image operations of a IIIF request after the region has been cut out,
// in the order section 4.6 of Image API 3.0 prescribes: size, then mirror
// and rotation, then quality, then format. 8-bit gray or RGB rasters
// (codecs/image_encode.h). Plain functions, thread-safe.
#pragma once

#include <string>

#include "base/status.h"
#include "codecs/image_encode.h"
#include "fs/iiif/iiif_request.h"

namespace dcmfs::iiif {

// Resamples `src` to width x height: an area average (box filter with
// fractional coverage) when shrinking, so thin structures are not aliased
// away; a bilinear (triangle) filter when enlarging. Separable, one pass per
// axis.
Raster Resize(const RasterView& src, uint32_t width, uint32_t height);

// A copy of the w x h rectangle at (x, y) of `src` (which must contain it).
Raster Crop(const RasterView& src, uint32_t x, uint32_t y, uint32_t w, uint32_t h);

// Mirror on the vertical axis (if `mirror`), then rotate clockwise by 0, 90,
// 180 or 270 degrees.
Raster MirrorRotate(const Raster& src, bool mirror, int rotation);

// default and color keep the pixels; gray turns RGB into luma (ITU-R BT.601
// weights, as JPEG's YCbCr uses); bitonal thresholds the gray at 128.
Raster ApplyQuality(Raster src, Quality quality);

// JPEG at quality 90, lossless PNG, or WebP at 90.
Result<std::string> EncodeAs(const Raster& image, Format format);

// The whole chain on `region` (the requested region's pixels, at any
// resolution: it is resized to resolved.out_w x out_h).
Result<std::string> RenderRegion(const RasterView& region, const Resolved& resolved);

}  // namespace dcmfs::iiif
