// Structure meshes: RT Structure Set ROIs (contours -> coverage field) and
// Segmentation segments (frames -> mask field), both meshed at 0.5 by
// mesh/isosurface.h. The fs layer is where codecs' structs become mesh
// inputs, since mesh/ may not include codecs/.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "base/log.h"
#include "codecs/pixel_decode.h"
#include "codecs/sha256.h"
#include "codecs/structures.h"
#include "fs/derived/mesh_providers.h"
#include "mesh/contours.h"
#include "mesh/isosurface.h"
#include "mesh/smooth.h"

namespace dcmfs {
namespace {

using V3 = std::array<double, 3>;

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

V3 Cross(const V3& a, const V3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
double Dot(const V3& a, const V3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

// The images an RT Structure Set was drawn on, when the archive holds them:
// their pixel spacing bounds the mask's voxel size, their orientation gives
// the slice planes.
mesh::ContourGridOptions GridOptionsFor(const SeriesContext& ctx, const RtStructureSet& rt) {
  mesh::ContourGridOptions options;
  options.pixel_mm = 1.0;
  for (const std::string& uid : rt.referenced_series_uids) {
    bool found = false;
    Status s = ctx.catalog->ForEachInstanceInSeries(uid, [&](const InstanceRecord& r) {
      const InstanceMeta& m = r.meta;
      if (!m.pixel_spacing || !m.image_orientation) return true;
      options.pixel_mm = std::min({(*m.pixel_spacing)[0], (*m.pixel_spacing)[1], 1.0});
      const auto& o = *m.image_orientation;
      options.row_direction = V3{o[0], o[1], o[2]};
      options.column_direction = V3{o[3], o[4], o[5]};
      found = true;
      return false;
    });
    if (s.ok() && found) break;
  }
  return options;
}

Result<mesh::ScalarField> RoiField(const SeriesContext& ctx, const RtStructureSet& rt,
                                   int64_t roi_number) {
  auto roi = std::find_if(rt.rois.begin(), rt.rois.end(),
                          [&](const RtRoi& r) { return r.number == roi_number; });
  if (roi == rt.rois.end()) return Status::NotFound("ROI " + std::to_string(roi_number));
  std::vector<mesh::PlanarContour> contours;
  for (const RtContour& c : roi->contours) {
    if (c.geometric_type.rfind("CLOSED", 0) != 0 || c.points.size() < 3) continue;
    contours.push_back({c.points});
  }
  mesh::ContourGridOptions options = GridOptionsFor(ctx, rt);
  auto grid = mesh::GridForContours(contours, options);
  if (!grid.ok() && options.row_direction) {
    // Contours not in the referenced images' planes: use their own plane.
    options.row_direction.reset();
    options.column_direction.reset();
    grid = mesh::GridForContours(contours, options);
  }
  if (!grid.ok()) return grid.status();
  auto field = mesh::ContoursToField(contours, *grid);
  if (!field.ok() && options.row_direction) {
    options.row_direction.reset();
    options.column_direction.reset();
    ASSIGN_OR_RETURN(mesh::Grid own, mesh::GridForContours(contours, options));
    return mesh::ContoursToField(contours, own);
  }
  return field;
}

// Converts one decoded frame to segment membership in [0, 1].
void FrameToMask(const DecodedFrame& frame, const Segmentation& seg, uint16_t segment,
                 std::span<float> out) {
  const size_t n = out.size();
  const bool fractional = seg.type == "FRACTIONAL";
  const bool labelmap = seg.type == "LABELMAP";
  const double max = std::max<double>(1, seg.max_fractional_value);
  auto value = [&](size_t i) -> double {
    switch (frame.format.type) {
      case SampleType::kUint8: return frame.data[i];
      case SampleType::kInt8: return int8_t(frame.data[i]);
      case SampleType::kUint16: return reinterpret_cast<const uint16_t*>(frame.data.data())[i];
      case SampleType::kInt16: return reinterpret_cast<const int16_t*>(frame.data.data())[i];
      case SampleType::kUint32: return reinterpret_cast<const uint32_t*>(frame.data.data())[i];
      case SampleType::kInt32: return reinterpret_cast<const int32_t*>(frame.data.data())[i];
      case SampleType::kFloat32: return reinterpret_cast<const float*>(frame.data.data())[i];
    }
    return 0;
  };
  for (size_t i = 0; i < n; ++i) {
    const double v = value(i);
    const double m = labelmap ? (v == segment) : fractional ? v / max : (v != 0);
    out[i] = std::max(out[i], float(m));
  }
}

struct SegGrid {
  mesh::Affine affine{};
  int64_t slices = 0;
  std::map<int64_t, std::vector<uint32_t>> frames_at;  // slice -> frame indices
};

// PS3.3 C.8.20.2: each frame carries its Plane Position; the frames of one
// segment need not be contiguous or evenly spaced.
Result<SegGrid> SegmentGrid(const Segmentation& seg, uint16_t segment) {
  std::vector<const SegFrame*> frames;
  for (const SegFrame& f : seg.frames) {
    if ((seg.type == "LABELMAP" || f.segment_number == segment) && f.position) frames.push_back(&f);
  }
  if (frames.empty()) return Status::NotFound("segment " + std::to_string(segment) + ": no frames");
  auto orientation = seg.orientation ? seg.orientation : frames[0]->orientation;
  if (!orientation || !seg.pixel_spacing) {
    return Status::Unsupported("segmentation without plane orientation or pixel spacing");
  }
  const V3 row{(*orientation)[0], (*orientation)[1], (*orientation)[2]};
  const V3 col{(*orientation)[3], (*orientation)[4], (*orientation)[5]};
  const V3 normal = Cross(row, col);
  std::vector<double> d;
  for (const SegFrame* f : frames) d.push_back(Dot(*f->position, normal));
  std::vector<double> sorted = d;
  std::sort(sorted.begin(), sorted.end());
  double gap = 0;
  for (size_t i = 1; i < sorted.size(); ++i) {
    const double g = sorted[i] - sorted[i - 1];
    if (g > 1e-3 && (gap == 0 || g < gap)) gap = g;
  }
  double dz = seg.spacing_between_slices.value_or(0);
  if (!(dz > 0)) dz = gap > 0 ? gap : seg.slice_thickness.value_or(1.0);
  if (!(dz > 0)) dz = 1.0;
  const size_t first = size_t(std::min_element(d.begin(), d.end()) - d.begin());
  const V3 origin = *frames[first]->position;
  SegGrid grid;
  const double sr = (*seg.pixel_spacing)[0], sc = (*seg.pixel_spacing)[1];
  for (int a = 0; a < 3; ++a) {
    grid.affine[a * 4 + 0] = row[a] * sc;  // i runs along a row: column spacing
    grid.affine[a * 4 + 1] = col[a] * sr;
    grid.affine[a * 4 + 2] = normal[a] * dz;
    grid.affine[a * 4 + 3] = origin[a];
  }
  grid.affine[15] = 1;
  for (size_t i = 0; i < frames.size(); ++i) {
    const V3& p = *frames[i]->position;
    const V3 off{p[0] - origin[0], p[1] - origin[1], p[2] - origin[2]};
    if (std::abs(Dot(off, row)) > 0.01 * sc || std::abs(Dot(off, col)) > 0.01 * sr) {
      return Status::Unsupported("segmentation frames are not aligned in plane");
    }
    const int64_t k = std::llround((d[i] - d[first]) / dz);
    if (k > 100000) return Status::Unsupported("segmentation spans too many slices");
    grid.frames_at[k].push_back(frames[i]->index);
    grid.slices = std::max(grid.slices, k + 1);
  }
  return grid;
}

Result<mesh::ScalarField> SegmentField(const SeriesContext& ctx,
                                       std::shared_ptr<const std::string> bytes,
                                       Segmentation parsed, uint16_t segment) {
  PlaceSegFramesFromSources(ctx, parsed);
  ASSIGN_OR_RETURN(SegGrid grid, SegmentGrid(parsed, segment));
  ASSIGN_OR_RETURN(std::unique_ptr<PixelDecoder> decoder, PixelDecoder::Open(Bytes(*bytes)));
  if (decoder->format().rows != parsed.rows || decoder->format().columns != parsed.columns ||
      decoder->format().samples != 1) {
    return Status::Unsupported("segmentation frames are not single-sample rows x columns");
  }
  mesh::ScalarField field;
  field.dims = {int64_t(parsed.columns), int64_t(parsed.rows), grid.slices};
  field.ijk_to_lps = grid.affine;
  auto shared_decoder = std::shared_ptr<const PixelDecoder>(std::move(decoder));
  auto seg = std::make_shared<const Segmentation>(parsed);
  auto frames_at = std::make_shared<const std::map<int64_t, std::vector<uint32_t>>>(
      std::move(grid.frames_at));
  field.slice = [bytes, shared_decoder, seg, frames_at, segment](
                    int64_t k, std::span<float> out) -> Status {
    std::fill(out.begin(), out.end(), 0.f);
    auto it = frames_at->find(k);
    if (it == frames_at->end()) return Status::Ok();
    for (uint32_t index : it->second) {
      ASSIGN_OR_RETURN(DecodedFrame frame, shared_decoder->Decode(index));
      if (frame.format.rows * size_t(frame.format.columns) != out.size()) {
        return Status::DataLoss("segmentation frame " + std::to_string(index) + " has the wrong size");
      }
      FrameToMask(frame, *seg, segment, out);
    }
    return Status::Ok();
  };
  return field;
}

}  // namespace

void PlaceSegFramesFromSources(const SeriesContext& ctx, Segmentation& seg) {
  std::map<std::string, SegFrame*> wanted;  // source SOP Instance UID -> frame
  for (SegFrame& f : seg.frames) {
    if (!f.position && !f.source_sop_uid.empty()) wanted.emplace(f.source_sop_uid, &f);
  }
  if (wanted.empty()) return;
  std::map<std::string, SegFrame*> pending = wanted;
  for (const std::string& uid : seg.referenced_series_uids) {
    Status s = ctx.catalog->ForEachInstanceInSeries(uid, [&](const InstanceRecord& r) {
      auto it = pending.find(r.meta.sop_uid);
      // Only single-frame sources: a frame of a multi-frame image has its
      // own position, which the catalog does not hold.
      if (it == pending.end() || r.meta.number_of_frames > 1 || !r.meta.image_position ||
          !r.meta.image_orientation) {
        return true;
      }
      SegFrame& f = *it->second;
      f.position = r.meta.image_position;
      if (!seg.orientation && !f.orientation) f.orientation = r.meta.image_orientation;
      if (!seg.pixel_spacing && r.meta.rows == seg.rows && r.meta.columns == seg.columns) {
        seg.pixel_spacing = r.meta.pixel_spacing;
      }
      pending.erase(it);
      return !pending.empty();
    });
    if (!s.ok()) DCMFS_LOG(Warning) << "segmentation sources: " << s.ToString();
    if (pending.empty()) break;
  }
  // Several frames may share one source (overlapping segments): place them all.
  for (SegFrame& f : seg.frames) {
    if (f.position || f.source_sop_uid.empty()) continue;
    const SegFrame* placed = wanted.at(f.source_sop_uid);
    f.position = placed->position;
    if (!f.orientation) f.orientation = placed->orientation;
  }
}

Result<mesh::TriangleMesh> StructureMesh(const SeriesContext& ctx, std::string_view params) {
  // "rt <digest> <roi>" or "seg <digest> <segment>", then " smooth" for the
  // Taubin-smoothed twin.
  std::vector<std::string_view> words;
  for (size_t pos = 0; pos <= params.size();) {
    const size_t end = std::min(params.find(' ', pos), params.size());
    words.push_back(params.substr(pos, end - pos));
    pos = end + 1;
  }
  if (words.size() < 3 || words.size() > 4 || (words.size() == 4 && words[3] != "smooth")) {
    return Status::InvalidArgument("mesh: bad key");
  }
  const std::string_view kind = words[0];
  const auto digest = DigestFromHex(words[1]);
  const int64_t number = std::atoll(std::string(words[2]).c_str());
  const bool smooth = words.size() == 4;
  if (!digest) return Status::InvalidArgument("mesh: bad digest");
  ASSIGN_OR_RETURN(std::string raw, ctx.blobs->ReadAll(*digest));
  auto bytes = std::make_shared<const std::string>(std::move(raw));
  mesh::ScalarField field;
  if (kind == "rt") {
    ASSIGN_OR_RETURN(RtStructureSet rt, ParseRtStructureSet(Bytes(*bytes)));
    ASSIGN_OR_RETURN(field, RoiField(ctx, rt, number));
  } else if (kind == "seg") {
    ASSIGN_OR_RETURN(Segmentation seg, ParseSegmentation(Bytes(*bytes)));
    ASSIGN_OR_RETURN(field, SegmentField(ctx, bytes, std::move(seg), uint16_t(number)));
  } else {
    return Status::InvalidArgument("mesh: unknown structure kind");
  }
  ASSIGN_OR_RETURN(mesh::TriangleMesh m, mesh::ExtractIsosurface(field, {.threshold = 0.5}));
  if (smooth) mesh::TaubinSmooth(m);
  return m;
}

}  // namespace dcmfs
