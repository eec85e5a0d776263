// Reading the structures that meshes are made from, out of DICOM instances
// held in memory: RT Structure Sets (contours), Segmentations (masks) and
// encapsulated 3D models (STL, OBJ, MTL). Plain data out, no DCMTK types.
//
// Geometry is DICOM patient coordinates (LPS), millimetres. Text is UTF-8
// with DICOM padding trimmed (bytes that are not UTF-8 become U+FFFD).
// Thread-safe: functions may run concurrently on different buffers.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace dcmfs {

inline constexpr std::string_view kRtStructureSetStorage = "1.2.840.10008.5.1.4.1.1.481.3";
inline constexpr std::string_view kSegmentationStorage = "1.2.840.10008.5.1.4.1.1.66.4";
inline constexpr std::string_view kLabelMapSegmentationStorage = "1.2.840.10008.5.1.4.1.1.66.7";
inline constexpr std::string_view kEncapsulatedStlStorage = "1.2.840.10008.5.1.4.1.1.104.3";
inline constexpr std::string_view kEncapsulatedObjStorage = "1.2.840.10008.5.1.4.1.1.104.4";
inline constexpr std::string_view kEncapsulatedMtlStorage = "1.2.840.10008.5.1.4.1.1.104.5";

// ---- RT Structure Set (PS3.3 A.19; C.8.8.5 Structure Set, C.8.8.6 ROI Contour)

struct RtContour {
  std::string geometric_type;  // (3006,0042): CLOSED_PLANAR, POINT, OPEN_PLANAR, ...
  std::vector<std::array<double, 3>> points;  // (3006,0050) ContourData, LPS mm
  std::vector<std::string> referenced_sop_uids;  // ContourImageSequence (3006,0016)
};

struct RtRoi {
  int64_t number = 0;                  // ROI Number (3006,0022)
  std::string name;                    // ROI Name (3006,0026), may be empty
  std::string frame_of_reference_uid;  // Referenced Frame of Reference UID (3006,0024)
  std::vector<RtContour> contours;     // from the ROI Contour Sequence item of this ROI
};

struct RtStructureSet {
  std::vector<RtRoi> rois;  // in Structure Set ROI Sequence order
  // From Referenced Frame of Reference Sequence (3006,0010): the image
  // series the contours were drawn on, when stated.
  std::vector<std::string> referenced_series_uids;
  std::vector<std::string> frame_of_reference_uids;
};

// Errors: DataLoss (not parseable DICOM), InvalidArgument (not an RT
// Structure Set, or no Structure Set ROI Sequence), Corruption (Contour Data
// whose count is not a multiple of 3 or is not numeric -- the ROI is named).
Result<RtStructureSet> ParseRtStructureSet(std::span<const uint8_t> dicom_file);

// ---- Segmentation (PS3.3 A.51; C.8.20.2 Segmentation Image, C.8.20.4 Segments)

struct SegSegment {
  uint16_t number = 0;   // Segment Number (0062,0004)
  std::string label;     // Segment Label (0062,0005)
  std::string description;
};

struct SegFrame {
  uint32_t index = 0;           // 0-based frame number in Pixel Data
  uint16_t segment_number = 0;  // Referenced Segment Number; 0 in label maps
  std::optional<std::array<double, 3>> position;  // Plane Position (Patient)
  std::optional<std::array<double, 6>> orientation;  // per-frame, when not shared
  // The image this frame was derived from (Derivation Image Sequence >
  // Source Image Sequence > Referenced SOP Instance UID, C.7.6.16.2.6):
  // where a frame without Plane Position lies, when that image is at hand.
  std::string source_sop_uid;
};

struct Segmentation {
  std::string type;  // BINARY, FRACTIONAL or LABELMAP (0062,0001)
  uint16_t max_fractional_value = 1;  // (0062,000E), FRACTIONAL only
  uint32_t rows = 0, columns = 0;
  std::optional<std::array<double, 6>> orientation;  // shared Plane Orientation
  std::optional<std::array<double, 2>> pixel_spacing;  // row, column spacing
  std::optional<double> spacing_between_slices;
  std::optional<double> slice_thickness;
  std::string frame_of_reference_uid;
  std::vector<std::string> referenced_series_uids;
  std::vector<SegSegment> segments;
  std::vector<SegFrame> frames;
};

// Pixel data is not decoded here (PixelDecoder does that: BitsAllocated 1
// frames come out as uint8 0/1). Errors: DataLoss, InvalidArgument (not a
// segmentation), Unsupported (TILED_FULL frames without per-frame geometry).
Result<Segmentation> ParseSegmentation(std::span<const uint8_t> dicom_file);

// ---- Encapsulated documents (PS3.3 A.85-A.87; C.24.2 Encapsulated Document)

struct EncapsulatedDocument {
  std::string sop_class_uid;
  std::string mime_type;  // (0042,0012)
  std::string extension;  // "stl", "obj", "mtl" from the SOP class
  std::string document;   // the document's bytes, exactly
};

// The file name extension for an encapsulated 3D model SOP class, or "" for
// anything else.
std::string_view EncapsulatedModelExtension(std::string_view sop_class_uid);

// The Encapsulated Document (0042,0011) value cut to Encapsulated Document
// Length (0042,0015) when present (the even-length pad byte is not part of
// the document). Errors: DataLoss, InvalidArgument (no Encapsulated
// Document), Corruption (a length beyond the value).
Result<EncapsulatedDocument> ExtractEncapsulatedDocument(std::span<const uint8_t> dicom_file);

}  // namespace dcmfs
