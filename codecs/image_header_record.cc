// ImageHeader <-> bytes (format in image_header_record.h). Compactness
// matters: one record per instance lives in the catalog, so numbers are
// varints, most doubles of real headers (0.5, -125, 1.0) take 2-5 bytes,
// and the sidecar's keys are one byte each.
#include "codecs/image_header_record.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace dcmfs {
namespace {

// dcm2niix's sidecar keys as FillSidecar emits them. Append only: a record
// stores the index.
constexpr std::array<std::string_view, 33> kSidecarKeys = {
    "Modality",          "MagneticFieldStrength", "ImagingFrequency",   "Manufacturer",
    "ManufacturersModelName", "BodyPartExamined", "PatientPosition",    "SoftwareVersions",
    "MRAcquisitionType", "SeriesDescription",     "ProtocolName",       "ScanningSequence",
    "SequenceVariant",   "ScanOptions",           "SequenceName",       "ImageType",
    "SeriesNumber",      "AcquisitionTime",       "AcquisitionNumber",  "ConvolutionKernel",
    "ExposureTime",      "XRayTubeCurrent",       "SliceThickness",     "SpacingBetweenSlices",
    "SAR",               "EchoNumber",            "EchoTime",           "RepetitionTime",
    "InversionTime",     "FlipAngle",             "PixelBandwidth",     "ImageComments",
    "ImageOrientationPatientDICOM"};
constexpr uint64_t kLiteralKey = kSidecarKeys.size();  // followed by the key as a string

// Caps so a corrupt record cannot ask for absurd allocations.
constexpr uint64_t kMaxFrames = 1u << 24;
constexpr uint64_t kMaxItems = 1u << 16;

enum DoubleTag : uint8_t { kInteger = 0, kFloat = 1, kRaw = 2 };

class Writer {
 public:
  void U(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void S(int64_t v) { U((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void Str(std::string_view s) {
    U(s.size());
    out_.append(s);
  }
  void D(double v) {
    // Integral values that a varint carries exactly (not -0.0, which would
    // come back as +0.0).
    if (std::isfinite(v) && v == std::trunc(v) && std::fabs(v) < 9.0e15 &&
        !(v == 0 && std::signbit(v))) {
      out_.push_back(kInteger);
      S(static_cast<int64_t>(v));
      return;
    }
    // Values a float holds exactly (checked in range: a narrowing
    // conversion of an out-of-range double is undefined).
    if (std::isfinite(v) && std::fabs(v) <= std::numeric_limits<float>::max() &&
        static_cast<double>(static_cast<float>(v)) == v) {
      out_.push_back(kFloat);
      Raw(std::bit_cast<uint32_t>(static_cast<float>(v)), 4);
      return;
    }
    out_.push_back(kRaw);
    Raw(std::bit_cast<uint64_t>(v), 8);
  }
  template <size_t N>
  void Ds(const std::array<double, N>& a) {
    for (double v : a) D(v);
  }
  std::string Take() { return std::move(out_); }

 private:
  void Raw(uint64_t bits, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<char>(bits >> (8 * i)));
  }
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == in_.size(); }
  uint64_t U() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return Fail();
      const uint8_t b = static_cast<uint8_t>(in_[pos_++]);
      v |= uint64_t{b & 0x7Fu} << shift;
      if ((b & 0x80) == 0) return v;
    }
    return Fail();
  }
  int64_t S() {
    const uint64_t u = U();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  std::string Str() {
    const uint64_t n = U();
    if (!ok_ || n > in_.size() - pos_) return Fail(), std::string();
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  double D() {
    if (pos_ >= in_.size()) return Fail(), 0.0;
    switch (static_cast<uint8_t>(in_[pos_++])) {
      case kInteger: return static_cast<double>(S());
      case kFloat: return static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(Raw(4))));
      case kRaw: return std::bit_cast<double>(Raw(8));
      default: return Fail(), 0.0;
    }
  }
  template <size_t N>
  std::array<double, N> Ds() {
    std::array<double, N> a{};
    for (double& v : a) v = D();
    return a;
  }
  // A count no larger than `cap` (else the record is corrupt).
  uint64_t Count(uint64_t cap) {
    const uint64_t n = U();
    return n <= cap ? n : Fail();
  }

 private:
  uint64_t Raw(int bytes) {
    if (in_.size() - pos_ < static_cast<size_t>(bytes)) return Fail();
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(in_[pos_++])} << (8 * i);
    return v;
  }
  uint64_t Fail() {
    ok_ = false;
    pos_ = in_.size();
    return 0;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Presence bits of optional fields, in the order they are written.
template <typename... Opt>
uint64_t Presence(const Opt&... opts) {
  uint64_t bits = 0, bit = 1;
  ((bits |= opts.has_value() ? bit : 0, bit <<= 1), ...);
  return bits;
}

void EncodeFrame(Writer& w, const FrameHeader& f) {
  w.U(Presence(f.position, f.orientation, f.pixel_spacing, f.slice_thickness, f.echo_time,
               f.echo_number, f.temporal_position, f.stack_position, f.trigger_time,
               f.philips_scale_slope));
  if (f.position) w.Ds(*f.position);
  if (f.orientation) w.Ds(*f.orientation);
  if (f.pixel_spacing) w.Ds(*f.pixel_spacing);
  if (f.slice_thickness) w.D(*f.slice_thickness);
  if (f.echo_time) w.D(*f.echo_time);
  if (f.echo_number) w.S(*f.echo_number);
  if (f.temporal_position) w.S(*f.temporal_position);
  if (f.stack_position) w.S(*f.stack_position);
  if (f.trigger_time) w.D(*f.trigger_time);
  if (f.philips_scale_slope) w.D(*f.philips_scale_slope);
  w.D(f.rescale_slope);
  w.D(f.rescale_intercept);
  w.U(f.dimension_index.size());
  for (uint32_t v : f.dimension_index) w.U(v);
}

FrameHeader DecodeFrame(Reader& r) {
  FrameHeader f;
  const uint64_t p = r.U();
  if (p & (1u << 0)) f.position = r.Ds<3>();
  if (p & (1u << 1)) f.orientation = r.Ds<6>();
  if (p & (1u << 2)) f.pixel_spacing = r.Ds<2>();
  if (p & (1u << 3)) f.slice_thickness = r.D();
  if (p & (1u << 4)) f.echo_time = r.D();
  if (p & (1u << 5)) f.echo_number = r.S();
  if (p & (1u << 6)) f.temporal_position = r.S();
  if (p & (1u << 7)) f.stack_position = r.S();
  if (p & (1u << 8)) f.trigger_time = r.D();
  if (p & (1u << 9)) f.philips_scale_slope = r.D();
  f.rescale_slope = r.D();
  f.rescale_intercept = r.D();
  f.dimension_index.resize(r.Count(kMaxItems));
  for (uint32_t& v : f.dimension_index) v = static_cast<uint32_t>(r.U());
  return f;
}

void EncodeSidecar(Writer& w, const std::vector<std::pair<std::string, std::string>>& sidecar) {
  w.U(sidecar.size());
  for (const auto& [key, value] : sidecar) {
    uint64_t index = kLiteralKey;
    for (size_t i = 0; i < kSidecarKeys.size(); ++i) {
      if (kSidecarKeys[i] == key) index = i;
    }
    w.U(index);
    if (index == kLiteralKey) w.Str(key);
    w.Str(value);
  }
}

void DecodeSidecar(Reader& r, std::vector<std::pair<std::string, std::string>>& sidecar) {
  sidecar.resize(r.Count(kMaxItems));
  for (auto& [key, value] : sidecar) {
    const uint64_t index = r.Count(kLiteralKey);
    key = index == kLiteralKey ? r.Str() : std::string(kSidecarKeys[index]);
    value = r.Str();
  }
}

}  // namespace

std::string EncodeImageHeader(const ImageHeader& h) {
  Writer w;
  w.U(kImageHeaderRecordVersion);
  w.Str(h.sop_class_uid);
  w.Str(h.transfer_syntax_uid);
  w.Str(h.series_uid);
  w.Str(h.modality);
  w.Str(h.manufacturer);
  w.Str(h.image_type);
  w.Str(h.acquisition_time);
  w.Str(h.photometric);
  w.U(Presence(h.series_number, h.instance_number, h.acquisition_number, h.gantry_tilt,
               h.mosaic_slice_normal, h.spacing_between_slices, h.pixel_padding_value));
  if (h.series_number) w.S(*h.series_number);
  if (h.instance_number) w.S(*h.instance_number);
  if (h.acquisition_number) w.S(*h.acquisition_number);
  if (h.gantry_tilt) w.D(*h.gantry_tilt);
  if (h.mosaic_slice_normal) w.Ds(*h.mosaic_slice_normal);
  if (h.spacing_between_slices) w.D(*h.spacing_between_slices);
  if (h.pixel_padding_value) w.S(*h.pixel_padding_value);
  for (uint64_t v : {uint64_t{h.rows}, uint64_t{h.columns}, uint64_t{h.number_of_frames},
                     uint64_t{h.samples_per_pixel}, uint64_t{h.bits_allocated},
                     uint64_t{h.bits_stored}, uint64_t{h.high_bit},
                     uint64_t{h.pixel_representation}, uint64_t{h.planar_configuration},
                     uint64_t{h.images_in_mosaic}, h.pixel_data_offset, h.pixel_data_length}) {
    w.U(v);
  }
  w.U((h.float_pixels ? 1u : 0u) | (h.native ? 2u : 0u));
  w.U(h.frames.size());
  for (const FrameHeader& f : h.frames) EncodeFrame(w, f);
  EncodeSidecar(w, h.sidecar);
  return w.Take();
}

Result<ImageHeader> DecodeImageHeader(std::string_view bytes) {
  Reader r(bytes);
  const uint64_t version = r.U();
  if (r.ok() && version != kImageHeaderRecordVersion) {
    return Status::Corruption("image header record: unknown version " + std::to_string(version));
  }
  ImageHeader h;
  for (std::string* s : {&h.sop_class_uid, &h.transfer_syntax_uid, &h.series_uid, &h.modality,
                         &h.manufacturer, &h.image_type, &h.acquisition_time, &h.photometric}) {
    *s = r.Str();
  }
  const uint64_t p = r.U();
  if (p & (1u << 0)) h.series_number = r.S();
  if (p & (1u << 1)) h.instance_number = r.S();
  if (p & (1u << 2)) h.acquisition_number = r.S();
  if (p & (1u << 3)) h.gantry_tilt = r.D();
  if (p & (1u << 4)) h.mosaic_slice_normal = r.Ds<3>();
  if (p & (1u << 5)) h.spacing_between_slices = r.D();
  if (p & (1u << 6)) h.pixel_padding_value = r.S();
  h.rows = static_cast<uint32_t>(r.U());
  h.columns = static_cast<uint32_t>(r.U());
  h.number_of_frames = static_cast<uint32_t>(r.U());
  h.samples_per_pixel = static_cast<uint16_t>(r.U());
  h.bits_allocated = static_cast<uint16_t>(r.U());
  h.bits_stored = static_cast<uint16_t>(r.U());
  h.high_bit = static_cast<uint16_t>(r.U());
  h.pixel_representation = static_cast<uint16_t>(r.U());
  h.planar_configuration = static_cast<uint16_t>(r.U());
  h.images_in_mosaic = static_cast<uint32_t>(r.U());
  h.pixel_data_offset = r.U();
  h.pixel_data_length = r.U();
  const uint64_t flags = r.U();
  h.float_pixels = (flags & 1u) != 0;
  h.native = (flags & 2u) != 0;
  const uint64_t frames = r.Count(kMaxFrames);
  // Each frame takes at least 6 bytes: never reserve more than the record could hold.
  if (r.ok() && frames > bytes.size()) return Status::Corruption("image header record: truncated");
  h.frames.reserve(frames);
  for (uint64_t i = 0; i < frames && r.ok(); ++i) h.frames.push_back(DecodeFrame(r));
  DecodeSidecar(r, h.sidecar);
  if (!r.ok()) return Status::Corruption("image header record: truncated or malformed");
  if (!r.at_end()) return Status::Corruption("image header record: trailing bytes");
  return h;
}

}  // namespace dcmfs
