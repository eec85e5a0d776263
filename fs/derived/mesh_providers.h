// Meshes in the mount (docs/semantics.md, "mesh/"):
//
//   mesh/bone.stl, mesh/skin.stl (+ -smooth) in CT series folders, and
//       mesh/iso-<value>.stl (+ -smooth) in any series with a volume,
//       resolved on lookup without being listed. Thresholds are in the
//       volume's rescaled units (HU for CT): bone 300 HU (cortical and dense
//       trabecular bone; soft tissue and contrast-free vessels stay below),
//       skin -500 HU (halfway between air, -1000, and fat/soft tissue,
//       -100..+50). "-smooth": Taubin smoothing (mesh/smooth.h).
//   mesh/<ROI Name>.stl (+ -smooth) in RT Structure Set series: each ROI's
//       closed planar contours, filled on a grid no coarser than the
//       referenced images and meshed (mesh/contours.h).
//   mesh/<Segment Label>.stl (+ -smooth) in Segmentation series: one mesh
//       per segment, on the segmentation's own frame grid; frames without a
//       Plane Position placed by their source images (see below).
//   <NNNN>.stl / .obj / .mtl beside <NNNN>.dcm for Encapsulated STL, OBJ and
//       MTL instances: exactly the encapsulated document's bytes.
//
// Meshes are persisted (expensive, small) and size_is_cheap() is false, so
// plain `ls` never meshes; stat does, once per series generation. The names
// of structure meshes and documents come from a hidden, persisted index
// ("mesh-index") built once per generation from the series' instances.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fs/derived/provider.h"
#include "mesh/isosurface.h"

namespace dcmfs {

class DerivedFiles;
struct Segmentation;

inline constexpr char kMeshIndexKind[] = "mesh-index";

// Registers the four providers below.
void RegisterMeshProviders(DerivedFiles& derived);

// Hidden: "<kind>\t<name>\t<params>\n" lines for the structure meshes and
// encapsulated documents of a series (kind "structure" or "document").
class MeshIndexProvider final : public DerivedProvider {
 public:
  std::string kind() const override { return kMeshIndexKind; }
  bool view_dependent() const override { return true; }  // document names follow .dcm names
  bool persist() const override { return true; }
  std::vector<std::string> Names(const SeriesContext&) const override { return {}; }
  std::optional<std::string> Match(const SeriesContext&, std::string_view) const override {
    return std::nullopt;
  }
  Result<std::shared_ptr<DerivedContent>> Produce(const SeriesContext& ctx,
                                                  std::string_view params) const override;
};

// mesh/<ROI or segment>.stl.
class StructureMeshProvider final : public DerivedProvider {
 public:
  std::string kind() const override { return "mesh-structure"; }
  bool view_dependent() const override { return false; }
  bool persist() const override { return true; }
  bool size_is_cheap() const override { return false; }
  std::vector<std::string> Names(const SeriesContext& ctx) const override;
  std::optional<std::string> Match(const SeriesContext& ctx, std::string_view name) const override;
  Result<std::shared_ptr<DerivedContent>> Produce(const SeriesContext& ctx,
                                                  std::string_view params) const override;
};

// <NNNN>.stl/.obj/.mtl: the encapsulated document, read from the blob on
// demand (not persisted: the blob already holds it).
class EncapsulatedModelProvider final : public DerivedProvider {
 public:
  std::string kind() const override { return "encapsulated-model"; }
  bool view_dependent() const override { return false; }
  bool persist() const override { return false; }
  bool size_is_cheap() const override { return false; }
  std::vector<std::string> Names(const SeriesContext& ctx) const override;
  std::optional<std::string> Match(const SeriesContext& ctx, std::string_view name) const override;
  Result<std::shared_ptr<DerivedContent>> Produce(const SeriesContext& ctx,
                                                  std::string_view params) const override;
};

// mesh/bone.stl, mesh/skin.stl, mesh/iso-<value>.stl and their -smooth twins.
class IsosurfaceProvider final : public DerivedProvider {
 public:
  static constexpr double kBoneHu = 300;
  static constexpr double kSkinHu = -500;
  std::string kind() const override { return "mesh-iso"; }
  bool view_dependent() const override { return false; }
  bool persist() const override { return true; }
  // Geometry from pixel values only: also shown in /anonymized.
  bool pixels_only() const override { return true; }
  bool size_is_cheap() const override { return false; }
  std::vector<std::string> Names(const SeriesContext& ctx) const override;
  bool IsFolder(const SeriesContext& ctx, std::string_view path) const override;
  std::optional<std::string> Match(const SeriesContext& ctx, std::string_view name) const override;
  Result<std::shared_ptr<DerivedContent>> Produce(const SeriesContext& ctx,
                                                  std::string_view params) const override;
};

// --- internals shared by the mesh_*.cc files ---

struct MeshIndexEntry {
  std::string kind;  // "structure" or "document"
  std::string name;
  std::string params;
};
// The series' index (empty when it cannot be built; the reason is logged).
std::vector<MeshIndexEntry> MeshIndexFor(const SeriesContext& ctx);

// The series' images as a scalar field in rescaled units (HU for CT), for
// isosurfaces (mesh_volume.cc). InvalidArgument when no image has geometry.
Result<mesh::ScalarField> SeriesVolumeField(const SeriesContext& ctx);
bool SeriesHasVolume(const SeriesContext& ctx);

// Frames of a Segmentation without Plane Position (PS3.3 C.7.6.16.2.3 is
// absent from their functional groups) placed where their source image lies
// (Derivation Image Sequence), when that image is a single-frame instance of
// a referenced series in the archive. Frames that cannot be placed stay
// without a position; a segment none of whose frames is placed is not meshed.
void PlaceSegFramesFromSources(const SeriesContext& ctx, Segmentation& seg);

// A binary STL served from its mesh (mesh::ReadBinaryStl): about half the
// memory of the file's bytes, and no time spent writing them out before the
// first read.
class StlContent final : public DerivedContent {
 public:
  explicit StlContent(mesh::TriangleMesh mesh) : mesh_(std::move(mesh)) {}
  uint64_t size() const override;
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) const override;
  uint64_t memory_bytes() const override;

 private:
  const mesh::TriangleMesh mesh_;
};

// The mesh of one structure ("rt <digest> <roi>" or "seg <digest> <segment>",
// then " smooth" for its Taubin-smoothed twin).
Result<mesh::TriangleMesh> StructureMesh(const SeriesContext& ctx, std::string_view params);

}  // namespace dcmfs
