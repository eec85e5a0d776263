// The volume an isosurface is cut from, read straight from the series'
// instances: single-frame monochrome images that share the largest
// orientation and matrix, sorted along the slice normal (PS3.3 C.7.6.2.1.1:
// Image Position and Orientation, not Instance Number, place a slice),
// rescaled to their units (HU for CT, C.11.1.1.2). Slices are decoded on
// request by the isosurface's slab workers (codecs/pixel_decode.h), so
// memory follows the slabs, not the volume.
//
// Until recon's volume plan is wired in, this is the meshes' own reader; it
// keeps gantry-tilted series as acquired (a sheared affine, like series.nii).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>

#include "codecs/pixel_decode.h"
#include "fs/derived/mesh_providers.h"

namespace dcmfs {
namespace {

using V3 = std::array<double, 3>;

struct SliceRef {
  Digest digest{};
  double d = 0;  // position along the normal, mm
  V3 position{};
  double slope = 1, intercept = 0;
  int64_t instance_number = 0;
};

struct Stack {
  std::array<double, 6> orientation{};
  std::array<double, 2> spacing{};
  uint32_t rows = 0, columns = 0;
  std::vector<SliceRef> slices;
};

std::string GroupKey(const InstanceMeta& m) {
  char buf[160];
  const auto& o = *m.image_orientation;
  std::snprintf(buf, sizeof(buf), "%u %u %.3f %.3f %.3f %.3f %.3f %.3f", m.rows, m.columns, o[0],
                o[1], o[2], o[3], o[4], o[5]);
  return buf;
}

template <typename T>
void Rescale(const DecodedFrame& f, double slope, double intercept, std::span<float> out) {
  const T* p = reinterpret_cast<const T*>(f.data.data());
  for (size_t i = 0; i < out.size(); ++i) out[i] = float(double(p[i]) * slope + intercept);
}

Result<Stack> CollectStack(const SeriesContext& ctx) {
  std::map<std::string, Stack> groups;
  RETURN_IF_ERROR(ctx.catalog->ForEachInstanceInSeries(ctx.series.uid, [&](const InstanceRecord& r) {
    const InstanceMeta& m = r.meta;
    if (!m.has_pixel_data || m.samples_per_pixel != 1 || m.number_of_frames > 1 ||
        !m.image_position || !m.image_orientation || !m.pixel_spacing || m.rows == 0 ||
        m.columns == 0) {
      return true;
    }
    Stack& s = groups[GroupKey(m)];
    s.orientation = *m.image_orientation;
    s.spacing = *m.pixel_spacing;
    s.rows = m.rows;
    s.columns = m.columns;
    s.slices.push_back({r.digest, 0, *m.image_position, m.rescale_slope, m.rescale_intercept,
                        m.instance_number.value_or(0)});
    return true;
  }));
  if (groups.empty()) return Status::InvalidArgument("no images with a position to form a volume");
  Stack best = std::max_element(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
                 return a.second.slices.size() < b.second.slices.size();
               })->second;
  const auto& o = best.orientation;
  const V3 n{o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]};
  for (SliceRef& s : best.slices) s.d = s.position[0] * n[0] + s.position[1] * n[1] + s.position[2] * n[2];
  std::sort(best.slices.begin(), best.slices.end(), [](const SliceRef& a, const SliceRef& b) {
    return a.d != b.d ? a.d < b.d : a.instance_number < b.instance_number;
  });
  // Repeated positions (a second acquisition, a 4D series): the first only.
  std::vector<SliceRef> unique;
  for (const SliceRef& s : best.slices) {
    if (unique.empty() || s.d - unique.back().d > 1e-3) unique.push_back(s);
  }
  best.slices = std::move(unique);
  return best;
}

}  // namespace

Result<mesh::ScalarField> SeriesVolumeField(const SeriesContext& ctx) {
  ASSIGN_OR_RETURN(Stack stack, CollectStack(ctx));
  const auto& o = stack.orientation;
  const V3 row{o[0], o[1], o[2]}, col{o[3], o[4], o[5]};
  const V3 n{row[1] * col[2] - row[2] * col[1], row[2] * col[0] - row[0] * col[2],
             row[0] * col[1] - row[1] * col[0]};
  const auto& first = stack.slices.front();
  V3 step{n[0], n[1], n[2]};  // one slice: 1 mm, only its faces depend on it
  if (stack.slices.size() > 1) {
    for (int a = 0; a < 3; ++a) step[a] = stack.slices[1].position[a] - first.position[a];
  }
  mesh::ScalarField field;
  field.dims = {int64_t(stack.columns), int64_t(stack.rows), int64_t(stack.slices.size())};
  for (int a = 0; a < 3; ++a) {
    field.ijk_to_lps[a * 4 + 0] = row[a] * stack.spacing[1];  // along a row: column spacing
    field.ijk_to_lps[a * 4 + 1] = col[a] * stack.spacing[0];
    field.ijk_to_lps[a * 4 + 2] = step[a];
    field.ijk_to_lps[a * 4 + 3] = first.position[a];
  }
  field.ijk_to_lps[15] = 1;
  auto slices = std::make_shared<const std::vector<SliceRef>>(std::move(stack.slices));
  const BlobStore* blobs = ctx.blobs;
  const uint32_t rows = stack.rows, columns = stack.columns;
  field.slice = [slices, blobs, rows, columns](int64_t k, std::span<float> out) -> Status {
    const SliceRef& s = (*slices)[size_t(k)];
    ASSIGN_OR_RETURN(std::string bytes, blobs->ReadAll(s.digest));
    ASSIGN_OR_RETURN(std::unique_ptr<PixelDecoder> decoder,
                     PixelDecoder::Open({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}));
    ASSIGN_OR_RETURN(DecodedFrame f, decoder->Decode(0));
    if (f.format.rows != rows || f.format.columns != columns || f.format.samples != 1) {
      return Status::DataLoss("slice " + std::to_string(k) + " does not match the series matrix");
    }
    const double slope = s.slope == 0 ? 1.0 : s.slope;
    switch (f.format.type) {
      case SampleType::kUint8: Rescale<uint8_t>(f, slope, s.intercept, out); break;
      case SampleType::kInt8: Rescale<int8_t>(f, slope, s.intercept, out); break;
      case SampleType::kUint16: Rescale<uint16_t>(f, slope, s.intercept, out); break;
      case SampleType::kInt16: Rescale<int16_t>(f, slope, s.intercept, out); break;
      case SampleType::kUint32: Rescale<uint32_t>(f, slope, s.intercept, out); break;
      case SampleType::kInt32: Rescale<int32_t>(f, slope, s.intercept, out); break;
      case SampleType::kFloat32: Rescale<float>(f, slope, s.intercept, out); break;
    }
    return Status::Ok();
  };
  return field;
}

bool SeriesHasVolume(const SeriesContext& ctx) { return CollectStack(ctx).ok(); }

}  // namespace dcmfs
