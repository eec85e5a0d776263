// The IIIF tree of a series folder (derived files, fs/derived/provider.h):
//
//   manifest.json                          Presentation 3 manifest of the series
//   iiif/study-manifest.json               the study's manifest, series as ranges
//   iiif/<image-id>/info.json              Image API 3.0 image information
//   iiif/<image-id>/{region}/{size}/{rotation}/{quality}.{format}
//
// Readdir lists, under iiif/<image-id>/, info.json and the canonical level-0
// tile set (full/max, the listed sizes, every tile at every scale factor);
// any other valid request path resolves on lookup (its folders through
// IsFolder), so a static web server in front of the mount answers the whole
// level-2 API. Invalid paths are not ours (ENOENT). Image ids: see
// iiif_images.h. The published URLs are base + /studies/<Study UID>/<Series
// UID>/..., whatever view the file is read through (UIDs are URL-safe).
//
// Tiles are persisted through the derived cache and their sizes are not
// cheap (ls does not render them); the cache key is the canonical request,
// so equivalent requests share one rendering.
#pragma once

#include <memory>
#include <string>

#include "fs/derived/derived_files.h"
#include "fs/iiif/iiif_images.h"

namespace dcmfs {

struct IiifOptions {
  // Scheme, host and path prefix under which the mount's root is published,
  // without a trailing slash (`dcmfs mount -o iiif_base=https://host/prefix`).
  std::string base = "http://localhost";
  iiif::IiifPixelsOptions pixels;
};

void RegisterIiifProviders(DerivedFiles& derived, const IiifOptions& options);

}  // namespace dcmfs
