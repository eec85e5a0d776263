// Expanding instances into slices: frames of multi-frame images, tiles of
// Siemens mosaics; and the sidecar of a volume.
#include "recon/internal/candidates.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace dcmfs::recon_internal {
namespace {

std::optional<SampleType> TypeOf(const ImageHeader& h) {
  if (h.samples_per_pixel == 3) return SampleType::kUint8;  // decoded RGB is 8-bit
  if (h.samples_per_pixel != 1) return std::nullopt;
  if (h.float_pixels) return SampleType::kFloat32;
  const bool s = h.pixel_representation == 1;
  switch (h.bits_allocated) {
    case 1:
    case 8: return s ? SampleType::kInt8 : SampleType::kUint8;
    case 16: return s ? SampleType::kInt16 : SampleType::kUint16;
    case 32: return s ? SampleType::kInt32 : SampleType::kUint32;
    default: return std::nullopt;
  }
}

// ImageType (0008,0008) value 3 "P"/"PHASE" (Siemens, GE) marks phase images,
// which dcm2niix writes to their own "_ph" file.
bool IsPhase(const std::string& image_type) {
  size_t start = 0;
  while (start <= image_type.size()) {
    size_t end = image_type.find('\\', start);
    if (end == std::string::npos) end = image_type.size();
    const std::string v = image_type.substr(start, end - start);
    if (v == "P" || v == "PHASE") return true;
    start = end + 1;
  }
  return false;
}

// Siemens mosaic (dcm2niix nii_dicom.cpp, "mosaic position correction"):
// ImagePositionPatient names the corner of the whole mosaic; the first
// tile's corner is offset by half the difference of the two matrices.
void AddMosaicTiles(const ImageHeader& h, const Candidate& base, std::vector<Candidate>* out) {
  const uint32_t per_row = static_cast<uint32_t>(std::ceil(std::sqrt(double(h.images_in_mosaic))));
  Candidate c = base;
  c.mosaic_cols = per_row;
  c.columns = h.columns / per_row;
  c.rows = h.rows / per_row;
  const Vec3 r{base.orientation[0], base.orientation[1], base.orientation[2]};
  const Vec3 col{base.orientation[3], base.orientation[4], base.orientation[5]};
  const Vec3 n = h.mosaic_slice_normal ? Normalized(*h.mosaic_slice_normal) : Normalized(Cross(r, col));
  Vec3 corner = Add(base.position, Scale(r, base.column_spacing * (h.columns - c.columns) / 2.0));
  corner = Add(corner, Scale(col, base.row_spacing * (h.rows - c.rows) / 2.0));
  const double step = base.thickness > 0 ? base.thickness : 1.0;
  c.normal = n;
  for (uint32_t t = 0; t < h.images_in_mosaic; ++t) {
    c.tile = t;
    c.position = Add(corner, Scale(n, step * t));
    out->push_back(c);
  }
}

bool IsPhilips(const std::string& manufacturer) {
  std::string upper;
  for (char ch : manufacturer) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return upper.find("PHILIPS") != std::string::npos;
}

}  // namespace

std::vector<Candidate> ExpandCandidates(const std::vector<PlanInput>& inputs,
                                        std::vector<std::string>* skipped) {
  std::vector<Candidate> out;
  for (uint32_t i = 0; i < inputs.size(); ++i) {
    const ImageHeader& h = inputs[i].header;
    const std::optional<SampleType> type = TypeOf(h);
    if (!type || h.rows == 0 || h.columns == 0 || h.frames.empty()) {
      skipped->push_back(inputs[i].key + ": not a monochrome or RGB image");
      continue;
    }
    for (uint32_t f = 0; f < h.frames.size(); ++f) {
      const FrameHeader& fh = h.frames[f];
      Candidate c;
      c.instance = i;
      c.frame = f;
      c.has_geometry = fh.position.has_value() && fh.orientation.has_value();
      if (fh.position) c.position = *fh.position;
      if (fh.orientation) c.orientation = *fh.orientation;
      if (fh.pixel_spacing) {
        c.row_spacing = (*fh.pixel_spacing)[0];
        c.column_spacing = (*fh.pixel_spacing)[1];
      }
      c.thickness = h.spacing_between_slices.value_or(fh.slice_thickness.value_or(0.0));
      c.slope = fh.rescale_slope == 0 ? 1.0 : fh.rescale_slope;
      c.intercept = fh.rescale_intercept;
      // Philips "precise" values (dcm2niix's default for Philips MR): the
      // stored value / MR Scale Slope, i.e. slope 1/SS, intercept RI/(RS*SS).
      if (fh.philips_scale_slope && IsPhilips(h.manufacturer)) {
        c.intercept = c.intercept / (c.slope * *fh.philips_scale_slope);
        c.slope = 1.0 / *fh.philips_scale_slope;
      }
      c.rows = h.rows;
      c.columns = h.columns;
      c.samples = h.samples_per_pixel;
      c.type = *type;
      c.bits_stored = h.bits_stored;
      c.echo_number = fh.echo_number;
      c.echo_time = fh.echo_time;
      c.phase = IsPhase(h.image_type);
      c.temporal = fh.temporal_position.value_or(0);
      c.acquisition = h.acquisition_number.value_or(0);
      c.instance_number = h.instance_number.value_or(0);
      c.series_number = h.series_number.value_or(0);
      c.trigger = fh.trigger_time.value_or(0);
      c.dimension_index = fh.dimension_index;
      // A tile count that leaves no pixels per tile is not a mosaic we can
      // cut (malformed CSA header): keep the image whole.
      const uint32_t per_row =
          static_cast<uint32_t>(std::ceil(std::sqrt(double(std::max(h.images_in_mosaic, 1u)))));
      const bool cuttable = h.images_in_mosaic > 1 && h.images_in_mosaic <= 4096 &&
                            h.columns / per_row > 0 && h.rows / per_row > 0;
      if (cuttable && c.has_geometry) {
        AddMosaicTiles(h, c, &out);
      } else {
        out.push_back(std::move(c));
      }
    }
  }
  return out;
}

namespace {

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

}  // namespace

// TM "HHMMSS.FFFFFF" -> "HH:MM:SS.ffffff", as the header's sidecar has it.
std::string BidsTime(const std::string& tm) {
  if (tm.size() < 6) return tm;
  std::string frac = "000000";
  if (tm.size() > 7 && tm[6] == '.') {
    const std::string f = tm.substr(7, 6);
    frac.replace(0, f.size(), f);
  }
  return tm.substr(0, 2) + ":" + tm.substr(2, 2) + ":" + tm.substr(4, 2) + "." + frac;
}

std::string SidecarJson(const ImageHeader& header, const Candidate& first,
                        const std::vector<std::string>& notes, const std::string& acquisition_time) {
  std::vector<std::pair<std::string, std::string>> fields = header.sidecar;
  for (auto& [k, v] : fields) {
    if (k == "AcquisitionTime" && !acquisition_time.empty()) v = "\"" + BidsTime(acquisition_time) + "\"";
  }
  // Enhanced MR keeps EchoTime in the MR Echo functional group (per frame).
  if (first.echo_time) {
    bool found = false;
    for (auto& [k, v] : fields) {
      if (k == "EchoTime") {
        v = Number(*first.echo_time / 1000.0);
        found = true;
      }
    }
    if (!found) fields.emplace_back("EchoTime", Number(*first.echo_time / 1000.0));
  }
  if (first.has_geometry) {
    std::string iop = "[";
    for (size_t i = 0; i < 6; ++i) iop += (i ? ", " : "") + Number(first.orientation[i]);
    fields.emplace_back("ImageOrientationPatientDICOM", iop + "]");
  }
  if (!notes.empty()) {
    std::string arr = "[";
    for (size_t i = 0; i < notes.size(); ++i) arr += (i ? ", \"" : "\"") + notes[i] + "\"";
    fields.emplace_back("ConversionNotes", arr + "]");
  }
  fields.emplace_back("ConversionSoftware", "\"dcmfs\"");
  std::string out = "{\n";
  for (size_t i = 0; i < fields.size(); ++i) {
    out += "\t\"" + fields[i].first + "\": " + fields[i].second + (i + 1 < fields.size() ? ",\n" : "\n");
  }
  return out + "}\n";
}

}  // namespace dcmfs::recon_internal
