// The BIDS sidecar fields dcm2niix writes (its nii_dicom_batch.cpp
// nii_SaveBIDSX), in its order and units: times in seconds (DICOM holds ms),
// AcquisitionTime as HH:MM:SS.ffffff, manufacturer names shortened as
// dcm2niix does. Identifying fields (institution, station, serial number,
// patient) are deliberately left out: the sidecar is also served in views
// that must not identify anyone.
#include "codecs/internal/image_header_fields.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcelem.h>

#include <charconv>
#include <cstdio>
#include <sstream>

#include "codecs/internal/text.h"

namespace dcmfs::codecs_internal::image_header {
namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// dcm2niix prints numbers with %g-like precision (6 significant digits).
std::string JsonNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

// dcm2niix splits ImageType values at '\\' and at '_' ("ECHO_00" -> "ECHO", "00").
std::string JsonStringArray(const std::string& backslashed) {
  std::string out = "[";
  size_t start = 0;
  bool first = true;
  while (start <= backslashed.size()) {
    size_t end = backslashed.find_first_of("\\_", start);
    if (end == std::string::npos) end = backslashed.size();
    if (!first) out += ", ";
    out += JsonString(backslashed.substr(start, end - start));
    first = false;
    start = end + 1;
  }
  return out + "]";
}

std::string Manufacturer(const std::string& m) {
  std::string upper;
  for (char c : m) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.find("SIEMENS") != std::string::npos) return "Siemens";
  if (upper.find("GE ") == 0 || upper.find("GE MEDICAL") != std::string::npos || upper == "GE") {
    return "GE";
  }
  if (upper.find("PHILIPS") != std::string::npos) return "Philips";
  if (upper.find("TOSHIBA") != std::string::npos) return "Toshiba";
  if (upper.find("CANON") != std::string::npos) return "Canon";
  if (upper.find("HITACHI") != std::string::npos) return "Hitachi";
  if (upper.find("UIH") != std::string::npos || upper.find("UNITED IMAGING") != std::string::npos) {
    return "UIH";
  }
  return m;
}

// TM "HHMMSS.FFFFFF" -> "HH:MM:SS.ffffff" (dcm2niix pads fractions to 6).
std::string BidsTime(const std::string& tm) {
  if (tm.size() < 6) return tm;
  std::string frac = "000000";
  if (tm.size() > 7 && tm[6] == '.') {
    std::string f = tm.substr(7, 6);
    frac.replace(0, f.size(), f);
  }
  return tm.substr(0, 2) + ":" + tm.substr(2, 2) + ":" + tm.substr(4, 2) + "." + frac;
}

}  // namespace

std::string Ascii(DcmItem& item, const DcmTagKey& tag) {
  OFString raw;
  if (item.findAndGetOFStringArray(tag, raw).bad()) return {};
  return SanitizeUtf8(TrimPadding(std::string_view(raw.c_str(), raw.length())));
}

std::optional<int64_t> Integer(DcmItem& item, const DcmTagKey& tag) {
  DcmElement* e = nullptr;
  if (item.findAndGetElement(tag, e).bad() || e == nullptr) return std::nullopt;
  const DcmEVR vr = e->ident();
  if (vr == EVR_US) {
    Uint16 v = 0;
    return e->getUint16(v).good() ? std::optional<int64_t>(v) : std::nullopt;
  }
  if (vr == EVR_SS) {
    Sint16 v = 0;
    return e->getSint16(v).good() ? std::optional<int64_t>(v) : std::nullopt;
  }
  if (vr == EVR_UL) {
    Uint32 v = 0;
    return e->getUint32(v).good() ? std::optional<int64_t>(v) : std::nullopt;
  }
  std::string s = Ascii(item, tag);
  std::string_view v = s;
  if (const size_t bs = v.find('\\'); bs != std::string_view::npos) v = v.substr(0, bs);
  v = TrimPadding(v);
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return out;
}

uint16_t U16(DcmItem& item, const DcmTagKey& tag) {
  Uint16 v = 0;
  return item.findAndGetUint16(tag, v).good() ? v : 0;
}

void FillIdentification(DcmItem& ds, ImageHeader& h) {
  h.sop_class_uid = Ascii(ds, DCM_SOPClassUID);
  h.series_uid = Ascii(ds, DCM_SeriesInstanceUID);
  h.modality = Ascii(ds, DCM_Modality);
  h.manufacturer = Ascii(ds, DCM_Manufacturer);
  h.image_type = Ascii(ds, DCM_ImageType);
  h.series_number = Integer(ds, DCM_SeriesNumber);
  h.instance_number = Integer(ds, DCM_InstanceNumber);
  h.acquisition_number = Integer(ds, DCM_AcquisitionNumber);
  h.acquisition_time = Ascii(ds, DCM_AcquisitionTime);
  h.gantry_tilt = Double(ds, DCM_GantryDetectorTilt);
  h.pixel_padding_value = Integer(ds, DCM_PixelPaddingValue);
}

void FillSidecar(DcmItem& ds, ImageHeader& h) {
  auto& out = h.sidecar;
  auto str = [&](const char* key, const DcmTagKey& tag) {
    std::string v = Ascii(ds, tag);
    if (!v.empty()) out.emplace_back(key, JsonString(v));
  };
  auto num = [&](const char* key, const DcmTagKey& tag, double scale = 1.0) {
    if (auto v = Double(ds, tag)) out.emplace_back(key, JsonNumber(*v * scale));
  };
  auto integer = [&](const char* key, const DcmTagKey& tag) {
    if (auto v = Integer(ds, tag)) out.emplace_back(key, std::to_string(*v));
  };
  str("Modality", DCM_Modality);
  num("MagneticFieldStrength", DCM_MagneticFieldStrength);
  num("ImagingFrequency", DCM_ImagingFrequency);
  if (!h.manufacturer.empty()) out.emplace_back("Manufacturer", JsonString(Manufacturer(h.manufacturer)));
  str("ManufacturersModelName", DCM_ManufacturerModelName);
  str("BodyPartExamined", DCM_BodyPartExamined);
  str("PatientPosition", DCM_PatientPosition);
  str("SoftwareVersions", DCM_SoftwareVersions);
  str("MRAcquisitionType", DCM_MRAcquisitionType);
  str("SeriesDescription", DCM_SeriesDescription);
  str("ProtocolName", DCM_ProtocolName);
  str("ScanningSequence", DCM_ScanningSequence);
  str("SequenceVariant", DCM_SequenceVariant);
  str("ScanOptions", DCM_ScanOptions);
  str("SequenceName", DCM_SequenceName);
  if (!h.image_type.empty()) out.emplace_back("ImageType", JsonStringArray(h.image_type));
  integer("SeriesNumber", DCM_SeriesNumber);
  if (!h.acquisition_time.empty()) {
    out.emplace_back("AcquisitionTime", JsonString(BidsTime(h.acquisition_time)));
  }
  integer("AcquisitionNumber", DCM_AcquisitionNumber);
  str("ConvolutionKernel", DCM_ConvolutionKernel);
  num("ExposureTime", DCM_ExposureTime, 0.001);
  num("XRayTubeCurrent", DCM_XRayTubeCurrent);
  num("SliceThickness", DCM_SliceThickness);
  num("SpacingBetweenSlices", DCM_SpacingBetweenSlices);
  num("SAR", DCM_SAR);
  integer("EchoNumber", DCM_EchoNumbers);
  num("EchoTime", DCM_EchoTime, 0.001);
  num("RepetitionTime", DCM_RepetitionTime, 0.001);
  num("InversionTime", DCM_InversionTime, 0.001);
  num("FlipAngle", DCM_FlipAngle);
  num("PixelBandwidth", DCM_PixelBandwidth);
}

}  // namespace dcmfs::codecs_internal::image_header
