// Derived files in /anonymized series folders: the same volumes, pictures
// and meshes as in the identified view (providers whose pixels_only() is
// true: pixel values and geometry, nothing identifying), and series.json
// reduced to acquisition fields, and IIIF under pseudonymous ids
// (anon_iiif.h). A series with an image excluded for possible burned-in text
// gets none of them: its pixels would show it.
#include <set>

#include <nlohmann/json.hpp>

#include "fs/anonymized/anon_providers.h"
#include "fs/anonymized/anon_tree.h"

namespace dcmfs {
namespace {

// The sidecar's kind (fs/derived/volume_providers.h).
constexpr std::string_view kSidecarKind = "sidecar";

// Sidecar fields kept in the anonymized view: physics of the acquisition and
// the conversion, none of the fields PS3.15 Annex E removes or replaces
// (dates, times, UIDs, names, institution, station, serial numbers,
// descriptions, protocol names), so an unknown field is dropped by default.
const std::set<std::string, std::less<>>& KeptSidecarFields() {
  static const std::set<std::string, std::less<>> kept = {
      "Modality", "MagneticFieldStrength", "ImagingFrequency", "Manufacturer",
      "ManufacturersModelName", "BodyPartExamined", "PatientPosition", "MRAcquisitionType",
      "ScanningSequence", "SequenceVariant", "ScanOptions", "ImageType", "SliceThickness",
      "SpacingBetweenSlices", "EchoNumber", "EchoTime", "RepetitionTime", "InversionTime",
      "FlipAngle", "EchoTrainLength", "PercentPhaseFOV", "PercentSampling", "PixelBandwidth",
      "PhaseEncodingSteps", "AcquisitionMatrixPE", "ReconMatrixPE", "PartialFourier",
      "SliceTiming", "ImageOrientationPatientDICOM", "InPlanePhaseEncodingDirectionDICOM",
      "KVP", "XRayTubeCurrent", "ExposureTime", "XRayExposure", "ReconstructionDiameter",
      "GantryDetectorTilt", "ConversionSoftware", "ConversionSoftwareVersion"};
  return kept;
}

Result<std::string> ReadContent(const DerivedContent& content) {
  std::string bytes(content.size(), '\0');
  ASSIGN_OR_RETURN(size_t n, content.ReadAt(0, std::span<uint8_t>(
                                                   reinterpret_cast<uint8_t*>(bytes.data()),
                                                   bytes.size())));
  bytes.resize(n);
  return bytes;
}

Result<std::string> ReducedSidecar(const std::string& text) {
  nlohmann::json in = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!in.is_object()) return Status::Internal("series.json is not a JSON object");
  nlohmann::json out = nlohmann::json::object();
  for (auto it = in.begin(); it != in.end(); ++it) {
    if (KeptSidecarFields().count(it.key()) != 0) out[it.key()] = it.value();
  }
  return out.dump(2) + "\n";
}

}  // namespace

Result<SeriesContext> AnonymizedTree::AnonSeriesContext(const std::string& series_uid,
                                                        InodeId folder) const {
  SeriesContext ctx;
  ctx.catalog = &catalog_;
  ctx.blobs = &blobs_;
  ctx.view = View::kAnonymized;
  ctx.folder_ino = folder;
  ctx.derived = &derived_;
  ASSIGN_OR_RETURN(ctx.series, catalog_.GetSeries(series_uid));
  return ctx;
}

Result<SeriesContext> AnonymizedTree::IiifSeriesContext(const std::string& series_uid) const {
  ASSIGN_OR_RETURN(SeriesContext ctx, AnonSeriesContext(series_uid, 0));
  // The identified IIIF provider serves no anonymized context (its ids are
  // original UIDs); AnonIiif maps every id and path around it.
  ctx.view = View::kPatients;
  return ctx;
}

void AnonymizedTree::AddDerivedFiles(AnonListing& out, const Node& series, InodeId self,
                                     int64_t mtime) const {
  Result<SeriesContext> ctx = AnonSeriesContext(series.ref, self);
  if (!ctx.ok()) return;
  std::vector<VirtualChild> children = derived_.List(*ctx, "", /*pixels_only=*/true);
  for (VirtualChild& child : derived_.List(*ctx, "")) {
    std::optional<DerivedName> m = child.folder ? std::nullopt : derived_.Match(*ctx, child.name);
    if (m && m->provider->kind() == kSidecarKind) children.push_back(std::move(child));
  }
  if (Result<SeriesContext> iiif = IiifSeriesContext(series.ref); iiif.ok()) {
    for (VirtualChild& child : providers_->iiif.List(*iiif, "")) {
      children.push_back(std::move(child));
    }
  }
  for (VirtualChild& child : children) {
    AnonChild c;
    c.name = std::move(child.name);
    c.size_is_cheap = child.size_is_cheap;
    const NodeKind kind = child.folder ? NodeKind::kVirtualFolder : NodeKind::kVirtual;
    c.ino = VirtualInodeOf(series.ref, "derived/" + c.name + (child.folder ? "/" : ""));
    c.node = Node{kind, View::kAnonymized, series.ref, c.name, self, 0, mtime, series.patient_key};
    out.children.push_back(std::move(c));
  }
}

Result<AnonListing> AnonymizedTree::ListDerivedFolder(const Node& folder) const {
  const InodeId self = VirtualInodeOf(folder.ref, "derived/" + folder.name + "/");
  ASSIGN_OR_RETURN(SeriesContext ctx, AnonSeriesContext(folder.ref, self));
  std::vector<VirtualChild> children;
  if (AnonIiif::Claims(folder.name)) {
    ASSIGN_OR_RETURN(SeriesContext iiif, IiifSeriesContext(folder.ref));
    children = providers_->iiif.List(iiif, folder.name);
  } else {
    children = derived_.List(ctx, folder.name, /*pixels_only=*/true);
  }
  AnonListing out;
  for (VirtualChild& child : children) {
    AnonChild c;
    const std::string path = folder.name + "/" + child.name;
    c.name = std::move(child.name);
    c.size_is_cheap = child.size_is_cheap;
    const NodeKind kind = child.folder ? NodeKind::kVirtualFolder : NodeKind::kVirtual;
    c.ino = VirtualInodeOf(folder.ref, "derived/" + path + (child.folder ? "/" : ""));
    c.node = Node{kind, View::kAnonymized, folder.ref, path, self, 0, folder.mtime,
                  folder.patient_key};
    out.children.push_back(std::move(c));
  }
  return out;  // sorted by name: DerivedFiles::List sorts
}

Result<std::shared_ptr<DerivedContent>> AnonymizedTree::DerivedFileContent(const Node& file) const {
  if (AnonIiif::Claims(file.name)) {
    ASSIGN_OR_RETURN(SeriesContext iiif, IiifSeriesContext(file.ref));
    return providers_->iiif.Content(iiif, file.patient_key, file.name);
  }
  ASSIGN_OR_RETURN(SeriesContext ctx, AnonSeriesContext(file.ref, file.parent));
  if (std::optional<DerivedName> m = derived_.Match(ctx, file.name, /*pixels_only=*/true)) {
    return derived_.Get(ctx, *m);
  }
  std::optional<DerivedName> m = derived_.Match(ctx, file.name);
  if (!m || m->provider->kind() != kSidecarKind) return Status::NotFound("no such anonymized file");
  ASSIGN_OR_RETURN(std::shared_ptr<DerivedContent> full, derived_.Get(ctx, *m));
  ASSIGN_OR_RETURN(std::string text, ReadContent(*full));
  ASSIGN_OR_RETURN(std::string reduced, ReducedSidecar(text));
  return std::shared_ptr<DerivedContent>(std::make_shared<StringContent>(std::move(reduced)));
}

std::optional<AnonChild> AnonymizedTree::LookupUnlisted(const Node& folder,
                                                       std::string_view name) {
  if (folder.kind != NodeKind::kVirtualFolder) return std::nullopt;
  const std::string path = folder.name + "/" + std::string(name);
  if (!AnonIiif::Claims(path)) return std::nullopt;
  Result<SeriesContext> ctx = IiifSeriesContext(folder.ref);
  if (!ctx.ok()) return std::nullopt;
  const bool is_folder = providers_->iiif.IsFolder(*ctx, path);
  if (!is_folder && !providers_->iiif.IsFile(*ctx, path)) return std::nullopt;
  // The inode and node a listing would have given it (ListDerivedFolder).
  AnonChild c;
  c.name = std::string(name);
  c.size_is_cheap = false;
  const InodeId self = VirtualInodeOf(folder.ref, "derived/" + folder.name + "/");
  c.ino = VirtualInodeOf(folder.ref, "derived/" + path + (is_folder ? "/" : ""));
  c.node = Node{is_folder ? NodeKind::kVirtualFolder : NodeKind::kVirtual, View::kAnonymized,
                folder.ref, path, self, 0, folder.mtime, folder.patient_key};
  return c;
}

}  // namespace dcmfs
