#include "codecs/internal/pixel_dcmtk_codecs.h"

#include <cstring>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>

#include <exception>
#include <mutex>

#include "codecs/internal/dcmtk_init.h"

namespace dcmfs::codecs_internal {
namespace {

constexpr const char* kDcmtkSyntaxes[] = {
    "1.2.840.10008.1.2.4.50",  // JPEG Baseline (Process 1)
    "1.2.840.10008.1.2.4.51",  // JPEG Extended (Process 2 & 4)
    "1.2.840.10008.1.2.4.53",  // JPEG Spectral Selection, retired
    "1.2.840.10008.1.2.4.55",  // JPEG Full Progression, retired
    "1.2.840.10008.1.2.4.57",  // JPEG Lossless (Process 14)
    "1.2.840.10008.1.2.4.70",  // JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80",  // JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81",  // JPEG-LS Near-Lossless
};

void RegisterDecoders() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Defaults, as dcmdjpeg/dcmdjpls: YCbCr JPEG is converted to RGB when the
    // photometric interpretation says YBR (EDC_photometricInterpretation).
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
  });
}

// Sample precision of a JPEG bitstream from its SOF marker (ITU T.81 B.2.2),
// which decides whether DCMTK writes 1 or 2 bytes per sample; 0 if none.
unsigned JpegPrecision(std::span<const uint8_t> s) {
  size_t i = 2;  // after SOI
  while (i + 4 < s.size()) {
    if (s[i] != 0xFF) return 0;
    const uint8_t m = s[i + 1];
    if (m == 0xFF) {
      ++i;
      continue;
    }  // fill byte
    const size_t len = size_t{s[i + 2]} << 8 | s[i + 3];
    const bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
    if (sof) return s[i + 4];
    if (m == 0xDA) return 0;  // a scan before any frame header
    i += 2 + len;
  }
  return 0;
}

// What a JPEG bitstream says of its own colour space, from its markers, as
// libjpeg reads them (jdapimin.c default_decompress_parms): a JFIF APP0
// marker means YCbCr, an Adobe APP14 marker's transform flag says YCbCr (1)
// or not (0). Unknown when neither is present.
enum class JpegColour { kUnknown, kYcbcr, kNotYcbcr };

JpegColour JpegColourOf(std::span<const uint8_t> s) {
  size_t i = 2;  // after SOI
  while (i + 4 < s.size()) {
    if (s[i] != 0xFF) return JpegColour::kUnknown;
    const uint8_t m = s[i + 1];
    if (m == 0xFF) {
      ++i;
      continue;
    }
    const size_t len = size_t{s[i + 2]} << 8 | s[i + 3];
    const size_t body = i + 4;
    if (m == 0xE0 && len >= 7 && body + 5 <= s.size() &&
        std::memcmp(&s[body], "JFIF\0", 5) == 0) {
      return JpegColour::kYcbcr;
    }
    if (m == 0xEE && len >= 14 && body + 12 <= s.size() &&
        std::memcmp(&s[body], "Adobe", 5) == 0) {
      return s[body + 11] == 0 ? JpegColour::kNotYcbcr : JpegColour::kYcbcr;
    }
    if (m == 0xDA || (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC)) break;
    i += 2 + len;
  }
  return JpegColour::kUnknown;
}

Result<unsigned> OutputSampleBytes(const PixelAttributes& a, const std::string& ts,
                                   std::span<const uint8_t> frame) {
  if (ts == "1.2.840.10008.1.2.4.80" || ts == "1.2.840.10008.1.2.4.81") {
    return (a.bits_stored > 8 || a.bits_allocated > 8) ? 2u : 1u;
  }
  const unsigned precision = JpegPrecision(frame);
  if (precision == 0) return Status::DataLoss("JPEG frame without a frame header (SOF)");
  return precision > 8 ? 2u : 1u;
}

void PutAttributes(const PixelAttributes& a, DcmDataset& ds) {
  ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(a.rows));
  ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(a.columns));
  ds.putAndInsertUint16(DCM_SamplesPerPixel, a.samples);
  ds.putAndInsertUint16(DCM_BitsAllocated, a.bits_allocated);
  ds.putAndInsertUint16(DCM_BitsStored, a.bits_stored);
  ds.putAndInsertUint16(DCM_HighBit, a.high_bit);
  ds.putAndInsertUint16(DCM_PixelRepresentation, a.is_signed ? 1 : 0);
  ds.putAndInsertOFStringArray(DCM_PhotometricInterpretation, a.photometric.c_str());
  // Ask for colour-by-pixel output whatever the file stored: the decoders
  // honour the dataset's value (JPEG) or restore it (JPEG-LS).
  if (a.samples > 1) ds.putAndInsertUint16(DCM_PlanarConfiguration, 0);
  ds.putAndInsertOFStringArray(DCM_NumberOfFrames, "1");
}

}  // namespace

bool IsDcmtkCodecSyntax(const std::string& ts_uid) {
  for (const char* uid : kDcmtkSyntaxes) {
    if (ts_uid == uid) return true;
  }
  return false;
}

Result<RawFrame> DecodeWithDcmtk(const PixelAttributes& a, const std::string& ts_uid,
                                 std::span<const uint8_t> frame) {
  RETURN_IF_ERROR(EnsureDcmtkReady());
  RegisterDecoders();
  if (a.rows > 0xFFFF || a.columns > 0xFFFF) return Status::Unsupported("image too large");
  if (frame.empty() || frame.size() > 0xFFFFFFF0u) {
    return Status::DataLoss("compressed frame of " + std::to_string(frame.size()) + " bytes");
  }
  ASSIGN_OR_RETURN(const unsigned bytes, OutputSampleBytes(a, ts_uid, frame));
  const uint64_t size = a.pixels() * a.samples * bytes;
  if (size == 0 || size > 0xFFFFFFF0u) return Status::Unsupported("frame too large for DCMTK");
  RawFrame raw;
  raw.bytes_per_sample = static_cast<uint8_t>(bytes);
  raw.data.resize(size + (size & 1));  // DCMTK's decoders write whole 16-bit words
  // Whole-slide and other lossy JPEG colour frames are often labelled RGB
  // while the bitstream is JFIF YCbCr; DCMTK follows the label and would
  // return YCbCr samples as RGB. The bitstream's own markers win, as in
  // libjpeg, PIL and OpenSlide.
  PixelAttributes decode_as = a;
  if (a.samples == 3 && a.photometric == "RGB" && JpegPrecision(frame) == 8 &&
      JpegColourOf(frame) == JpegColour::kYcbcr) {
    decode_as.photometric = "YBR_FULL_422";
  }
  try {
    DcmDataset ds;
    PutAttributes(decode_as, ds);
    DcmPixelSequence seq(DcmTag(DCM_PixelData, EVR_OB));
    seq.insert(new DcmPixelItem(DcmTag(DCM_Item, EVR_OB)));  // empty Basic Offset Table
    auto* item = new DcmPixelItem(DcmTag(DCM_Item, EVR_OB));
    seq.insert(item);
    if (item->putUint8Array(frame.data(), static_cast<Uint32>(frame.size())).bad()) {
      return Status::Internal("DCMTK could not hold the compressed frame");
    }
    Uint32 start_fragment = 0;
    OFString colour;
    const DcmXfer xfer(ts_uid.c_str());
    OFCondition cond =
        DcmCodecList::decodeFrame(xfer, nullptr, &seq, &ds, 0, start_fragment, raw.data.data(),
                                  static_cast<Uint32>(raw.data.size()), colour);
    if (cond.bad()) {
      return Status::DataLoss(std::string(xfer.getXferName()) +
                              " frame not decodable: " + cond.text());
    }
    raw.photometric = colour.c_str();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("DCMTK decoder threw: ") + e.what());
  }
  raw.data.resize(size);
  return raw;
}

}  // namespace dcmfs::codecs_internal
