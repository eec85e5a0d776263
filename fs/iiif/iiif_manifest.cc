#include "fs/iiif/iiif_manifest.h"

#include <nlohmann/json.hpp>

namespace dcmfs::iiif {
namespace {

using Json = nlohmann::ordered_json;

std::string Trim(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

Json Label(const std::string& text) { return Json{{"none", Json::array({text})}}; }

std::string SeriesPath(const std::string& base, const SeriesRef& s) {
  if (!s.path.empty()) return base + "/" + s.path;
  return base + "/studies/" + s.study_uid + "/" + s.series_uid;
}

// The smallest full-image size the service lists (a canonical, listed file).
std::string ThumbnailPath(const IiifImage& image, uint32_t& w, uint32_t& h) {
  w = image.width;
  h = image.height;
  if (!image.info.sizes.empty()) {
    w = image.info.sizes.front().first;
    h = image.info.sizes.front().second;
  }
  if (w == image.width && h == image.height) return "full/max/0/default.jpg";
  return "full/" + std::to_string(w) + "," + std::to_string(h) + "/0/default.jpg";
}

Json Canvas(const std::string& base, const SeriesRef& series, const IiifImage& image) {
  const std::string service = ServiceId(base, series, image.id);
  const std::string canvas_id = SeriesPath(base, series) + "/canvas/" + image.id;
  Json service_ref = Json::array({Json{{"id", service}, {"type", "ImageService3"}, {"profile", "level2"}}});
  Json body{{"id", service + "/full/max/0/default.jpg"},
            {"type", "Image"},
            {"format", "image/jpeg"},
            {"width", image.width},
            {"height", image.height},
            {"service", service_ref}};
  Json annotation{{"id", canvas_id + "/annotation/1"},
                  {"type", "Annotation"},
                  {"motivation", "painting"},
                  {"body", body},
                  {"target", canvas_id}};
  uint32_t tw = 0, th = 0;
  const std::string thumb = ThumbnailPath(image, tw, th);
  Json thumbnail = Json::array({Json{{"id", service + "/" + thumb},
                                     {"type", "Image"},
                                     {"format", "image/jpeg"},
                                     {"width", tw},
                                     {"height", th},
                                     {"service", service_ref}}});
  return Json{{"id", canvas_id},
              {"type", "Canvas"},
              {"label", Label(image.label)},
              {"width", image.width},
              {"height", image.height},
              {"thumbnail", thumbnail},
              {"items", Json::array({Json{{"id", canvas_id + "/page/1"},
                                          {"type", "AnnotationPage"},
                                          {"items", Json::array({annotation})}}})}};
}

Json ManifestHead(const std::string& id, const std::string& label) {
  return Json{{"@context", "http://iiif.io/api/presentation/3/context.json"},
              {"id", id},
              {"type", "Manifest"},
              {"label", Label(label)}};
}

}  // namespace

std::string ServiceId(const std::string& base, const SeriesRef& series, const std::string& image_id) {
  return SeriesPath(base, series) + "/iiif/" + image_id;
}

std::string SeriesLabel(const SeriesRecord& series) {
  std::string label;
  if (series.number) label = std::to_string(*series.number) + " ";
  label += series.modality;
  if (!series.description.empty()) label += " " + series.description;
  label = Trim(label);
  return label.empty() ? "Series" : label;
}

std::string SeriesManifestJson(const std::string& base, const SeriesRef& series) {
  Json m = ManifestHead(SeriesPath(base, series) + "/manifest.json", series.label);
  Json items = Json::array();
  if (series.images) {
    for (const IiifImage& image : series.images->images) items.push_back(Canvas(base, series, image));
  }
  if (!items.empty()) m["thumbnail"] = items.front()["thumbnail"];
  m["items"] = items;
  return m.dump(2) + "\n";
}

std::string StudyManifestJson(const std::string& base, const std::string& id,
                              const std::vector<SeriesRef>& series) {
  Json m = ManifestHead(id, "Study");
  Json items = Json::array(), ranges = Json::array();
  for (const SeriesRef& s : series) {
    if (!s.images || s.images->images.empty()) continue;
    Json range_items = Json::array();
    for (const IiifImage& image : s.images->images) {
      Json canvas = Canvas(base, s, image);
      range_items.push_back(Json{{"id", canvas["id"]}, {"type", "Canvas"}});
      items.push_back(std::move(canvas));
    }
    ranges.push_back(Json{{"id", SeriesPath(base, s) + "/range"},
                          {"type", "Range"},
                          {"label", Label(s.label)},
                          {"items", range_items}});
  }
  if (!items.empty()) m["thumbnail"] = items.front()["thumbnail"];
  m["items"] = items;
  m["structures"] = ranges;
  return m.dump(2) + "\n";
}

}  // namespace dcmfs::iiif
