// IIIF Presentation API 3.0 manifests (https://iiif.io/api/presentation/3.0/)
// for a series (one Canvas per image, in the series' spatial order, each
// painted by its Image API service) and for a study (every series' canvases,
// each series a Range in "structures").
//
// Labels are the SeriesRef's and the images' (SeriesLabel: SeriesDescription,
// Modality, Series Number; Instance Number): nothing that identifies the
// patient. Plain functions.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fs/iiif/iiif_images.h"

namespace dcmfs::iiif {

struct SeriesRef {
  std::string study_uid;
  std::string series_uid;
  std::string label;  // "3 CT Chest 1.0" (number, modality, description)
  std::shared_ptr<const SeriesImages> images;
  // Where the series folder is published, relative to the base and already
  // URL-encoded; "" = "studies/<study>/<series>". The anonymized view's
  // manifests point into /anonymized (fs/anonymized/anon_iiif.h).
  std::string path;
};

// The URL of an image service: base + /<path>/iiif/<id>.
std::string ServiceId(const std::string& base, const SeriesRef& series, const std::string& image_id);

// A series label from its record fields: "<number> <modality> <description>".
std::string SeriesLabel(const SeriesRecord& series);

// The manifest published at base + /<path>/manifest.json.
std::string SeriesManifestJson(const std::string& base, const SeriesRef& series);

// The study manifest published at `id`, series in the given order.
std::string StudyManifestJson(const std::string& base, const std::string& id,
                              const std::vector<SeriesRef>& series);

}  // namespace dcmfs::iiif
