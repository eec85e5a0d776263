// IIIF in /anonymized series folders: the identified view's image services
// and manifests (fs/iiif/) under pseudonymous ids.
//
//   manifest.json, iiif/study-manifest.json, iiif/<id>/info.json,
//   iiif/<id>/{region}/{size}/{rotation}/{quality}.{format}
//
// Image ids are the identified ones with each UID mapped by DeidKeys::MapUid,
// so they are the UIDs the de-identified .dcm files carry: "<SOP>", "<SOP>.fN"
// and, for a whole-slide pyramid, the Series Instance UID, all as 2.25.<n>.
// Every id and URL points into /anonymized: <iiif_base>/anonymized/
// <pseudonym>/<study>/<series>/... (folder names percent-encoded). Labels are
// "<SeriesNumber> <Modality>", "Instance N[ frame k]", "Slide" and "Study":
// no free text, date or original UID reaches a byte. Tiles are the identified
// provider's files (pixels only): the same bytes and the same cache entries.
// The study manifest holds only the series whose anonymized folders show
// derived files (none of their images excluded for burned-in text).
//
// info.json and manifests are produced through DerivedFiles (single flight,
// memory LRU; not persisted: they are cheap and keyed by the secret).
// Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/lru.h"
#include "base/status.h"
#include "fs/derived/provider.h"

namespace dcmfs {

class AnonymizedTree;

class AnonIiif {
 public:
  // `tree` must outlive this object; its options carry the URL base.
  explicit AnonIiif(AnonymizedTree* tree);
  ~AnonIiif();
  AnonIiif(const AnonIiif&) = delete;
  AnonIiif& operator=(const AnonIiif&) = delete;

  // Whether `path` (relative to a series folder) is in IIIF's part of it.
  static bool Claims(std::string_view path);

  // `ctx` below is the series' identified context (view kPatients): the
  // pixels and tile names come from the identified provider.

  // The children of `folder` ("" = the series folder itself: manifest.json
  // and iiif/, when the series has images). Empty when nothing is there.
  std::vector<VirtualChild> List(const SeriesContext& ctx, std::string_view folder);
  // Whether `path` is a folder (listed or a valid request prefix) / a file.
  bool IsFolder(const SeriesContext& ctx, std::string_view path);
  bool IsFile(const SeriesContext& ctx, std::string_view path);
  // The content of the file `path` of the series folder of `patient_key`.
  // NotFound if there is no such file.
  Result<std::shared_ptr<DerivedContent>> Content(const SeriesContext& ctx,
                                                  const std::string& patient_key,
                                                  std::string_view path);

 private:
  class Provider;
  struct Images;
  struct StudyEntry;
  friend class Provider;

  Result<std::shared_ptr<const Images>> ImagesOf(const SeriesContext& ctx);
  // The original path under iiif/ for an anonymized one ("" if not an image's).
  std::string Translate(const Images& images, std::string_view path) const;
  Result<std::string> SeriesPath(const SeriesContext& ctx, const std::string& patient_key);
  Result<std::vector<StudyEntry>> StudySeries(const SeriesContext& ctx,
                                              const std::string& patient_key);
  Result<std::string> Produce(const SeriesContext& ctx, std::string_view params);
  Result<std::string> StudyManifest(const SeriesContext& ctx, const std::string& patient_key,
                                    const std::string& series_path);

  AnonymizedTree* const tree_;
  std::unique_ptr<Provider> provider_;
  std::mutex mu_;                                                // leaf
  LruCache<std::string, std::shared_ptr<const Images>> images_;  // GUARDED_BY(mu_)
};

}  // namespace dcmfs
