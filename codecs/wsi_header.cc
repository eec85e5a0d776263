// ParseWsiHeader: DCMTK reads the prefix up to Pixel Data
// (DcmFileFormat::readUntilTag) and we pick the whole-slide attributes.
#include "codecs/wsi_header.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <algorithm>
#include <vector>

#include "codecs/internal/dcmtk_init.h"
#include "codecs/internal/span_input_stream.h"

namespace dcmfs {
namespace {

// (0048,xxxx) tags by number: older DCMTK dictionaries lack some names.
const DcmTagKey kTotalPixelMatrixColumns(0x0048, 0x0006);
const DcmTagKey kTotalPixelMatrixRows(0x0048, 0x0007);
const DcmTagKey kNumberOfOpticalPaths(0x0048, 0x0302);
const DcmTagKey kTotalPixelMatrixFocalPlanes(0x0048, 0x0303);
const DcmTagKey kDimensionOrganizationType(0x0020, 0x9311);

std::string Text(DcmItem& item, const DcmTagKey& key) {
  OFString value;
  if (item.findAndGetOFStringArray(key, value).bad()) return {};
  std::string s(value.c_str());
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

uint32_t Unsigned(DcmItem& item, const DcmTagKey& key, uint32_t fallback) {
  Uint32 u32 = 0;
  if (item.findAndGetUint32(key, u32).good()) return u32;
  Uint16 u16 = 0;
  if (item.findAndGetUint16(key, u16).good()) return u16;
  Sint32 s32 = 0;  // IS (NumberOfFrames) reads as a signed integer
  if (item.findAndGetSint32(key, s32).good() && s32 > 0) return static_cast<uint32_t>(s32);
  return fallback;
}

}  // namespace

std::string WsiHeader::flavor() const {
  std::vector<std::string> values;
  size_t start = 0;
  while (start <= image_type.size()) {
    const size_t end = image_type.find('\\', start);
    values.push_back(image_type.substr(start, end == std::string::npos ? end : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return values.size() >= 3 ? values[2] : std::string();
}

Result<WsiHeaderOrMore> ParseWsiHeader(std::span<const uint8_t> prefix, uint64_t file_size) {
  RETURN_IF_ERROR(codecs_internal::EnsureDcmtkReady());
  const bool whole = prefix.size() >= file_size;
  WsiHeaderOrMore out;
  auto more = [&]() -> Result<WsiHeaderOrMore> {
    out.need_bytes = std::min<uint64_t>(file_size, std::max<uint64_t>(prefix.size() * 4, 256 * 1024));
    return out;
  };
  if (prefix.size() < 132 && !whole) return more();
  codecs_internal::SpanInputStream stream(prefix, 0, /*budgeted=*/true);
  DcmFileFormat file;
  file.transferInit();
  const OFCondition cond =
      file.readUntilTag(stream, EXS_Unknown, EGL_noChange, 4096, DCM_PixelData);
  file.transferEnd();
  if (cond.bad() && !whole) return more();  // the prefix ended inside the header
  if (cond.bad() && cond != EC_TagNotFound) {
    return Status::DataLoss(std::string("unreadable DICOM header: ") + cond.text());
  }
  DcmDataset& ds = *file.getDataset();
  WsiHeader& h = out.header;
  h.transfer_syntax_uid = Text(*file.getMetaInfo(), DCM_TransferSyntaxUID);
  if (h.transfer_syntax_uid.empty()) {
    const char* id = DcmXfer(ds.getOriginalXfer()).getXferID();
    h.transfer_syntax_uid = id != nullptr ? id : "";
  }
  h.sop_class_uid = Text(ds, DCM_SOPClassUID);
  h.image_type = Text(ds, DCM_ImageType);
  h.tile_columns = Unsigned(ds, DCM_Columns, 0);
  h.tile_rows = Unsigned(ds, DCM_Rows, 0);
  h.total_columns = Unsigned(ds, kTotalPixelMatrixColumns, h.tile_columns);
  h.total_rows = Unsigned(ds, kTotalPixelMatrixRows, h.tile_rows);
  h.frames = Unsigned(ds, DCM_NumberOfFrames, 1);
  h.samples_per_pixel = static_cast<uint16_t>(Unsigned(ds, DCM_SamplesPerPixel, 1));
  h.photometric = Text(ds, DCM_PhotometricInterpretation);
  h.dimension_organization = Text(ds, kDimensionOrganizationType);
  h.focal_planes = std::max<uint32_t>(1, Unsigned(ds, kTotalPixelMatrixFocalPlanes, 1));
  h.optical_paths = std::max<uint32_t>(1, Unsigned(ds, kNumberOfOpticalPaths, 1));
  if (h.tile_columns == 0 || h.tile_rows == 0) {
    return Status::InvalidArgument("whole-slide header: no Rows/Columns");
  }
  return out;
}

}  // namespace dcmfs
