// RT Structure Sets, Segmentations and encapsulated models, read with DCMTK.
// Tags are spelled as numbers (with their PS3.6 names) so that a dictionary
// without the newer attributes cannot hide them.
#include "codecs/structures.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcvrds.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "codecs/internal/dcmtk_init.h"
#include "codecs/internal/span_input_stream.h"
#include "codecs/internal/text.h"

namespace dcmfs {
namespace {

using codecs_internal::SanitizeUtf8;
using codecs_internal::TrimPadding;

// PS3.6 tags (DcmTagKey is not a literal type, hence const rather than constexpr).
const DcmTagKey kSopClassUid(0x0008, 0x0016);
const DcmTagKey kReferencedSeriesSequence(0x0008, 0x1115);
const DcmTagKey kReferencedSopInstanceUid(0x0008, 0x1155);
const DcmTagKey kSourceImageSequence(0x0008, 0x2112);
const DcmTagKey kDerivationImageSequence(0x0008, 0x9124);
const DcmTagKey kSliceThickness(0x0018, 0x0050);
const DcmTagKey kSpacingBetweenSlices(0x0018, 0x0088);
const DcmTagKey kSeriesInstanceUid(0x0020, 0x000E);
const DcmTagKey kImagePositionPatient(0x0020, 0x0032);
const DcmTagKey kImageOrientationPatient(0x0020, 0x0037);
const DcmTagKey kFrameOfReferenceUid(0x0020, 0x0052);
const DcmTagKey kPlanePositionSequence(0x0020, 0x9113);
const DcmTagKey kPlaneOrientationSequence(0x0020, 0x9116);
const DcmTagKey kDimensionOrganizationType(0x0020, 0x9311);
const DcmTagKey kNumberOfFrames(0x0028, 0x0008);
const DcmTagKey kRows(0x0028, 0x0010);
const DcmTagKey kColumns(0x0028, 0x0011);
const DcmTagKey kPixelSpacing(0x0028, 0x0030);
const DcmTagKey kPixelMeasuresSequence(0x0028, 0x9110);
const DcmTagKey kReferencedFrameOfReferenceSequence(0x3006, 0x0010);
const DcmTagKey kRtReferencedStudySequence(0x3006, 0x0012);
const DcmTagKey kRtReferencedSeriesSequence(0x3006, 0x0014);
const DcmTagKey kContourImageSequence(0x3006, 0x0016);
const DcmTagKey kStructureSetRoiSequence(0x3006, 0x0020);
const DcmTagKey kRoiNumber(0x3006, 0x0022);
const DcmTagKey kReferencedFrameOfReferenceUid(0x3006, 0x0024);
const DcmTagKey kRoiName(0x3006, 0x0026);
const DcmTagKey kRoiContourSequence(0x3006, 0x0039);
const DcmTagKey kContourSequence(0x3006, 0x0040);
const DcmTagKey kContourGeometricType(0x3006, 0x0042);
const DcmTagKey kContourData(0x3006, 0x0050);
const DcmTagKey kReferencedRoiNumber(0x3006, 0x0084);
const DcmTagKey kEncapsulatedDocument(0x0042, 0x0011);
const DcmTagKey kMimeTypeOfEncapsulatedDocument(0x0042, 0x0012);
const DcmTagKey kEncapsulatedDocumentLength(0x0042, 0x0015);
const DcmTagKey kSegmentationType(0x0062, 0x0001);
const DcmTagKey kSegmentSequence(0x0062, 0x0002);
const DcmTagKey kSegmentNumber(0x0062, 0x0004);
const DcmTagKey kSegmentLabel(0x0062, 0x0005);
const DcmTagKey kSegmentDescription(0x0062, 0x0006);
const DcmTagKey kSegmentIdentificationSequence(0x0062, 0x000A);
const DcmTagKey kReferencedSegmentNumber(0x0062, 0x000B);
const DcmTagKey kMaximumFractionalValue(0x0062, 0x000E);
const DcmTagKey kSharedFunctionalGroupsSequence(0x5200, 0x9229);
const DcmTagKey kPerFrameFunctionalGroupsSequence(0x5200, 0x9230);

// Values longer than this are left in the buffer until asked for.
constexpr Uint32 kMaxReadLength = 4096;

Status Load(std::span<const uint8_t> bytes, DcmFileFormat& file) {
  RETURN_IF_ERROR(codecs_internal::EnsureDcmtkReady());
  if (bytes.empty()) return Status::DataLoss("empty file");
  codecs_internal::SpanInputStream stream(bytes, 0, /*budgeted=*/true);
  file.transferInit();
  const OFCondition cond = file.read(stream, EXS_Unknown, EGL_noChange, kMaxReadLength);
  file.transferEnd();
  if (stream.exhausted()) return Status::DataLoss("unreadable DICOM: over its work budget");
  if (cond.bad()) return Status::DataLoss(std::string("unreadable DICOM: ") + cond.text());
  return Status::Ok();
}

std::string Text(DcmItem& item, const DcmTagKey& tag) {
  OFString v;
  if (item.findAndGetOFStringArray(tag, v).bad()) return "";
  return SanitizeUtf8(TrimPadding(std::string_view(v.c_str(), v.length())));
}

std::vector<DcmItem*> Items(DcmItem& item, const DcmTagKey& tag) {
  std::vector<DcmItem*> out;
  DcmSequenceOfItems* seq = nullptr;
  if (item.findAndGetSequence(tag, seq).bad() || seq == nullptr) return out;
  for (unsigned long i = 0; i < seq->card(); ++i) out.push_back(seq->getItem(i));
  return out;
}

DcmItem* FirstItem(DcmItem* item, const DcmTagKey& tag) {
  if (item == nullptr) return nullptr;
  DcmItem* out = nullptr;
  return item->findAndGetSequenceItem(tag, out, 0).good() ? out : nullptr;
}

// Value i of a binary numeric element (US, SS, UL, SL, FL, FD).
bool BinaryNumber(DcmElement& el, unsigned long i, Float64& v) {
  switch (el.ident()) {
    case EVR_US: { Uint16 x = 0; if (el.getUint16(x, i).bad()) return false; v = x; return true; }
    case EVR_SS: { Sint16 x = 0; if (el.getSint16(x, i).bad()) return false; v = x; return true; }
    case EVR_UL: { Uint32 x = 0; if (el.getUint32(x, i).bad()) return false; v = x; return true; }
    case EVR_SL: { Sint32 x = 0; if (el.getSint32(x, i).bad()) return false; v = x; return true; }
    case EVR_FL: { Float32 x = 0; if (el.getFloat32(x, i).bad()) return false; v = x; return true; }
    case EVR_FD: return el.getFloat64(v, i).good();
    default: return false;
  }
}

// Numbers of a numeric attribute (DS, IS or binary); empty if absent or not numeric.
std::vector<double> Numbers(DcmItem& item, const DcmTagKey& tag) {
  std::vector<double> out;
  DcmElement* el = nullptr;
  if (item.findAndGetElement(tag, el).bad() || el == nullptr) return out;
  const unsigned long n = el->getVM();
  out.reserve(n);
  for (unsigned long i = 0; i < n; ++i) {
    Float64 v = 0;
    if (el->ident() == EVR_DS || el->ident() == EVR_IS) {
      OFString s;
      if (el->getOFString(s, i).bad()) return {};
      std::string_view t = TrimPadding(std::string_view(s.c_str(), s.length()));
      // DS allows a leading '+', which from_chars does not.
      if (!t.empty() && t.front() == '+') t.remove_prefix(1);
      auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (ec != std::errc() || ptr != t.data() + t.size() || !std::isfinite(v)) return {};
    } else if (!BinaryNumber(*el, i, v)) {
      return {};
    }
    out.push_back(v);
  }
  return out;
}

template <size_t N>
std::optional<std::array<double, N>> Fixed(DcmItem* item, const DcmTagKey& tag) {
  if (item == nullptr) return std::nullopt;
  const std::vector<double> v = Numbers(*item, tag);
  if (v.size() != N) return std::nullopt;
  std::array<double, N> out{};
  std::copy(v.begin(), v.end(), out.begin());
  return out;
}

std::optional<double> Single(DcmItem* item, const DcmTagKey& tag) {
  auto v = Fixed<1>(item, tag);
  return v ? std::optional<double>((*v)[0]) : std::nullopt;
}

Status ReadContours(DcmItem& roi_contour, RtRoi& roi) {
  for (DcmItem* c : Items(roi_contour, kContourSequence)) {
    RtContour contour;
    contour.geometric_type = Text(*c, kContourGeometricType);
    const std::vector<double> xyz = Numbers(*c, kContourData);
    DcmElement* raw = nullptr;
    const bool present = c->findAndGetElement(kContourData, raw).good() && raw->getVM() > 0;
    if (present && (xyz.empty() || xyz.size() % 3 != 0)) {
      return Status::Corruption("RT Structure Set: ROI " + std::to_string(roi.number) +
                                " has Contour Data that is not a list of x\\y\\z numbers");
    }
    for (size_t i = 0; i + 2 < xyz.size(); i += 3) {
      contour.points.push_back({xyz[i], xyz[i + 1], xyz[i + 2]});
    }
    for (DcmItem* ref : Items(*c, kContourImageSequence)) {
      contour.referenced_sop_uids.push_back(Text(*ref, kReferencedSopInstanceUid));
    }
    roi.contours.push_back(std::move(contour));
  }
  return Status::Ok();
}

}  // namespace

Result<RtStructureSet> ParseRtStructureSet(std::span<const uint8_t> dicom_file) {
  DcmFileFormat file;
  RETURN_IF_ERROR(Load(dicom_file, file));
  DcmDataset& ds = *file.getDataset();
  if (Text(ds, kSopClassUid) != kRtStructureSetStorage) {
    return Status::InvalidArgument("not an RT Structure Set (SOP Class " + Text(ds, kSopClassUid) +
                                   ")");
  }
  DcmSequenceOfItems* rois = nullptr;
  if (ds.findAndGetSequence(kStructureSetRoiSequence, rois).bad() || rois == nullptr) {
    return Status::InvalidArgument("RT Structure Set without Structure Set ROI Sequence");
  }
  RtStructureSet out;
  for (DcmItem* item : Items(ds, kStructureSetRoiSequence)) {
    RtRoi roi;
    const auto number = Single(item, kRoiNumber);
    roi.number = number ? int64_t(*number) : 0;
    roi.name = Text(*item, kRoiName);
    roi.frame_of_reference_uid = Text(*item, kReferencedFrameOfReferenceUid);
    out.rois.push_back(std::move(roi));
  }
  // PS3.3 C.8.8.6: ROI Contour items point at their ROI by number.
  for (DcmItem* item : Items(ds, kRoiContourSequence)) {
    const auto ref = Single(item, kReferencedRoiNumber);
    if (!ref) continue;
    auto it = std::find_if(out.rois.begin(), out.rois.end(),
                           [&](const RtRoi& r) { return r.number == int64_t(*ref); });
    if (it == out.rois.end()) continue;  // contours of an ROI the set does not declare
    RETURN_IF_ERROR(ReadContours(*item, *it));
  }
  for (DcmItem* f : Items(ds, kReferencedFrameOfReferenceSequence)) {
    out.frame_of_reference_uids.push_back(Text(*f, kFrameOfReferenceUid));
    for (DcmItem* study : Items(*f, kRtReferencedStudySequence)) {
      for (DcmItem* series : Items(*study, kRtReferencedSeriesSequence)) {
        out.referenced_series_uids.push_back(Text(*series, kSeriesInstanceUid));
      }
    }
  }
  return out;
}

Result<Segmentation> ParseSegmentation(std::span<const uint8_t> dicom_file) {
  DcmFileFormat file;
  RETURN_IF_ERROR(Load(dicom_file, file));
  DcmDataset& ds = *file.getDataset();
  const std::string sop_class = Text(ds, kSopClassUid);
  if (sop_class != kSegmentationStorage && sop_class != kLabelMapSegmentationStorage) {
    return Status::InvalidArgument("not a Segmentation (SOP Class " + sop_class + ")");
  }
  Segmentation seg;
  seg.type = Text(ds, kSegmentationType);
  if (auto m = Single(&ds, kMaximumFractionalValue)) seg.max_fractional_value = uint16_t(*m);
  seg.rows = uint32_t(Single(&ds, kRows).value_or(0));
  seg.columns = uint32_t(Single(&ds, kColumns).value_or(0));
  seg.frame_of_reference_uid = Text(ds, kFrameOfReferenceUid);
  for (DcmItem* s : Items(ds, kReferencedSeriesSequence)) {
    seg.referenced_series_uids.push_back(Text(*s, kSeriesInstanceUid));
  }
  for (DcmItem* s : Items(ds, kSegmentSequence)) {
    SegSegment segment;
    segment.number = uint16_t(Single(s, kSegmentNumber).value_or(0));
    segment.label = Text(*s, kSegmentLabel);
    segment.description = Text(*s, kSegmentDescription);
    seg.segments.push_back(std::move(segment));
  }
  // PS3.3 C.7.6.16: geometry in the Shared Functional Groups, or per frame.
  DcmItem* shared = FirstItem(&ds, kSharedFunctionalGroupsSequence);
  seg.orientation = Fixed<6>(FirstItem(shared, kPlaneOrientationSequence), kImageOrientationPatient);
  DcmItem* measures = FirstItem(shared, kPixelMeasuresSequence);
  seg.pixel_spacing = Fixed<2>(measures, kPixelSpacing);
  seg.spacing_between_slices = Single(measures, kSpacingBetweenSlices);
  seg.slice_thickness = Single(measures, kSliceThickness);
  const auto shared_position =
      Fixed<3>(FirstItem(shared, kPlanePositionSequence), kImagePositionPatient);
  const std::vector<DcmItem*> per_frame = Items(ds, kPerFrameFunctionalGroupsSequence);
  const uint32_t frames = uint32_t(Single(&ds, kNumberOfFrames).value_or(1));
  if (per_frame.empty() && frames > 0) {
    return Status::Unsupported("Segmentation without per-frame functional groups (" +
                               Text(ds, kDimensionOrganizationType) + ")");
  }
  for (size_t i = 0; i < per_frame.size() && i < frames; ++i) {
    SegFrame f;
    f.index = uint32_t(i);
    DcmItem* id = FirstItem(per_frame[i], kSegmentIdentificationSequence);
    f.segment_number = uint16_t(Single(id, kReferencedSegmentNumber).value_or(0));
    f.position = Fixed<3>(FirstItem(per_frame[i], kPlanePositionSequence), kImagePositionPatient);
    f.orientation =
        Fixed<6>(FirstItem(per_frame[i], kPlaneOrientationSequence), kImageOrientationPatient);
    if (!f.position && frames == 1) f.position = shared_position;  // one frame: shared is its own
    DcmItem* derivation = FirstItem(per_frame[i], kDerivationImageSequence);
    DcmItem* source = FirstItem(derivation, kSourceImageSequence);
    if (source != nullptr) f.source_sop_uid = Text(*source, kReferencedSopInstanceUid);
    if (!seg.pixel_spacing) {
      seg.pixel_spacing = Fixed<2>(FirstItem(per_frame[i], kPixelMeasuresSequence), kPixelSpacing);
    }
    seg.frames.push_back(f);
  }
  return seg;
}

std::string_view EncapsulatedModelExtension(std::string_view sop_class_uid) {
  if (sop_class_uid == kEncapsulatedStlStorage) return "stl";
  if (sop_class_uid == kEncapsulatedObjStorage) return "obj";
  if (sop_class_uid == kEncapsulatedMtlStorage) return "mtl";
  return "";
}

Result<EncapsulatedDocument> ExtractEncapsulatedDocument(std::span<const uint8_t> dicom_file) {
  DcmFileFormat file;
  RETURN_IF_ERROR(Load(dicom_file, file));
  DcmDataset& ds = *file.getDataset();
  EncapsulatedDocument doc;
  doc.sop_class_uid = Text(ds, kSopClassUid);
  doc.mime_type = Text(ds, kMimeTypeOfEncapsulatedDocument);
  doc.extension = std::string(EncapsulatedModelExtension(doc.sop_class_uid));
  const Uint8* data = nullptr;
  unsigned long count = 0;
  if (ds.findAndGetUint8Array(kEncapsulatedDocument, data, &count).bad() ||
      (data == nullptr && count > 0)) {
    return Status::InvalidArgument("no Encapsulated Document (0042,0011)");
  }
  uint64_t length = count;
  Uint32 stated = 0;
  // PS3.3 C.24.2.1: the value is padded to even length; (0042,0015) says
  // where the document really ends.
  if (ds.findAndGetUint32(kEncapsulatedDocumentLength, stated).good()) {
    if (stated > count) {
      return Status::Corruption("Encapsulated Document Length " + std::to_string(stated) +
                                " exceeds the value's " + std::to_string(count) + " bytes");
    }
    length = stated;
  }
  doc.document.assign(reinterpret_cast<const char*>(data), size_t(length));
  return doc;
}

}  // namespace dcmfs
