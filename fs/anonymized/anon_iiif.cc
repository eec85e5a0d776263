#include "fs/anonymized/anon_iiif.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>

#include "codecs/sha256.h"
#include "fs/anonymized/anon_tree.h"
#include "fs/iiif/iiif_images.h"
#include "fs/iiif/iiif_info.h"
#include "fs/iiif/iiif_manifest.h"

namespace dcmfs {
namespace {

constexpr std::string_view kManifest = "manifest.json";
constexpr std::string_view kIiifDir = "iiif";
constexpr std::string_view kStudyManifestPath = "iiif/study-manifest.json";
constexpr std::string_view kStudyManifest = "study-manifest.json";
constexpr std::string_view kIdentifiedKind = "iiif";  // fs/iiif/iiif_providers.cc
constexpr size_t kImageCacheEntries = 64;             // series whose mapped ids are kept

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

// Params are '\n'-joined: no field holds a newline (encoded paths, 2.25 ids,
// a base URL from the command line, hex).
std::string Join(std::initializer_list<std::string_view> fields) {
  std::string out;
  for (std::string_view f : fields) {
    if (!out.empty()) out.push_back('\n');
    out.append(f);
  }
  return out;
}

// RFC 3986 percent-encoding of a path segment: folder names hold spaces.
std::string Encode(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : segment) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

// "<SeriesNumber> <Modality>": the series description is free text that may
// name people or places (PS3.15 E.3.5), so no manifest label carries it.
std::string NeutralLabel(const SeriesRecord& s) {
  std::string label = s.number ? std::to_string(*s.number) : "";
  if (!s.modality.empty()) label += (label.empty() ? "" : " ") + s.modality;
  return label.empty() ? "Series" : label;
}

// The id of `image` with its UID mapped: "<SOP>", "<SOP>.f<N>" or the series
// UID (a pyramid). UIDs are digits and dots, so ".f" can only start the suffix.
std::string MappedId(const DeidKeys& keys, const std::string& id) {
  const size_t f = id.find(".f");
  if (f == std::string::npos) return keys.MapUid(id);
  return keys.MapUid(id.substr(0, f)) + id.substr(f);
}

const AnonChild* FindRef(const AnonListing& listing, std::string_view ref) {
  for (const AnonChild& c : listing.children) {
    if (c.node.ref == ref) return &c;
  }
  return nullptr;
}

}  // namespace

struct AnonIiif::Images {
  std::shared_ptr<const iiif::SeriesImages> mapped;  // ids mapped, same order
  std::vector<std::string> original_ids;             // by index
};

struct AnonIiif::StudyEntry {
  SeriesRecord series;
  std::string path;  // of its anonymized folder, encoded, relative to the base
};

// Hidden (unregistered): AnonIiif hands DerivedFiles names pointing here.
class AnonIiif::Provider final : public DerivedProvider {
 public:
  explicit Provider(AnonIiif* owner) : owner_(owner) {}
  std::string kind() const override { return "anon-iiif"; }
  bool view_dependent() const override { return true; }
  bool persist() const override { return false; }
  bool size_is_cheap() const override { return false; }
  std::vector<std::string> Names(const SeriesContext&) const override { return {}; }
  std::optional<std::string> Match(const SeriesContext&, std::string_view) const override {
    return std::nullopt;
  }
  Result<std::shared_ptr<DerivedContent>> Produce(const SeriesContext& ctx,
                                                  std::string_view params) const override {
    ASSIGN_OR_RETURN(std::string bytes, owner_->Produce(ctx, params));
    return std::shared_ptr<DerivedContent>(std::make_shared<StringContent>(std::move(bytes)));
  }

 private:
  AnonIiif* const owner_;
};

AnonIiif::AnonIiif(AnonymizedTree* tree)
    : tree_(tree), provider_(std::make_unique<Provider>(this)), images_(kImageCacheEntries) {}

AnonIiif::~AnonIiif() = default;

bool AnonIiif::Claims(std::string_view path) {
  return path == kManifest || path == kIiifDir || path.starts_with("iiif/");
}

Result<std::shared_ptr<const AnonIiif::Images>> AnonIiif::ImagesOf(const SeriesContext& ctx) {
  const std::string key = ctx.series.uid + "/" + ctx.series.generation;
  {
    std::lock_guard lock(mu_);
    if (auto hit = images_.Get(key)) return *hit;
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const iiif::SeriesImages> original, iiif::ListSeriesImages(ctx));
  auto mapped = std::make_shared<iiif::SeriesImages>();
  auto out = std::make_shared<Images>();
  for (const iiif::IiifImage& image : original->images) {
    iiif::IiifImage copy = image;
    copy.id = MappedId(tree_->keys(), image.id);
    mapped->by_id[copy.id] = mapped->images.size();
    mapped->images.push_back(std::move(copy));
    out->original_ids.push_back(image.id);
  }
  out->mapped = std::move(mapped);
  std::lock_guard lock(mu_);
  images_.Put(key, out, 1);
  return std::shared_ptr<const Images>(out);
}

std::string AnonIiif::Translate(const Images& images, std::string_view path) const {
  std::vector<std::string_view> parts = Split(path, '/');
  if (parts.size() < 2 || parts[0] != kIiifDir) return "";
  const auto it = images.mapped->by_id.find(parts[1]);
  if (it == images.mapped->by_id.end()) return "";
  std::string out = "iiif/" + images.original_ids[it->second];
  for (size_t i = 2; i < parts.size(); ++i) out += "/" + std::string(parts[i]);
  return out;
}

std::vector<VirtualChild> AnonIiif::List(const SeriesContext& ctx, std::string_view folder) {
  Result<std::shared_ptr<const Images>> images = ImagesOf(ctx);
  if (!images.ok() || (*images)->mapped->images.empty()) return {};
  if (folder.empty()) {
    return {{std::string(kIiifDir), true, true}, {std::string(kManifest), false, false}};
  }
  if (folder == kIiifDir) {
    std::vector<VirtualChild> out;
    for (const iiif::IiifImage& image : (*images)->mapped->images) {
      out.push_back({image.id, true, true});
    }
    out.push_back({std::string(kStudyManifest), false, false});
    std::sort(out.begin(), out.end(),
              [](const VirtualChild& a, const VirtualChild& b) { return a.name < b.name; });
    return out;
  }
  const std::string original = Translate(**images, folder);
  if (original.empty()) return {};
  // Below iiif/<id>/: info.json and tile folders, named by the request alone.
  return tree_->derived_.List(ctx, original);
}

bool AnonIiif::IsFolder(const SeriesContext& ctx, std::string_view path) {
  Result<std::shared_ptr<const Images>> images = ImagesOf(ctx);
  if (!images.ok() || (*images)->mapped->images.empty()) return false;
  if (path == kIiifDir) return true;
  const std::string original = Translate(**images, path);
  return !original.empty() && tree_->derived_.IsFolder(ctx, original);
}

bool AnonIiif::IsFile(const SeriesContext& ctx, std::string_view path) {
  Result<std::shared_ptr<const Images>> images = ImagesOf(ctx);
  if (!images.ok() || (*images)->mapped->images.empty()) return false;
  if (path == kManifest || path == kStudyManifestPath) return true;
  const std::string original = Translate(**images, path);
  if (original.empty()) return false;
  std::optional<DerivedName> m = tree_->derived_.Match(ctx, original);
  return m && m->provider->kind() == kIdentifiedKind;
}

namespace {

// The anonymized folders of ctx's study, from the tree's own listings, so
// that URLs name exactly the folders a reader sees (clash suffixes included).
struct StudyFolder {
  std::string path;                           // "anonymized/<patient>/<study>", encoded
  std::shared_ptr<const AnonListing> series;  // the study folder's listing
};

Result<StudyFolder> StudyFolderOf(AnonymizedTree& tree, const std::string& patient_key,
                                  const std::string& study_uid) {
  ASSIGN_OR_RETURN(std::shared_ptr<const AnonListing> patients, tree.List(kAnonymizedIno, nullptr));
  const AnonChild* patient = FindRef(*patients, patient_key);
  if (patient == nullptr) return Status::NotFound("anonymized patient folder not found");
  ASSIGN_OR_RETURN(std::shared_ptr<const AnonListing> studies,
                   tree.List(patient->ino, &patient->node));
  const AnonChild* study = FindRef(*studies, study_uid);
  if (study == nullptr) return Status::NotFound("anonymized study folder not found");
  ASSIGN_OR_RETURN(std::shared_ptr<const AnonListing> series, tree.List(study->ino, &study->node));
  return StudyFolder{"anonymized/" + Encode(patient->name) + "/" + Encode(study->name),
                     std::move(series)};
}

}  // namespace

// The series of ctx's study whose anonymized folders show derived files
// (no image left out), each with its folder's path.
Result<std::vector<AnonIiif::StudyEntry>> AnonIiif::StudySeries(const SeriesContext& ctx,
                                                                const std::string& patient_key) {
  ASSIGN_OR_RETURN(StudyFolder study, StudyFolderOf(*tree_, patient_key, ctx.series.study_uid));
  std::vector<StudyEntry> out;
  for (const AnonChild& c : study.series->children) {
    if (c.node.kind != NodeKind::kSeries) continue;
    ASSIGN_OR_RETURN(std::shared_ptr<const AnonListing> listing, tree_->List(c.ino, &c.node));
    if (!listing->excluded.empty()) continue;
    ASSIGN_OR_RETURN(SeriesRecord series, tree_->catalog_.GetSeries(c.node.ref));
    out.push_back({std::move(series), study.path + "/" + Encode(c.name)});
  }
  return out;
}

// ctx's own folder; NotFound when the series shows no derived files.
Result<std::string> AnonIiif::SeriesPath(const SeriesContext& ctx, const std::string& patient_key) {
  ASSIGN_OR_RETURN(std::vector<StudyEntry> entries, StudySeries(ctx, patient_key));
  for (const StudyEntry& e : entries) {
    if (e.series.uid == ctx.series.uid) return e.path;
  }
  return Status::NotFound("no IIIF in this anonymized series folder");
}

Result<std::shared_ptr<DerivedContent>> AnonIiif::Content(const SeriesContext& ctx,
                                                          const std::string& patient_key,
                                                          std::string_view path) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Images> images, ImagesOf(ctx));
  const std::vector<std::string_view> parts = Split(path, '/');
  const bool info = parts.size() == 3 && parts[0] == kIiifDir && parts[2] == "info.json";
  if (path == kManifest || path == kStudyManifestPath || info) {
    if (info && images->mapped->Find(parts[1]) == nullptr) return Status::NotFound("no such image");
    // Keyed by the options and secret (fingerprint) and the folders' paths:
    // ids and URLs change with either.
    ASSIGN_OR_RETURN(std::string series_path, SeriesPath(ctx, patient_key));
    const std::string& fp = tree_->fingerprint();
    std::string params;
    if (path == kManifest) {
      params = Join({"manifest", fp, series_path});
    } else if (info) {
      params = Join({"info", fp, series_path, parts[1]});
    } else {
      ASSIGN_OR_RETURN(std::vector<StudyEntry> entries, StudySeries(ctx, patient_key));
      std::string key;
      for (const StudyEntry& e : entries)
        key += e.series.uid + ":" + e.series.generation + ":" + e.path + ";";
      params = Join({"study", fp, series_path, patient_key, ToHex(Sha256(key))});
    }
    return tree_->derived_.Get(ctx, DerivedName{provider_.get(), std::string(path), params});
  }
  // A tile: the identified file, which holds pixels only.
  const std::string original = Translate(*images, path);
  std::optional<DerivedName> m;
  if (!original.empty()) m = tree_->derived_.Match(ctx, original);
  if (!m || m->provider->kind() != kIdentifiedKind) return Status::NotFound("no such IIIF file");
  // Never for a series with an image left out (its folder lists no iiif/).
  Node series{NodeKind::kSeries, View::kAnonymized, ctx.series.uid, "", 0, 0, 0, patient_key};
  ASSIGN_OR_RETURN(std::shared_ptr<const AnonListing> listing,
                   tree_->List(tree_->InodeOf(NodeKind::kSeries, ctx.series.uid), &series));
  if (!listing->excluded.empty()) return Status::NotFound("no IIIF in this anonymized series");
  return tree_->derived_.Get(ctx, *m);
}

Result<std::string> AnonIiif::Produce(const SeriesContext& ctx, std::string_view params) {
  const std::vector<std::string_view> f = Split(params, '\n');
  ASSIGN_OR_RETURN(std::shared_ptr<const Images> images, ImagesOf(ctx));
  const std::string& base = tree_->options().iiif_base;
  if (f[0] == "manifest" && f.size() == 3) {
    iiif::SeriesRef ref{"", "", NeutralLabel(ctx.series), images->mapped, std::string(f[2])};
    return iiif::SeriesManifestJson(base, ref);
  }
  if (f[0] == "info" && f.size() == 4) {
    const iiif::IiifImage* image = images->mapped->Find(f[3]);
    if (image == nullptr) return Status::NotFound("no such image");
    iiif::SeriesRef ref{"", "", "", images->mapped, std::string(f[2])};
    return iiif::InfoJson(image->info, iiif::ServiceId(base, ref, image->id));
  }
  if (f[0] == "study" && f.size() == 5) {
    return StudyManifest(ctx, std::string(f[3]), std::string(f[2]));
  }
  return Status::InvalidArgument("anon-iiif: malformed parameters");
}

Result<std::string> AnonIiif::StudyManifest(const SeriesContext& ctx,
                                            const std::string& patient_key,
                                            const std::string& series_path) {
  ASSIGN_OR_RETURN(std::vector<StudyEntry> entries, StudySeries(ctx, patient_key));
  std::vector<iiif::SeriesRef> refs;
  for (StudyEntry& e : entries) {
    SeriesContext other = ctx;
    other.series = e.series;
    ASSIGN_OR_RETURN(std::shared_ptr<const Images> images, ImagesOf(other));
    refs.push_back({"", "", NeutralLabel(e.series), images->mapped, std::move(e.path)});
  }
  std::sort(refs.begin(), refs.end(), [](const iiif::SeriesRef& a, const iiif::SeriesRef& b) {
    return a.label != b.label ? a.label < b.label : a.path < b.path;
  });
  const std::string& base = tree_->options().iiif_base;
  return iiif::StudyManifestJson(
      base, base + "/" + series_path + "/" + std::string(kStudyManifestPath), refs);
}

}  // namespace dcmfs
