// The mesh index, structure-mesh names and encapsulated documents; see
// mesh_providers.h. Structure meshing is in mesh_structures.cc, isosurfaces
// in mesh_iso.cc.
#include "fs/derived/mesh_providers.h"

#include <map>
#include <set>

#include "base/log.h"
#include "codecs/sha256.h"
#include "codecs/structures.h"
#include "fs/derived/derived_files.h"
#include "index/naming.h"
#include "mesh/stl.h"

namespace dcmfs {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

constexpr char kSmoothSuffix[] = "-smooth.stl";

std::string ViewParam(View view) {
  return view == View::kStudies ? "view=studies" : "view=patients";
}

// "mesh/<stem>" for a structure, such that "<stem>.stl" and its twin
// "<stem>-smooth.stl" are both unique in `used`: a clash gets " (<n>)", with
// n the ROI or segment number, which is stable across re-ingests.
std::string UniqueStem(std::string_view raw, const std::string& fallback, int64_t number,
                       std::set<std::string>& used) {
  const std::string stem = "mesh/" + SafeName(raw, fallback);
  auto free = [&](const std::string& s) {
    return !used.count(s + ".stl") && !used.count(s + kSmoothSuffix);
  };
  std::string name = stem;
  if (!free(name)) name = stem + " (" + std::to_string(number) + ")";
  for (int n = 2; !free(name); ++n) {
    name = stem + " (" + std::to_string(number) + "-" + std::to_string(n) + ")";
  }
  used.insert(name + ".stl");
  used.insert(name + kSmoothSuffix);
  return name;
}

// Index lines for a structure mesh and its smoothed twin.
std::string StructureLines(const std::string& stem, const std::string& params) {
  return "structure\t" + stem + ".stl\t" + params + "\n" + "structure\t" + stem + kSmoothSuffix +
         "\t" + params + " smooth\n";
}

bool HasClosedContour(const RtRoi& roi) {
  for (const RtContour& c : roi.contours) {
    // PS3.3 C.8.8.6.1: CLOSED_PLANAR (and CLOSEDPLANAR_XOR, filled the same
    // way by the even-odd rule) delineate areas; POINT and OPEN_* do not.
    if (c.geometric_type.rfind("CLOSED", 0) == 0 && c.points.size() >= 3) return true;
  }
  return false;
}

void IndexStructure(const SeriesContext& ctx, const InstanceRecord& rec,
                    std::set<std::string>& used, std::string& out) {
  const std::string hex = ToHex(rec.digest);
  auto bytes = ctx.blobs->ReadAll(rec.digest);
  if (!bytes.ok()) {
    DCMFS_LOG(Warning) << "mesh index: blob " << hex << ": " << bytes.status().ToString();
    return;
  }
  const std::string& sop = rec.meta.sop_class_uid;
  if (sop == kRtStructureSetStorage) {
    auto rt = ParseRtStructureSet(Bytes(*bytes));
    if (!rt.ok()) {
      DCMFS_LOG(Warning) << "mesh index: " << hex << ": " << rt.status().ToString();
      return;
    }
    for (const RtRoi& roi : rt->rois) {
      if (!HasClosedContour(roi)) continue;
      const std::string stem =
          UniqueStem(roi.name, "roi-" + std::to_string(roi.number), roi.number, used);
      out += StructureLines(stem, "rt " + hex + " " + std::to_string(roi.number));
    }
    return;
  }
  auto seg = ParseSegmentation(Bytes(*bytes));
  if (!seg.ok()) {
    DCMFS_LOG(Warning) << "mesh index: " << hex << ": " << seg.status().ToString();
    return;
  }
  PlaceSegFramesFromSources(ctx, *seg);
  for (const SegSegment& s : seg->segments) {
    // Only segments with frames placed in patient space (PS3.3 C.7.6.16.2.3
    // Plane Position, or the position of the frame's source image): no 3D
    // surface otherwise (projection and slide segmentations have none).
    bool placed = false;
    for (const SegFrame& f : seg->frames) {
      placed |= (seg->type == "LABELMAP" || f.segment_number == s.number) && f.position &&
                (seg->orientation || f.orientation) && seg->pixel_spacing;
    }
    if (!placed) {
      DCMFS_LOG(Warning) << "mesh index: " << hex << ": segment " << s.number
                         << " not meshed: no frame has a Plane Position, and no source image of"
                            " its frames is a single-frame image of a referenced series in the"
                            " archive (or orientation / pixel spacing is missing)";
      continue;
    }
    const std::string stem =
        UniqueStem(s.label, "segment-" + std::to_string(s.number), s.number, used);
    out += StructureLines(stem, "seg " + hex + " " + std::to_string(s.number));
  }
}

std::vector<MeshIndexEntry> ParseIndex(const std::string& text) {
  std::vector<MeshIndexEntry> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    const size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
    if (t1 != std::string_view::npos && t2 != std::string_view::npos) {
      out.push_back({std::string(line.substr(0, t1)), std::string(line.substr(t1 + 1, t2 - t1 - 1)),
                     std::string(line.substr(t2 + 1))});
    }
    pos = end + 1;
  }
  return out;
}

std::optional<std::string> FindInIndex(const SeriesContext& ctx, std::string_view kind,
                                       std::string_view name) {
  for (const MeshIndexEntry& e : MeshIndexFor(ctx)) {
    if (e.kind == kind && e.name == name) return e.params;
  }
  return std::nullopt;
}

std::vector<std::string> NamesOfKind(const SeriesContext& ctx, std::string_view kind) {
  std::vector<std::string> out;
  for (const MeshIndexEntry& e : MeshIndexFor(ctx)) {
    if (e.kind == kind) out.push_back(e.name);
  }
  return out;
}

}  // namespace

uint64_t StlContent::size() const { return mesh::BinaryStlSize(mesh_.triangles.size()); }

Result<size_t> StlContent::ReadAt(uint64_t offset, std::span<uint8_t> out) const {
  return mesh::ReadBinaryStl(mesh_, offset, out);
}

uint64_t StlContent::memory_bytes() const {
  return mesh_.vertices.capacity() * sizeof(mesh::Vec3f) +
         mesh_.triangles.capacity() * sizeof(mesh::Triangle);
}

void RegisterMeshProviders(DerivedFiles& derived) {
  derived.Register(std::make_unique<MeshIndexProvider>());
  derived.Register(std::make_unique<StructureMeshProvider>());
  derived.Register(std::make_unique<EncapsulatedModelProvider>());
  derived.Register(std::make_unique<IsosurfaceProvider>());
}

Result<std::shared_ptr<DerivedContent>> MeshIndexProvider::Produce(const SeriesContext& ctx,
                                                                   std::string_view params) const {
  if (params != ViewParam(ctx.view)) {
    return Status::InvalidArgument("mesh index: parameters do not match the folder's view");
  }
  std::vector<InstanceRecord> structures;
  std::map<std::string, std::string> documents;  // digest hex -> extension
  RETURN_IF_ERROR(ctx.catalog->ForEachInstanceInSeries(ctx.series.uid, [&](const InstanceRecord& r) {
    const std::string& sop = r.meta.sop_class_uid;
    if (sop == kRtStructureSetStorage || sop == kSegmentationStorage ||
        sop == kLabelMapSegmentationStorage) {
      structures.push_back(r);
    } else if (!EncapsulatedModelExtension(sop).empty()) {
      documents[ToHex(r.digest)] = std::string(EncapsulatedModelExtension(sop));
    }
    return true;
  }));
  // Instances in SOP Instance UID order would not be stable across views;
  // digest order is.
  std::sort(structures.begin(), structures.end(),
            [](const InstanceRecord& a, const InstanceRecord& b) { return a.digest < b.digest; });
  std::string out;
  std::set<std::string> used;
  for (const InstanceRecord& r : structures) IndexStructure(ctx, r, used, out);
  if (!documents.empty()) {
    // "<NNNN>.dcm" -> "<NNNN>.stl": the document sits beside its instance.
    RETURN_IF_ERROR(ctx.catalog->List(ctx.folder_ino, "", [&](const DirEntry& e) {
      auto it = documents.find(e.ref);
      if (e.kind != NodeKind::kInstance || it == documents.end()) return true;
      std::string stem = e.name;
      if (stem.size() > 4 && stem.compare(stem.size() - 4, 4, ".dcm") == 0) {
        stem.resize(stem.size() - 4);
      }
      out += "document\t" + stem + "." + it->second + "\tdoc " + e.ref + "\n";
      return true;
    }));
  }
  return std::shared_ptr<DerivedContent>(std::make_shared<StringContent>(std::move(out)));
}

std::vector<MeshIndexEntry> MeshIndexFor(const SeriesContext& ctx) {
  if (ctx.derived == nullptr) return {};
  auto content = ctx.derived->GetByKind(ctx, kMeshIndexKind, ViewParam(ctx.view));
  if (!content.ok()) {
    DCMFS_LOG(Warning) << "mesh index: " << content.status().ToString();
    return {};
  }
  std::string text((*content)->size(), '\0');
  auto n = (*content)->ReadAt(0, std::span(reinterpret_cast<uint8_t*>(text.data()), text.size()));
  if (!n.ok()) return {};
  text.resize(*n);
  return ParseIndex(text);
}

std::vector<std::string> StructureMeshProvider::Names(const SeriesContext& ctx) const {
  return NamesOfKind(ctx, "structure");
}

std::optional<std::string> StructureMeshProvider::Match(const SeriesContext& ctx,
                                                        std::string_view name) const {
  if (name.substr(0, 5) != "mesh/") return std::nullopt;
  return FindInIndex(ctx, "structure", name);
}

Result<std::shared_ptr<DerivedContent>> StructureMeshProvider::Produce(
    const SeriesContext& ctx, std::string_view params) const {
  ASSIGN_OR_RETURN(mesh::TriangleMesh m, StructureMesh(ctx, params));
  return std::shared_ptr<DerivedContent>(std::make_shared<StlContent>(std::move(m)));
}

std::vector<std::string> EncapsulatedModelProvider::Names(const SeriesContext& ctx) const {
  return NamesOfKind(ctx, "document");
}

std::optional<std::string> EncapsulatedModelProvider::Match(const SeriesContext& ctx,
                                                            std::string_view name) const {
  if (name.find('/') != std::string_view::npos) return std::nullopt;
  return FindInIndex(ctx, "document", name);
}

Result<std::shared_ptr<DerivedContent>> EncapsulatedModelProvider::Produce(
    const SeriesContext& ctx, std::string_view params) const {
  if (params.substr(0, 4) != "doc ") return Status::InvalidArgument("encapsulated model: bad key");
  const auto digest = DigestFromHex(params.substr(4));
  if (!digest) return Status::InvalidArgument("encapsulated model: bad digest");
  ASSIGN_OR_RETURN(std::string bytes, ctx.blobs->ReadAll(*digest));
  ASSIGN_OR_RETURN(EncapsulatedDocument doc, ExtractEncapsulatedDocument(Bytes(bytes)));
  return std::shared_ptr<DerivedContent>(std::make_shared<StringContent>(std::move(doc.document)));
}

}  // namespace dcmfs
