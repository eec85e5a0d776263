#include "fs/iiif/iiif_providers.h"

#include <algorithm>
#include <set>
#include <vector>

#include "base/log.h"
#include "codecs/sha256.h"
#include "fs/iiif/iiif_manifest.h"
#include "fs/iiif/iiif_render.h"

namespace dcmfs {
namespace {

using iiif::IiifImage;
using iiif::SeriesImages;

constexpr std::string_view kManifest = "manifest.json";
constexpr std::string_view kStudyManifest = "study-manifest.json";
constexpr std::string_view kIiifDir = "iiif";

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    parts.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

// Params are '\n'-joined fields: none of them can hold a newline (UIDs,
// canonical IIIF paths, a URL base given on the command line).
std::string Join(std::initializer_list<std::string_view> fields) {
  std::string out;
  for (std::string_view f : fields) {
    if (!out.empty()) out.push_back('\n');
    out.append(f);
  }
  return out;
}

class IiifProvider final : public DerivedProvider {
 public:
  explicit IiifProvider(const IiifOptions& options)
      : options_(options), pixels_(std::make_shared<iiif::IiifPixels>(options.pixels)) {}

  std::string kind() const override { return "iiif"; }
  bool view_dependent() const override { return false; }
  bool persist() const override { return true; }
  bool size_is_cheap() const override { return false; }

  std::vector<std::string> Names(const SeriesContext& ctx) const override {
    auto images = Images(ctx);
    if (!images || images->images.empty()) return {};
    return {std::string(kManifest), std::string(kIiifDir) + "/" + std::string(kStudyManifest)};
  }

  std::vector<VirtualChild> List(const SeriesContext& ctx, std::string_view folder) const override;
  bool IsFolder(const SeriesContext& ctx, std::string_view path) const override;
  std::optional<std::string> Match(const SeriesContext& ctx, std::string_view name) const override;
  Result<std::shared_ptr<DerivedContent>> Produce(const SeriesContext& ctx,
                                                  std::string_view params) const override;

 private:
  std::shared_ptr<const SeriesImages> Images(const SeriesContext& ctx) const {
    if (ctx.view == View::kAnonymized) return nullptr;  // never identified UIDs there
    auto images = pixels_->Images(ctx);
    if (!images.ok()) {
      DCMFS_LOG(Warning) << "iiif: images of a series: " << images.status().ToString();
      return nullptr;
    }
    return *images;
  }

  // The request under iiif/<id>/ given by `parts` (region, size, rotation,
  // quality.format; missing trailing parts are accepted as "any").
  static Result<iiif::Resolved> ResolveParts(const IiifImage& image,
                                             const std::vector<std::string_view>& parts) {
    iiif::Request request;
    if (parts.size() > 0) {
      ASSIGN_OR_RETURN(request.region, iiif::ParseRegion(parts[0]));
    }
    if (parts.size() > 1) {
      ASSIGN_OR_RETURN(request.size, iiif::ParseSize(parts[1]));
    }
    if (parts.size() > 2) {
      ASSIGN_OR_RETURN(auto rotation, iiif::ParseRotation(parts[2]));
      request.rotation = rotation.first;
      request.mirror = rotation.second;
    }
    if (parts.size() > 3) {
      ASSIGN_OR_RETURN(auto qf, iiif::ParseQualityFormat(parts[3]));
      request.quality = qf.first;
      request.format = qf.second;
    }
    return iiif::Resolve(request, image.width, image.height, image.info.limits);
  }

  std::string StudyParams(const SeriesContext& ctx) const;
  Result<std::string> StudyManifest(const SeriesContext& ctx) const;

  const IiifOptions options_;
  std::shared_ptr<iiif::IiifPixels> pixels_;
};

std::vector<VirtualChild> IiifProvider::List(const SeriesContext& ctx,
                                             std::string_view folder) const {
  auto images = Images(ctx);
  if (!images || images->images.empty()) return {};
  std::vector<VirtualChild> out;
  if (folder.empty()) return {{std::string(kIiifDir), true}, {std::string(kManifest), false}};
  const std::vector<std::string_view> parts = Split(folder);
  if (parts[0] != kIiifDir) return {};
  if (parts.size() == 1) {
    for (const IiifImage& image : images->images) out.push_back({image.id, true});
    out.push_back({std::string(kStudyManifest), false});
    return out;
  }
  const IiifImage* image = images->Find(parts[1]);
  if (image == nullptr) return {};
  // The children at depth parts.size() - 2 of the canonical paths under the prefix.
  std::string prefix;
  for (size_t i = 2; i < parts.size(); ++i) prefix += std::string(parts[i]) + "/";
  if (parts.size() == 2) out.push_back({"info.json", false});
  std::string last;
  for (const std::string& path : iiif::CanonicalTileSet(image->info)) {
    if (!path.starts_with(prefix)) continue;
    const std::string_view rest = std::string_view(path).substr(prefix.size());
    const size_t slash = rest.find('/');
    std::string child(rest.substr(0, slash));
    if (child == last) continue;
    last = child;
    out.push_back({std::move(child), slash != std::string_view::npos});
  }
  std::sort(out.begin(), out.end(), [](const VirtualChild& a, const VirtualChild& b) { return a.name < b.name; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const VirtualChild& a, const VirtualChild& b) { return a.name == b.name; }),
            out.end());
  return out;
}

bool IiifProvider::IsFolder(const SeriesContext& ctx, std::string_view path) const {
  const std::vector<std::string_view> parts = Split(path);
  if (parts.empty() || parts[0] != kIiifDir || parts.size() > 5) return false;
  auto images = Images(ctx);
  if (!images || images->images.empty()) return false;
  if (parts.size() == 1) return true;
  const IiifImage* image = images->Find(parts[1]);
  if (image == nullptr) return false;
  if (parts.size() == 2) return true;
  // iiif/<id>/<region>[/<size>[/<rotation>]]: folders when what they hold so far is valid.
  return ResolveParts(*image, {parts.begin() + 2, parts.end()}).ok();
}

std::optional<std::string> IiifProvider::Match(const SeriesContext& ctx,
                                               std::string_view name) const {
  const std::vector<std::string_view> parts = Split(name);
  const bool manifest = parts.size() == 1 && parts[0] == kManifest;
  const bool study = parts.size() == 2 && parts[0] == kIiifDir && parts[1] == kStudyManifest;
  const bool info = parts.size() == 3 && parts[0] == kIiifDir && parts[2] == "info.json";
  const bool tile = parts.size() == 6 && parts[0] == kIiifDir;
  if (!manifest && !study && !info && !tile) return std::nullopt;
  auto images = Images(ctx);
  if (!images || images->images.empty()) return std::nullopt;
  if (manifest) return Join({"manifest", options_.base});
  if (study) return StudyParams(ctx);
  const IiifImage* image = images->Find(parts[1]);
  if (image == nullptr) return std::nullopt;
  if (info) return Join({"info", image->id, options_.base});
  auto resolved = ResolveParts(*image, {parts.begin() + 2, parts.end()});
  if (!resolved.ok()) return std::nullopt;
  return Join({"tile", image->id, iiif::CanonicalPath(*resolved, image->width, image->height)});
}

// The study manifest depends on every series of the study: their UIDs and
// generations are hashed into its cache key.
std::string IiifProvider::StudyParams(const SeriesContext& ctx) const {
  std::string key;
  auto study = ctx.catalog->Lookup(kStudiesIno, ctx.series.study_uid);
  if (study.ok()) {
    Status listed = ctx.catalog->List(study->ino, "", [&](const DirEntry& e) {
      if (e.kind != NodeKind::kSeries) return true;
      auto series = ctx.catalog->GetSeries(e.ref);
      key += e.ref + ":" + (series.ok() ? series->generation : std::string()) + ";";
      return true;
    });
    (void)listed;  // a failed listing gives a key that will not match later
  }
  const Digest d = Sha256({reinterpret_cast<const uint8_t*>(key.data()), key.size()});
  return Join({"study", options_.base, ToHex(d)});
}

Result<std::string> IiifProvider::StudyManifest(const SeriesContext& ctx) const {
  ASSIGN_OR_RETURN(DirEntry study, ctx.catalog->Lookup(kStudiesIno, ctx.series.study_uid));
  std::vector<std::string> uids;
  RETURN_IF_ERROR(ctx.catalog->List(study.ino, "", [&](const DirEntry& e) {
    if (e.kind == NodeKind::kSeries) uids.push_back(e.ref);
    return true;
  }));
  std::vector<iiif::SeriesRef> refs;
  for (const std::string& uid : uids) {
    SeriesContext other = ctx;
    ASSIGN_OR_RETURN(other.series, ctx.catalog->GetSeries(uid));
    ASSIGN_OR_RETURN(auto images, pixels_->Images(other));
    refs.push_back({other.series.study_uid, uid, iiif::SeriesLabel(other.series), images, ""});
  }
  std::sort(refs.begin(), refs.end(), [](const iiif::SeriesRef& a, const iiif::SeriesRef& b) {
    return a.label != b.label ? a.label < b.label : a.series_uid < b.series_uid;
  });
  const std::string id = options_.base + "/studies/" + ctx.series.study_uid + "/" +
                         ctx.series.uid + "/iiif/" + std::string(kStudyManifest);
  return iiif::StudyManifestJson(options_.base, id, refs);
}

Result<std::shared_ptr<DerivedContent>> IiifProvider::Produce(const SeriesContext& ctx,
                                                              std::string_view params) const {
  std::vector<std::string_view> fields;
  {
    size_t start = 0;
    while (start <= params.size()) {
      const size_t nl = params.find('\n', start);
      fields.push_back(params.substr(start, nl == std::string_view::npos ? nl : nl - start));
      if (nl == std::string_view::npos) break;
      start = nl + 1;
    }
  }
  auto content = [](std::string bytes) {
    return std::shared_ptr<DerivedContent>(std::make_shared<StringContent>(std::move(bytes)));
  };
  ASSIGN_OR_RETURN(auto images, pixels_->Images(ctx));
  const std::string kind(fields[0]);
  if (kind == "manifest") {
    iiif::SeriesRef ref{ctx.series.study_uid, ctx.series.uid, iiif::SeriesLabel(ctx.series), images, ""};
    return content(iiif::SeriesManifestJson(options_.base, ref));
  }
  if (kind == "study") {
    ASSIGN_OR_RETURN(std::string json, StudyManifest(ctx));
    return content(std::move(json));
  }
  if (fields.size() != 3) return Status::InvalidArgument("iiif: malformed parameters");
  const IiifImage* image = images->Find(fields[1]);
  if (image == nullptr) return Status::NotFound("iiif: no image " + std::string(fields[1]));
  if (kind == "info") {
    iiif::SeriesRef ref{ctx.series.study_uid, ctx.series.uid, "", images, ""};
    return content(iiif::InfoJson(image->info, iiif::ServiceId(options_.base, ref, image->id)));
  }
  if (kind != "tile") return Status::InvalidArgument("iiif: unknown parameters");
  const std::vector<std::string_view> parts = Split(fields[2]);
  if (parts.size() != 4) return Status::InvalidArgument("iiif: malformed request");
  ASSIGN_OR_RETURN(iiif::Resolved resolved, ResolveParts(*image, parts));
  ASSIGN_OR_RETURN(std::string bytes, pixels_->Render(ctx, *image, resolved));
  return content(std::move(bytes));
}

}  // namespace

void RegisterIiifProviders(DerivedFiles& derived, const IiifOptions& options) {
  derived.Register(std::make_unique<IiifProvider>(options));
}

}  // namespace dcmfs
