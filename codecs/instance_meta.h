// What dcmfs remembers about one DICOM instance, read once at ingest so that
// listing, naming and sizing never re-read the blob. Plain data, no DCMTK.
//
// Text fields are UTF-8 (decoded from SpecificCharacterSet (0008,0005); bytes
// that cannot be decoded become U+FFFD), with DICOM padding trimmed. Dates are
// DICOM DA "YYYYMMDD", times TM "HHMMSS.FFFFFF", as stored. Geometry is in the
// DICOM patient coordinate system (LPS), millimetres.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace dcmfs {

struct InstanceMeta {
  // Patient (0010,xxxx)
  std::string patient_name;  // PN, components joined by '^' as stored
  std::string patient_id;
  std::string issuer_of_patient_id;
  std::string patient_birth_date;
  std::string patient_sex;

  // Study (0020,000D), (0008,0020) ...
  std::string study_uid;
  std::string study_date;
  std::string study_time;
  std::string study_description;
  std::string accession_number;
  std::string study_id;

  // Series
  std::string series_uid;
  std::optional<int64_t> series_number;
  std::string modality;
  std::string series_description;
  std::string series_date;
  std::string series_time;
  std::string frame_of_reference_uid;

  // Instance
  std::string sop_uid;
  std::string sop_class_uid;
  std::string transfer_syntax_uid;  // from the file meta header (0002,0010)
  std::optional<int64_t> instance_number;
  std::string content_date;
  std::string content_time;
  std::string acquisition_date;
  std::string acquisition_time;
  std::string image_type;            // backslash-separated values, as stored
  std::string specific_character_set;
  std::string burned_in_annotation;  // "YES", "NO" or ""

  // Geometry (image plane module, PS3.3 C.7.6.2); absent when not present.
  std::optional<std::array<double, 3>> image_position;     // (0020,0032)
  std::optional<std::array<double, 6>> image_orientation;  // (0020,0037) row then column cosines
  std::optional<std::array<double, 2>> pixel_spacing;      // (0028,0030) row spacing, column spacing
  std::optional<double> slice_thickness;                   // (0018,0050)
  std::optional<double> spacing_between_slices;            // (0018,0088)

  // Pixel description (image pixel module, PS3.3 C.7.6.3); zero when absent.
  uint32_t rows = 0;
  uint32_t columns = 0;
  uint32_t number_of_frames = 0;  // 1 for single-frame images with pixels, 0 for no pixels
  uint16_t samples_per_pixel = 0;
  uint16_t bits_allocated = 0;
  uint16_t bits_stored = 0;
  uint16_t high_bit = 0;
  uint16_t pixel_representation = 0;  // 0 unsigned, 1 signed
  uint16_t planar_configuration = 0;
  std::string photometric_interpretation;
  bool has_pixel_data = false;
  double rescale_slope = 1.0;
  double rescale_intercept = 0.0;
  std::string window_center;  // as stored (may be multi-valued)
  std::string window_width;
};

}  // namespace dcmfs
