// ImageHeader: everything volume reconstruction (recon/) needs from one DICOM
// instance, read from a PREFIX of the file that ends at or after the Pixel
// Data element's header, so the fs layer never reads pixels to plan volumes.
//
// Geometry is in the DICOM patient coordinate system (LPS), millimetres.
// Multi-frame images (Enhanced CT/MR, PS3.3 C.7.6.16) get one FrameHeader per
// frame from the Shared and Per-frame Functional Groups; single-frame images
// get one FrameHeader from the top-level attributes. Siemens mosaics (PS3 has
// no standard for them; the CSA header, a Siemens private element, holds the
// tile count and the slice normal) are described, not de-mosaiced, here.
// Plain data, no DCMTK types.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "codecs/pixel_decode.h"

namespace dcmfs {

// Geometry and value mapping of one frame (one 2D image).
struct FrameHeader {
  std::optional<std::array<double, 3>> position;     // ImagePositionPatient (0020,0032)
  std::optional<std::array<double, 6>> orientation;  // ImageOrientationPatient (0020,0037)
  std::optional<std::array<double, 2>> pixel_spacing;  // (0028,0030): row spacing, column spacing
  std::optional<double> slice_thickness;             // (0018,0050)
  double rescale_slope = 1.0;                        // (0028,1053); 1 when absent
  double rescale_intercept = 0.0;                    // (0028,1052); 0 when absent
  std::optional<double> echo_time;                   // ms: (0018,0081) or EffectiveEchoTime (0018,9082)
  std::optional<int64_t> echo_number;                // EchoNumbers (0018,0086)
  std::optional<int64_t> temporal_position;          // TemporalPositionIdentifier (0020,0100) / Index (0020,9128)
  std::optional<int64_t> stack_position;             // InStackPositionNumber (0020,9057)
  std::vector<uint32_t> dimension_index;             // DimensionIndexValues (0020,9157)
  std::optional<double> trigger_time;                // (0018,1060)
  // Philips private MR Scale Slope (2005,100E), top level or in the
  // per-frame private sequence (2005,140F): dcm2niix's "precise" values
  // are stored / scale_slope.
  std::optional<double> philips_scale_slope;
};

struct ImageHeader {
  // Identification and series-level description.
  std::string sop_class_uid;
  std::string transfer_syntax_uid;
  std::string series_uid;
  std::string modality;
  std::string manufacturer;
  std::string image_type;  // backslash-separated, as stored
  std::optional<int64_t> series_number;
  std::optional<int64_t> instance_number;
  std::optional<int64_t> acquisition_number;
  std::string acquisition_time;  // TM as stored
  std::optional<double> gantry_tilt;  // GantryDetectorTilt (0018,1120), degrees
  std::optional<int64_t> pixel_padding_value;  // (0028,0120), as stored (US or SS)

  // Image pixel module (PS3.3 C.7.6.3).
  uint32_t rows = 0;
  uint32_t columns = 0;
  uint32_t number_of_frames = 1;
  uint16_t samples_per_pixel = 1;
  uint16_t bits_allocated = 16;
  uint16_t bits_stored = 16;
  uint16_t high_bit = 15;
  uint16_t pixel_representation = 0;  // 0 unsigned, 1 signed
  uint16_t planar_configuration = 0;
  std::string photometric;
  bool float_pixels = false;  // Float Pixel Data (7FE0,0008)

  // Where the pixels are, for reading native frames straight from the blob.
  // pixel_data_offset is the file offset of the first value byte of Pixel
  // Data; native is true for uncompressed little-endian storage whose bytes
  // can be read in place (not deflated, not big endian, not encapsulated).
  uint64_t pixel_data_offset = 0;
  uint64_t pixel_data_length = 0;  // 0xFFFFFFFF when undefined (encapsulated)
  bool native = false;

  // Siemens mosaic (CSA header (0029,1010) or (0019,100A)): > 0 when the
  // image is a mosaic of that many tiles; slice_normal from the CSA header.
  uint32_t images_in_mosaic = 0;
  std::optional<std::array<double, 3>> mosaic_slice_normal;
  std::optional<double> spacing_between_slices;  // (0018,0088)

  std::vector<FrameHeader> frames;  // number_of_frames entries

  // Fields of the BIDS sidecar as dcm2niix names them, each value already
  // JSON-encoded ("\"MR\"", "3", "[\"ORIGINAL\",\"PRIMARY\"]"), in the order
  // dcm2niix writes them. Nothing identifying the patient.
  std::vector<std::pair<std::string, std::string>> sidecar;
};

// What ParseImageHeader needs when the prefix was too short: the parse must
// be repeated with at least `need_bytes` bytes (or the whole file).
struct ImageHeaderOrMore {
  std::optional<ImageHeader> header;
  uint64_t need_bytes = 0;  // > 0 iff header is empty
};

// Parses the first `prefix.size()` bytes of a DICOM file of `file_size`
// bytes, up to the Pixel Data element. If the prefix ends before the Pixel
// Data element's value starts (or the file is deflated, which cannot be
// parsed from a prefix), returns need_bytes (more bytes, at most file_size).
// Errors: DataLoss (not DICOM, truncated), InvalidArgument (no Pixel Data,
// no rows/columns).
Result<ImageHeaderOrMore> ParseImageHeader(std::span<const uint8_t> prefix, uint64_t file_size);

// The header of a whole file in memory (ParseImageHeader given every byte),
// or of the file at `path`, read in growing prefixes (memory bounded by the
// header, not the file). Errors as ParseImageHeader; IoError naming the path.
Result<ImageHeader> ParseImageHeaderWhole(std::span<const uint8_t> file);
Result<ImageHeader> ReadImageHeaderFile(const std::string& path);

// Decodes one frame of native data read from the blob at
// pixel_data_offset + frame * header_frame_bytes(h) (that many bytes),
// into pixel_decode.h's layout (bits above BitsStored cleared, signed values
// sign-extended from HighBit). Monochrome only; Unsupported otherwise.
Result<DecodedFrame> DecodeNativeFrame(const ImageHeader& h, std::span<const uint8_t> raw);
// The same, decoding in place in `raw` (taken over: it becomes the frame's
// data), which saves a copy of every voxel on the volume read path.
Result<DecodedFrame> DecodeNativeFrame(const ImageHeader& h, std::vector<uint8_t>&& raw);
// The same for a frame that starts `at` bytes into `raw` (a whole small
// file read at once, straight out of the decompressor): the values move to
// the front as they are unpacked, with no second buffer.
Result<DecodedFrame> DecodeNativeFrameAt(const ImageHeader& h, std::vector<uint8_t>&& raw,
                                         uint64_t at);
// Bytes one stored frame takes in native storage.
uint64_t NativeFrameBytes(const ImageHeader& h);

}  // namespace dcmfs
