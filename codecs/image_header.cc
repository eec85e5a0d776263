// ParseImageHeader: DCMTK reads the prefix up to Pixel Data
// (DcmFileFormat::readUntilTag); we pick out geometry per frame, the pixel
// description, where the pixels start and the sidecar fields.
//
// Per-frame geometry of multi-frame IODs (PS3.3 C.7.6.16): every
// functional group is looked up first in the frame's item of the Per-frame
// Functional Groups Sequence (5200,9230), then in the Shared Functional
// Groups Sequence (5200,9229), then at the top level (Legacy Converted and
// vendors that keep classic attributes next to the groups).
#include "codecs/image_header.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcelem.h>
#include <dcmtk/dcmdata/dcerror.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>

#include "codecs/internal/csa_header.h"
#include "codecs/internal/dcmtk_init.h"
#include "codecs/internal/image_header_fields.h"
#include "codecs/internal/span_input_stream.h"
#include "codecs/internal/text.h"

namespace dcmfs {
namespace {

using codecs_internal::TrimPadding;
namespace ih = codecs_internal::image_header;

constexpr Uint32 kMaxReadLength = 64 * 1024;
constexpr char kDeflated[] = "1.2.840.10008.1.2.1.99";
constexpr char kExplicitLittle[] = "1.2.840.10008.1.2.1";
constexpr char kImplicitLittle[] = "1.2.840.10008.1.2";
constexpr char kExplicitBig[] = "1.2.840.10008.1.2.2";

// The item of `group` (a functional group sequence, e.g. PlanePositionSequence)
// for one frame: per-frame first, then shared; nullptr if neither has it.
DcmItem* GroupItem(DcmItem* per_frame, DcmItem* shared, const DcmTagKey& group) {
  DcmItem* out = nullptr;
  if (per_frame != nullptr && per_frame->findAndGetSequenceItem(group, out, 0).good() && out) {
    return out;
  }
  if (shared != nullptr && shared->findAndGetSequenceItem(group, out, 0).good() && out) return out;
  return nullptr;
}

void FillFrameFromItem(DcmItem& item, FrameHeader& f) {
  if (auto v = ih::Doubles<3>(item, DCM_ImagePositionPatient)) f.position = v;
  if (auto v = ih::Doubles<6>(item, DCM_ImageOrientationPatient)) f.orientation = v;
  if (auto v = ih::Doubles<2>(item, DCM_PixelSpacing)) f.pixel_spacing = v;
  if (auto v = ih::Double(item, DCM_SliceThickness)) f.slice_thickness = v;
  if (auto v = ih::Double(item, DCM_RescaleSlope)) f.rescale_slope = *v;
  if (auto v = ih::Double(item, DCM_RescaleIntercept)) f.rescale_intercept = *v;
  if (auto v = ih::Double(item, DCM_EchoTime)) f.echo_time = v;
  if (auto v = ih::Double(item, DCM_EffectiveEchoTime)) f.echo_time = v;
  if (auto v = ih::Integer(item, DCM_EchoNumbers)) f.echo_number = v;
  if (auto v = ih::Integer(item, DCM_TemporalPositionIdentifier)) f.temporal_position = v;
  if (auto v = ih::Integer(item, DCM_TemporalPositionIndex)) f.temporal_position = v;
  if (auto v = ih::Integer(item, DCM_InStackPositionNumber)) f.stack_position = v;
  if (auto v = ih::Double(item, DCM_TriggerTime)) f.trigger_time = v;
  if (auto v = ih::Double(item, DCM_NominalCardiacTriggerDelayTime)) f.trigger_time = v;
  DcmElement* dim = nullptr;
  if (item.findAndGetElement(DCM_DimensionIndexValues, dim).good() && dim != nullptr) {
    f.dimension_index.clear();
    for (unsigned long i = 0; i < dim->getVM(); ++i) {
      Uint32 v = 0;
      if (dim->getUint32(v, i).good()) f.dimension_index.push_back(v);
    }
  }
}

// The functional groups that carry what recon needs (PS3.3 C.7.6.16.2).
const DcmTagKey kGroups[] = {
    DCM_PlanePositionSequence,        DCM_PlaneOrientationSequence,
    DCM_PixelMeasuresSequence,        DCM_PixelValueTransformationSequence,
    DCM_FrameContentSequence,         DCM_MREchoSequence,
    DCM_CardiacSynchronizationSequence,
};

// Philips MR Scale Slope (2005,100E) FL, at the top level of classic
// images or in the per-frame private item (2005,140F) of enhanced ones.
const DcmTagKey kPhilipsScaleSlope(0x2005, 0x100E);
const DcmTagKey kPhilipsPerFrame(0x2005, 0x140F);

std::optional<double> PhilipsScaleSlope(DcmItem& item) {
  Float32 v = 0;
  if (item.findAndGetFloat32(kPhilipsScaleSlope, v).good() && std::isfinite(v) && v > 0) return v;
  DcmItem* sub = nullptr;
  if (item.findAndGetSequenceItem(kPhilipsPerFrame, sub, 0).good() && sub != nullptr &&
      sub->findAndGetFloat32(kPhilipsScaleSlope, v).good() && std::isfinite(v) && v > 0) {
    return v;
  }
  return std::nullopt;
}

void FillFrames(DcmDataset& ds, ImageHeader& h) {
  FrameHeader top;
  FillFrameFromItem(ds, top);
  top.philips_scale_slope = PhilipsScaleSlope(ds);
  DcmItem* shared = nullptr;
  ds.findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0);
  DcmSequenceOfItems* per_frame = nullptr;
  ds.findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, per_frame);
  const bool functional = shared != nullptr || per_frame != nullptr;
  h.frames.assign(h.number_of_frames, top);
  if (!functional) return;
  for (uint32_t i = 0; i < h.number_of_frames; ++i) {
    DcmItem* frame_item = nullptr;
    if (per_frame != nullptr && i < per_frame->card()) frame_item = per_frame->getItem(i);
    if (frame_item != nullptr) {
      if (auto ss = PhilipsScaleSlope(*frame_item)) h.frames[i].philips_scale_slope = ss;
    }
    for (const DcmTagKey& group : kGroups) {
      if (DcmItem* g = GroupItem(frame_item, shared, group)) FillFrameFromItem(*g, h.frames[i]);
    }
  }
}

// Siemens mosaics: ImageType contains MOSAIC; the tile count is in the CSA
// image header ("NumberOfImagesInMosaic") or private (0019,100A).
void FillMosaic(DcmDataset& ds, ImageHeader& h) {
  if (h.image_type.find("MOSAIC") == std::string::npos) return;
  const Uint8* csa_bytes = nullptr;
  unsigned long csa_len = 0;
  std::map<std::string, std::vector<std::string>> csa;
  if (ds.findAndGetUint8Array(DcmTagKey(0x0029, 0x1010), csa_bytes, &csa_len).good() &&
      csa_bytes != nullptr) {
    csa = codecs_internal::ParseCsaHeader(std::span<const uint8_t>(csa_bytes, csa_len));
  }
  if (auto n = codecs_internal::CsaNumber(csa, "NumberOfImagesInMosaic"); n && *n > 0) {
    h.images_in_mosaic = static_cast<uint32_t>(*n);
  } else if (auto v = ih::Integer(ds, DcmTagKey(0x0019, 0x100A)); v && *v > 0) {
    h.images_in_mosaic = static_cast<uint32_t>(*v);
  }
  std::array<double, 3> normal{};
  bool ok = true;
  for (size_t i = 0; i < 3; ++i) {
    auto v = codecs_internal::CsaNumber(csa, "SliceNormalVector", i);
    ok = ok && v.has_value();
    if (v) normal[i] = *v;
  }
  if (ok) h.mosaic_slice_normal = normal;
}

// PS3.5 A.1-A.3: finds the Pixel Data element header near `pos` (DCMTK
// stops right after reading it) and records where the value starts.
void FindPixelData(std::span<const uint8_t> bytes, uint64_t pos, bool explicit_vr,
                   bool big_endian, ImageHeader& h) {
  auto u16 = [&](uint64_t p) {
    return big_endian ? static_cast<uint16_t>(bytes[p] << 8 | bytes[p + 1])
                      : static_cast<uint16_t>(bytes[p] | bytes[p + 1] << 8);
  };
  auto u32 = [&](uint64_t p) {
    return big_endian ? static_cast<uint32_t>(u16(p)) << 16 | u16(p + 2)
                      : static_cast<uint32_t>(u16(p)) | static_cast<uint32_t>(u16(p + 2)) << 16;
  };
  for (uint64_t p = pos >= 16 ? pos - 16 : 0; p + 12 <= bytes.size() && p <= pos + 8; p += 2) {
    if (u16(p) != 0x7FE0 || u16(p + 2) != 0x0010) continue;
    h.pixel_data_length = explicit_vr ? u32(p + 8) : u32(p + 4);
    h.pixel_data_offset = p + (explicit_vr ? 12 : 8);
    return;
  }
}

Status ReadHeaderFields(DcmDataset& ds, ImageHeader& h) {
  ih::FillIdentification(ds, h);
  h.rows = ih::U16(ds, DCM_Rows);
  h.columns = ih::U16(ds, DCM_Columns);
  if (h.rows == 0 || h.columns == 0) return Status::InvalidArgument("no Rows/Columns: not an image");
  h.samples_per_pixel = std::max<uint16_t>(1, ih::U16(ds, DCM_SamplesPerPixel));
  h.bits_allocated = ih::U16(ds, DCM_BitsAllocated);
  h.bits_stored = ih::U16(ds, DCM_BitsStored);
  h.high_bit = ih::U16(ds, DCM_HighBit);
  if (h.bits_stored == 0) h.bits_stored = h.bits_allocated;
  if (h.high_bit == 0 && h.bits_stored > 1) h.high_bit = h.bits_stored - 1;
  h.pixel_representation = ih::U16(ds, DCM_PixelRepresentation);
  h.planar_configuration = ih::U16(ds, DCM_PlanarConfiguration);
  h.photometric = ih::Ascii(ds, DCM_PhotometricInterpretation);
  const std::optional<int64_t> frames = ih::Integer(ds, DCM_NumberOfFrames);
  h.number_of_frames = frames && *frames > 0 && *frames <= (1 << 24) ? uint32_t(*frames) : 1;
  h.spacing_between_slices = ih::Double(ds, DCM_SpacingBetweenSlices);
  FillFrames(ds, h);
  FillMosaic(ds, h);
  ih::FillSidecar(ds, h);
  return Status::Ok();
}

}  // namespace

uint64_t NativeFrameBytes(const ImageHeader& h) {
  const uint64_t pixels = uint64_t{h.rows} * h.columns * h.samples_per_pixel;
  return h.bits_allocated == 1 ? (pixels + 7) / 8 : pixels * ((h.bits_allocated + 7) / 8);
}

Result<ImageHeaderOrMore> ParseImageHeader(std::span<const uint8_t> prefix, uint64_t file_size) {
  RETURN_IF_ERROR(codecs_internal::EnsureDcmtkReady());
  if (prefix.size() > file_size) return Status::InvalidArgument("prefix longer than the file");
  const bool whole = prefix.size() == file_size;
  auto more = [&]() -> Result<ImageHeaderOrMore> {
    ImageHeaderOrMore m;
    m.need_bytes = std::min<uint64_t>(file_size, std::max<uint64_t>(prefix.size() * 2, 64 * 1024));
    return m;
  };
  if (prefix.size() < 132 && !whole) return more();
  codecs_internal::SpanInputStream stream(prefix, 0, /*budgeted=*/true);
  DcmFileFormat file;
  file.transferInit();
  OFCondition cond = file.readUntilTag(stream, EXS_Unknown, EGL_noChange, kMaxReadLength,
                                       DCM_PixelData);
  file.transferEnd();
  const uint64_t stopped_at = static_cast<uint64_t>(stream.tell());
  std::string ts = ih::Ascii(*file.getMetaInfo(), DCM_TransferSyntaxUID);
  if (ts.empty()) {
    const char* id = DcmXfer(file.getDataset()->getOriginalXfer()).getXferID();
    ts = id != nullptr ? id : "";
  }
  // Deflated datasets (PS3.5 A.5) cannot be parsed from a prefix whose end
  // falls inside the compressed stream: ask for the whole file.
  if (ts == kDeflated && !whole) {
    ImageHeaderOrMore m;
    m.need_bytes = file_size;
    return m;
  }
  DcmDataset& ds = *file.getDataset();
  const bool at_pixels = !cond.good() ? false : true;
  if (!at_pixels && !whole) return more();
  if (!cond.good() && cond != EC_TagNotFound) {
    return Status::DataLoss(std::string("unreadable DICOM header: ") + cond.text());
  }
  ImageHeader h;
  h.transfer_syntax_uid = ts;
  RETURN_IF_ERROR(ReadHeaderFields(ds, h));
  if (ts != kDeflated) {
    FindPixelData(prefix, stopped_at, ts != kImplicitLittle, ts == kExplicitBig, h);
    if (h.pixel_data_offset == 0 || h.pixel_data_offset > prefix.size()) {
      if (!whole) return more();
      return Status::InvalidArgument("no Pixel Data (7FE0,0010)");
    }
  }
  h.native = (ts == kExplicitLittle || ts == kImplicitLittle) &&
             h.pixel_data_length != 0xFFFFFFFFu;
  ImageHeaderOrMore out;
  out.header = std::move(h);
  return out;
}

Result<ImageHeader> ParseImageHeaderWhole(std::span<const uint8_t> file) {
  ASSIGN_OR_RETURN(ImageHeaderOrMore r, ParseImageHeader(file, file.size()));
  if (!r.header) return Status::Internal("header parse of a whole file asked for more");
  return std::move(*r.header);
}

Result<ImageHeader> ReadImageHeaderFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError(path + ": cannot open");
  in.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  std::vector<uint8_t> prefix(std::min<uint64_t>(size, 64 * 1024));
  for (;;) {
    in.seekg(0);
    if (!in.read(reinterpret_cast<char*>(prefix.data()), static_cast<std::streamsize>(prefix.size()))) {
      return Status::IoError(path + ": short read");
    }
    ASSIGN_OR_RETURN(ImageHeaderOrMore r, ParseImageHeader(prefix, size));
    if (r.header) return std::move(*r.header);
    if (r.need_bytes <= prefix.size()) return Status::Internal("header parse made no progress");
    prefix.resize(r.need_bytes);
  }
}

}  // namespace dcmfs
