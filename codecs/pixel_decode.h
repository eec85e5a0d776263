// Pixel decoding of every transfer syntax an archive holds, into one plain
// in-memory layout, so that recon/, mesh/ and the IIIF renderer never see a
// transfer syntax, an encapsulation or a photometric quirk.
//
// Output layout of a DecodedFrame (whatever the input was):
//   - rows x columns pixels, row-major, samples interleaved (RGBRGB...);
//   - monochrome (samples == 1): the stored values as integers of the
//     smallest type that holds BitsAllocated (1 -> uint8 0/1, 8, 16, 32;
//     signedness from PixelRepresentation), host byte order, bits above
//     BitsStored cleared and, for signed data, sign-extended from HighBit
//     (12-bit data with garbage in the unused high bits comes out clean);
//     Float/Double Float Pixel Data come out as float32.
//     MONOCHROME1 is NOT inverted here (rendering does that after the VOI).
//   - colour (samples == 3): 8-bit RGB interleaved, whatever the input was:
//     RGB planar/interleaved, YBR_FULL, YBR_FULL_422, YBR_ICT/RCT/PARTIAL
//     (as the codec delivers them), PALETTE COLOR expanded through its LUT
//     (16-bit LUT entries scaled to 8 bits); 16-bit RGB is scaled to 8 bits.
//
// Thread-safe: a PixelDecoder may decode different frames concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace dcmfs {

enum class SampleType { kUint8, kInt8, kUint16, kInt16, kUint32, kInt32, kFloat32 };

// Bytes per sample of `type`.
size_t SampleSize(SampleType type);

struct PixelFormat {
  uint32_t rows = 0;
  uint32_t columns = 0;
  uint16_t samples = 1;            // 1 (monochrome) or 3 (RGB)
  SampleType type = SampleType::kUint16;
  uint16_t bits_stored = 0;        // of the stored data (8 for colour output)
  // After decoding: "MONOCHROME1", "MONOCHROME2" or "RGB".
  std::string photometric;

  size_t frame_bytes() const { return size_t{rows} * columns * samples * SampleSize(type); }
};

struct DecodedFrame {
  PixelFormat format;
  std::vector<uint8_t> data;  // format.frame_bytes() bytes
};

class PixelDecoder {
 public:
  // Parses `dicom_file` (a whole Part 10 file, or a raw implicit-LE dataset)
  // once. The bytes must outlive the decoder (it may keep views into them).
  // Errors name the reason and, when the transfer syntax is the reason, its
  // UID and name:
  //   DataLoss         not DICOM, truncated, fragments missing
  //   InvalidArgument  no Pixel Data
  //   Unsupported      a transfer syntax or pixel layout we cannot decode
  static Result<std::unique_ptr<PixelDecoder>> Open(std::span<const uint8_t> dicom_file);
  virtual ~PixelDecoder() = default;

  virtual const PixelFormat& format() const = 0;  // the same for every frame
  virtual uint32_t frame_count() const = 0;
  virtual const std::string& transfer_syntax() const = 0;

  // Decodes frame `index` (0-based). InvalidArgument past the last frame.
  virtual Result<DecodedFrame> Decode(uint32_t index) const = 0;

  // Rows [first_row, first_row + rows) of frame `index`: a DecodedFrame of
  // `rows` rows holding exactly those rows of Decode(index). JPEG 2000 and
  // HTJ2K decode only the code blocks the rows need (OpenJPEG's decode
  // area); other transfer syntaxes decode the frame and keep the rows.
  // InvalidArgument past the last frame or for rows outside the frame (or
  // none); the errors of Decode otherwise.
  virtual Result<DecodedFrame> DecodeRows(uint32_t index, uint32_t first_row,
                                          uint32_t rows) const = 0;
  // Whether DecodeRows costs less than Decode for this transfer syntax.
  virtual bool DecodesPartialRows() const = 0;

  // Encapsulated transfer syntaxes only: the compressed bitstream of frame
  // `index` exactly as stored (fragments joined, trailing pad removed), for
  // pass-through (e.g. a stored JPEG tile served as a IIIF tile).
  // Unsupported for native (uncompressed) data.
  virtual Result<std::vector<uint8_t>> EncodedFrame(uint32_t index) const = 0;
};

}  // namespace dcmfs
