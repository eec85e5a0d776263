// ParseDicom: DCMTK reads the file from memory; we pick out InstanceMeta.
//
// Passes:
//   1. Sniff: Part 10 ("DICM" at byte 128, PS3.10 7.1) or a raw dataset
//      whose first tag is plausible. Anything else is refused before DCMTK
//      sees it, because DCMTK's implicit-VR fallback will happily "parse"
//      random bytes into nonsense elements.
//   2. DcmFileFormat::read over a SpanInputStream with a small maxReadLength,
//      so that Pixel Data and other large values are skipped, not copied.
//      DCMTK's auto mode handles the meta header with or without preamble
//      and detects the transfer syntax of raw datasets.
//   3. Refuse DICOMDIRs and instances without the three placing UIDs.
//   4. Extract fields; text is converted to UTF-8 from Specific Character
//      Set (PS3.5 6.1) with DcmSpecificCharacterSet, falling back to U+FFFD
//      for bytes that cannot be decoded.
#include "codecs/dicom_parse.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcerror.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcspchrs.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "codecs/internal/budgeted_stream.h"
#include "codecs/internal/dcmtk_init.h"
#include "codecs/internal/span_input_stream.h"
#include "codecs/internal/text.h"

namespace dcmfs {
namespace {

using codecs_internal::SanitizeUtf8;
using codecs_internal::TrimPadding;

// Values longer than this stay on the "stream" (our buffer) unread; every
// field we extract is far shorter, while Pixel Data is far longer.
constexpr Uint32 kMaxReadLength = 4096;
constexpr size_t kPreambleSize = 128;
constexpr char kMediaStorageDirectoryUid[] = "1.2.840.10008.1.3.10";  // PS3.6 Annex A

// PS3.10 7.1: a 128-byte preamble, then "DICM".
bool HasPart10Prefix(std::span<const uint8_t> bytes) {
  return bytes.size() >= kPreambleSize + 4 &&
         std::memcmp(bytes.data() + kPreambleSize, "DICM", 4) == 0;
}

// A raw dataset (no preamble) starts with its lowest tag. Real ones begin in
// the meta group (0002), the ACR-NEMA/identifying groups (0008) or at least
// before the image groups; odd groups are private and never come first. The
// group may be little or big endian. This rejects text, archives, images...
bool LooksLikeRawDataset(std::span<const uint8_t> bytes) {
  if (bytes.size() < 8) return false;
  const uint16_t le = static_cast<uint16_t>(bytes[0] | bytes[1] << 8);
  const uint16_t be = static_cast<uint16_t>(bytes[1] | bytes[0] << 8);
  const auto plausible = [](uint16_t g) { return g % 2 == 0 && g >= 0x0002 && g <= 0x0020; };
  return plausible(le) || plausible(be);
}

// Reads a text attribute as UTF-8, trimmed. `charset` is null when the
// dataset is already ASCII/UTF-8 and needs only validation.
class TextReader {
 public:
  TextReader(DcmDataset& dataset, DcmSpecificCharacterSet* charset)
      : dataset_(dataset), charset_(charset) {}

  std::string Get(const DcmTagKey& tag, bool trim_leading = true) const {
    OFString raw;
    if (dataset_.findAndGetOFStringArray(tag, raw).bad()) return {};
    std::string_view value = TrimPadding(std::string_view(raw.c_str(), raw.length()),
                                         trim_leading);
    if (charset_ != nullptr) {
      OFString converted;
      // PN needs '^' and '=' as delimiters so ISO 2022 escapes reset per
      // component group (PS3.5 6.1.2.5.3); '\\' separates values for all VRs.
      const bool is_pn = DcmTag(tag).getEVR() == EVR_PN;
      if (charset_->convertString(value.data(), value.size(), converted, is_pn ? "\\^=" : "\\")
              .good()) {
        return SanitizeUtf8(TrimPadding(std::string_view(converted.c_str(), converted.length()),
                                        trim_leading));
      }
    }
    return SanitizeUtf8(value);
  }

 private:
  DcmDataset& dataset_;
  DcmSpecificCharacterSet* charset_;
};

std::string GetAscii(DcmItem& item, const DcmTagKey& tag) {
  OFString raw;
  if (item.findAndGetOFStringArray(tag, raw).bad()) return {};
  return SanitizeUtf8(TrimPadding(std::string_view(raw.c_str(), raw.length())));
}

// IS values (PS3.5 6.2): optional sign, digits, surrounding spaces.
std::optional<int64_t> GetInteger(DcmItem& item, const DcmTagKey& tag) {
  std::string s = GetAscii(item, tag);
  std::string_view v = s;
  if (const size_t bs = v.find('\\'); bs != std::string_view::npos) v = v.substr(0, bs);
  v = TrimPadding(v);
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return out;
}

// N finite numbers from a DS/FD attribute, or nullopt if fewer or malformed.
template <size_t N>
std::optional<std::array<double, N>> GetDoubles(DcmItem& item, const DcmTagKey& tag) {
  std::array<double, N> out{};
  for (size_t i = 0; i < N; ++i) {
    Float64 v = 0;
    if (item.findAndGetFloat64(tag, v, static_cast<unsigned long>(i)).bad() || !std::isfinite(v)) {
      return std::nullopt;
    }
    out[i] = v;
  }
  return out;
}

std::optional<double> GetDouble(DcmItem& item, const DcmTagKey& tag) {
  auto v = GetDoubles<1>(item, tag);
  if (!v) return std::nullopt;
  return (*v)[0];
}

uint16_t GetU16(DcmItem& item, const DcmTagKey& tag) {
  Uint16 v = 0;
  return item.findAndGetUint16(tag, v).good() ? v : 0;
}

// Reads the file meta header and dataset from `stream` (`total` bytes long).
// `exhausted` tells whether the stream's work budget ran out.
template <typename Stream>
Status ReadFile(Stream& stream, uint64_t total, DcmFileFormat& file) {
  file.transferInit();
  OFCondition cond = file.read(stream, EXS_Unknown, EGL_noChange, kMaxReadLength);
  file.transferEnd();
  if (stream.exhausted()) {
    return Status::DataLoss("unreadable DICOM: malformed structure (parsing " +
                            std::to_string(total) +
                            " bytes took more than its work budget; see budgeted_stream.h)");
  }
  if (cond.good()) return Status::Ok();
  // DCMTK reports running out of bytes mid-element as "stream notify
  // client" (it would wait for more on a network stream).
  if (cond == EC_StreamNotifyClient || cond == EC_InvalidStream || stream.eos()) {
    return Status::DataLoss(std::string("truncated: ") + cond.text() + " at byte " +
                            std::to_string(stream.tell()) + " of " + std::to_string(total));
  }
  return Status::DataLoss(std::string("unreadable DICOM: ") + cond.text());
}

// PS3.3 F.3: a DICOMDIR names SOP Class 1.2.840.10008.1.3.10 in its meta
// header and carries the Directory Record Sequence.
bool IsDicomdir(DcmFileFormat& file) {
  OFString sop_class;
  file.getMetaInfo()->findAndGetOFString(DCM_MediaStorageSOPClassUID, sop_class);
  if (TrimPadding(sop_class.c_str()) == kMediaStorageDirectoryUid) return true;
  return file.getDataset()->tagExists(DCM_DirectoryRecordSequence);
}

Status CheckPlacingUids(const InstanceMeta& meta) {
  std::string missing;
  const auto need = [&](const std::string& v, const char* name) {
    if (v.empty()) missing += (missing.empty() ? "" : ", ") + std::string(name);
  };
  need(meta.study_uid, "StudyInstanceUID (0020,000D)");
  need(meta.series_uid, "SeriesInstanceUID (0020,000E)");
  need(meta.sop_uid, "SOPInstanceUID (0008,0018)");
  if (missing.empty()) return Status::Ok();
  return Status::InvalidArgument("missing " + missing);
}

void FillText(const TextReader& text, InstanceMeta& m) {
  m.patient_name = text.Get(DCM_PatientName);
  m.patient_id = text.Get(DCM_PatientID);
  m.issuer_of_patient_id = text.Get(DCM_IssuerOfPatientID);
  m.study_description = text.Get(DCM_StudyDescription);
  m.accession_number = text.Get(DCM_AccessionNumber);
  m.study_id = text.Get(DCM_StudyID);
  m.series_description = text.Get(DCM_SeriesDescription);
}

void FillCoded(DcmDataset& ds, InstanceMeta& m) {
  m.patient_birth_date = GetAscii(ds, DCM_PatientBirthDate);
  m.patient_sex = GetAscii(ds, DCM_PatientSex);
  m.study_uid = GetAscii(ds, DCM_StudyInstanceUID);
  m.study_date = GetAscii(ds, DCM_StudyDate);
  m.study_time = GetAscii(ds, DCM_StudyTime);
  m.series_uid = GetAscii(ds, DCM_SeriesInstanceUID);
  m.series_number = GetInteger(ds, DCM_SeriesNumber);
  m.modality = GetAscii(ds, DCM_Modality);
  m.series_date = GetAscii(ds, DCM_SeriesDate);
  m.series_time = GetAscii(ds, DCM_SeriesTime);
  m.frame_of_reference_uid = GetAscii(ds, DCM_FrameOfReferenceUID);
  m.sop_uid = GetAscii(ds, DCM_SOPInstanceUID);
  m.sop_class_uid = GetAscii(ds, DCM_SOPClassUID);
  m.instance_number = GetInteger(ds, DCM_InstanceNumber);
  m.content_date = GetAscii(ds, DCM_ContentDate);
  m.content_time = GetAscii(ds, DCM_ContentTime);
  m.acquisition_date = GetAscii(ds, DCM_AcquisitionDate);
  m.acquisition_time = GetAscii(ds, DCM_AcquisitionTime);
  m.image_type = GetAscii(ds, DCM_ImageType);
  m.burned_in_annotation = GetAscii(ds, DCM_BurnedInAnnotation);
  m.window_center = GetAscii(ds, DCM_WindowCenter);
  m.window_width = GetAscii(ds, DCM_WindowWidth);
  m.photometric_interpretation = GetAscii(ds, DCM_PhotometricInterpretation);
}

void FillGeometryAndPixels(DcmDataset& ds, InstanceMeta& m) {
  m.image_position = GetDoubles<3>(ds, DCM_ImagePositionPatient);
  m.image_orientation = GetDoubles<6>(ds, DCM_ImageOrientationPatient);
  m.pixel_spacing = GetDoubles<2>(ds, DCM_PixelSpacing);
  m.slice_thickness = GetDouble(ds, DCM_SliceThickness);
  m.spacing_between_slices = GetDouble(ds, DCM_SpacingBetweenSlices);

  m.rows = GetU16(ds, DCM_Rows);
  m.columns = GetU16(ds, DCM_Columns);
  m.samples_per_pixel = GetU16(ds, DCM_SamplesPerPixel);
  m.bits_allocated = GetU16(ds, DCM_BitsAllocated);
  m.bits_stored = GetU16(ds, DCM_BitsStored);
  m.high_bit = GetU16(ds, DCM_HighBit);
  m.pixel_representation = GetU16(ds, DCM_PixelRepresentation);
  m.planar_configuration = GetU16(ds, DCM_PlanarConfiguration);
  m.has_pixel_data = ds.tagExists(DCM_PixelData);
  // PS3.3 C.7.6.6: Number of Frames is present only for multi-frame IODs.
  const std::optional<int64_t> frames = GetInteger(ds, DCM_NumberOfFrames);
  if (frames && *frames > 0 && *frames <= INT32_MAX) {
    m.number_of_frames = static_cast<uint32_t>(*frames);
  } else {
    m.number_of_frames = m.has_pixel_data ? 1 : 0;
  }
  // PS3.3 C.11.1.1.2: absent rescale means identity.
  m.rescale_slope = GetDouble(ds, DCM_RescaleSlope).value_or(1.0);
  m.rescale_intercept = GetDouble(ds, DCM_RescaleIntercept).value_or(0.0);
}

// Text needs conversion unless it is ASCII (empty or ISO_IR 6) or UTF-8.
bool NeedsConversion(const std::string& charset) {
  return !(charset.empty() || charset == "ISO_IR 6" || charset == "ISO_IR 192" ||
           charset == "ISO 2022 IR 6");
}

std::string TransferSyntaxUid(DcmFileFormat& file) {
  std::string ts = GetAscii(*file.getMetaInfo(), DCM_TransferSyntaxUID);
  if (!ts.empty()) return ts;
  // A raw dataset: the syntax DCMTK detected while reading it.
  const char* id = DcmXfer(file.getDataset()->getOriginalXfer()).getXferID();
  return id != nullptr ? id : "";
}

}  // namespace

namespace {

// The checks before DCMTK sees the bytes; `head` is the first (up to) 132 bytes.
Status Sniff(std::span<const uint8_t> head, uint64_t total, bool* part10) {
  if (total == 0) return Status::DataLoss("empty file");
  *part10 = HasPart10Prefix(head);
  if (!*part10 && !LooksLikeRawDataset(head)) {
    return Status::DataLoss("not DICOM: no DICM prefix and not a parseable dataset");
  }
  return Status::Ok();
}

// Everything after the sniff, for any stream DCMTK can defer large values on.
template <typename Stream>
Result<InstanceMeta> ParseStream(Stream& stream, uint64_t total, bool part10) {
  DcmFileFormat file;
  RETURN_IF_ERROR(ReadFile(stream, total, file));
  DcmDataset& ds = *file.getDataset();
  if (IsDicomdir(file)) {
    return Status::InvalidArgument("DICOMDIR media directory, not an instance");
  }
  if (ds.card() == 0) {
    return Status::DataLoss(part10 ? "truncated: no dataset after the file meta header"
                                   : "not DICOM: no DICM prefix and not a parseable dataset");
  }

  InstanceMeta m;
  FillCoded(ds, m);
  RETURN_IF_ERROR(CheckPlacingUids(m));
  m.transfer_syntax_uid = TransferSyntaxUid(file);
  OFString charset_raw;
  ds.findAndGetOFStringArray(DCM_SpecificCharacterSet, charset_raw);
  m.specific_character_set = GetAscii(ds, DCM_SpecificCharacterSet);

  std::unique_ptr<DcmSpecificCharacterSet> converter;
  if (NeedsConversion(m.specific_character_set) &&
      DcmSpecificCharacterSet::isConversionAvailable()) {
    converter = std::make_unique<DcmSpecificCharacterSet>();
    // The defined term may be unknown or misspelt; then bytes are kept where
    // they are valid UTF-8 and the rest becomes U+FFFD.
    if (converter->selectCharacterSet(charset_raw).bad()) converter.reset();
  }
  FillText(TextReader(ds, converter.get()), m);
  FillGeometryAndPixels(ds, m);
  return m;
}

}  // namespace

Result<InstanceMeta> ParseDicom(std::span<const uint8_t> bytes) {
  RETURN_IF_ERROR(codecs_internal::EnsureDcmtkReady());
  bool part10 = false;
  RETURN_IF_ERROR(Sniff(bytes.first(std::min<size_t>(bytes.size(), kPreambleSize + 4)),
                        bytes.size(), &part10));
  codecs_internal::SpanInputStream stream(bytes, 0, /*budgeted=*/true);
  return ParseStream(stream, bytes.size(), part10);
}

Result<InstanceMeta> ParseDicomFile(const std::string& path) {
  RETURN_IF_ERROR(codecs_internal::EnsureDcmtkReady());
  std::error_code ec;
  const uint64_t total = std::filesystem::file_size(path, ec);
  if (ec) return Status::IoError(path + ": " + ec.message());
  uint8_t head[kPreambleSize + 4] = {};
  size_t got = 0;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    got = std::fread(head, 1, sizeof(head), f);
    std::fclose(f);
  } else {
    return Status::FromErrno(path, errno);
  }
  bool part10 = false;
  RETURN_IF_ERROR(Sniff(std::span<const uint8_t>(head, got), total, &part10));
  // The stream offers a factory, so DCMTK skips Pixel Data on disk instead
  // of loading it: a multi-gigabyte file parses in constant memory.
  codecs_internal::BudgetedFileStream stream(path, total);
  if (!stream.good()) return Status::IoError(path + ": " + stream.status().text());
  return ParseStream(stream, total, part10);
}

}  // namespace dcmfs
