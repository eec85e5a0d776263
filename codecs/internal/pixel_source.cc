// Passes of ParsePixelSource:
//   1. Sniff (Part 10 preamble or a plausible raw dataset), then DCMTK reads
//      the file over a budgeted SpanInputStream with a small maxReadLength,
//      so Pixel Data and large fragments stay on the caller's buffer.
//   2. Transfer syntax: the meta header's UID when present (DCMTK 3.6.7
//      does not know HTJ2K and parses such files as explicit VR little
//      endian, which is right for every encapsulated syntax), else the one
//      DCMTK detected for a raw dataset.
//   3. Image Pixel Module attributes (PS3.3 C.7.6.3), palette LUTs.
//   4. The pixel element: native value, or the fragments of the pixel
//      sequence mapped to frames (pixel_fragments.h).
#include "codecs/internal/pixel_source.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <exception>

#include "codecs/internal/dcmtk_init.h"
#include "codecs/internal/span_input_stream.h"
#include "codecs/internal/text.h"

namespace dcmfs::codecs_internal {
namespace {

constexpr Uint32 kMaxReadLength = 4096;  // longer values stay on the buffer
constexpr size_t kPreamble = 128;

// PS3.10 7.1 preamble + "DICM", or a raw dataset starting in a low even
// group, little or big endian (as codecs/dicom_parse.cc accepts).
bool LooksLikeDicom(std::span<const uint8_t> b) {
  if (b.size() >= kPreamble + 4 && std::memcmp(b.data() + kPreamble, "DICM", 4) == 0) return true;
  if (b.size() < 8) return false;
  const auto plausible = [](unsigned g) { return g % 2 == 0 && g >= 0x0002 && g <= 0x0020; };
  return plausible(b[0] | b[1] << 8) || plausible(b[1] | b[0] << 8);
}

Status ReadFile(std::span<const uint8_t> bytes, DcmFileFormat& file) {
  SpanInputStream stream(bytes, 0, /*budgeted=*/true);
  file.transferInit();
  OFCondition cond = file.read(stream, EXS_Unknown, EGL_noChange, kMaxReadLength);
  file.transferEnd();
  if (stream.exhausted()) return Status::DataLoss("malformed DICOM: parse exceeded its budget");
  if (cond.bad()) return Status::DataLoss(std::string("unreadable DICOM: ") + cond.text());
  return Status::Ok();
}

std::string GetString(DcmItem& item, const DcmTagKey& tag) {
  OFString v;
  if (item.findAndGetOFString(tag, v).bad()) return {};
  return std::string(TrimPadding(std::string_view(v.c_str(), v.length())));
}

uint16_t GetU16(DcmItem& item, const DcmTagKey& tag, uint16_t fallback, unsigned long pos = 0) {
  Uint16 v = 0;
  return item.findAndGetUint16(tag, v, pos).good() ? v : fallback;
}

// PS3.3 C.7.6.3.1.5-6. Segmented tables (0028,1221-1223) are left empty:
// OutputFormat then refuses the instance with a reason.
void ReadPalette(DcmItem& ds, bool is_signed, PixelAttributes& a) {
  static const DcmTagKey kDescriptors[3] = {DCM_RedPaletteColorLookupTableDescriptor,
                                            DCM_GreenPaletteColorLookupTableDescriptor,
                                            DCM_BluePaletteColorLookupTableDescriptor};
  static const DcmTagKey kData[3] = {DCM_RedPaletteColorLookupTableData,
                                     DCM_GreenPaletteColorLookupTableData,
                                     DCM_BluePaletteColorLookupTableData};
  for (int c = 0; c < 3; ++c) {
    PaletteLut& lut = a.palette[c];
    const uint16_t entries = GetU16(ds, kDescriptors[c], 0, 0);
    lut.entries = entries == 0 ? 65536 : entries;
    const uint16_t first = GetU16(ds, kDescriptors[c], 0, 1);
    lut.first_mapped = is_signed ? static_cast<int16_t>(first) : first;
    lut.bits = GetU16(ds, kDescriptors[c], 16, 2);
    const Uint16* words = nullptr;
    unsigned long count = 0;
    if (ds.findAndGetUint16Array(kData[c], words, &count).bad() || words == nullptr) continue;
    if (lut.bits <= 8 && count * 2 == lut.entries) {
      // 8-bit entries packed two per OW word (low byte first).
      for (unsigned long i = 0; i < count; ++i) {
        lut.data.push_back(words[i] & 0xFF);
        lut.data.push_back(words[i] >> 8);
      }
    } else {
      lut.data.assign(words, words + std::min<unsigned long>(count, lut.entries));
    }
  }
}

Result<PixelAttributes> ReadAttributes(DcmItem& ds) {
  PixelAttributes a;
  a.rows = GetU16(ds, DCM_Rows, 0);
  a.columns = GetU16(ds, DCM_Columns, 0);
  if (a.rows == 0 || a.columns == 0) {
    return Status::Unsupported("Pixel Data without Rows/Columns: not an image");
  }
  a.samples = GetU16(ds, DCM_SamplesPerPixel, 1);
  a.bits_allocated = GetU16(ds, DCM_BitsAllocated, 0);
  a.bits_stored = GetU16(ds, DCM_BitsStored, a.bits_allocated);
  a.high_bit = GetU16(ds, DCM_HighBit, static_cast<uint16_t>(std::max(1, int{a.bits_stored}) - 1));
  a.is_signed = GetU16(ds, DCM_PixelRepresentation, 0) == 1;
  a.planar = GetU16(ds, DCM_PlanarConfiguration, 0);
  a.photometric = GetString(ds, DCM_PhotometricInterpretation);
  if (a.photometric.empty()) a.photometric = a.samples == 3 ? "RGB" : "MONOCHROME2";
  const std::string frames = GetString(ds, DCM_NumberOfFrames);
  long long n = 1;
  if (!frames.empty()) {
    std::string_view v = frames;
    if (v.front() == '+') v.remove_prefix(1);
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || n < 1) n = 1;  // absent or garbage: one frame (as DCMTK)
  }
  if (n > (1LL << 24)) return Status::DataLoss("NumberOfFrames " + frames + " is implausible");
  a.frames = static_cast<uint32_t>(n);
  if (a.samples == 1 && a.photometric == "PALETTE COLOR") ReadPalette(ds, a.is_signed, a);
  return a;
}

// Offsets of a Basic Offset Table (32-bit) or Extended Offset Table (64-bit).
Result<std::vector<uint64_t>> ReadOffsets(const ValueSource& v, unsigned width) {
  std::vector<uint8_t> bytes(v.length());
  RETURN_IF_ERROR(v.Read(0, bytes.size(), bytes.data()));
  std::vector<uint64_t> out(bytes.size() / width);
  for (size_t i = 0; i < out.size(); ++i) {
    uint64_t x = 0;
    for (unsigned b = 0; b < width; ++b) x |= uint64_t{bytes[i * width + b]} << (8 * b);
    out[i] = x;
  }
  return out;
}

Status ReadFragments(DcmItem& ds, DcmPixelData& pixel, PixelSource& src) {
  E_TransferSyntax rep = EXS_Unknown;
  const DcmRepresentationParameter* param = nullptr;
  pixel.getOriginalRepresentationKey(rep, param);
  DcmPixelSequence* seq = nullptr;
  if (pixel.getEncapsulatedRepresentation(rep, param, seq).bad() || seq == nullptr) {
    return Status::DataLoss("encapsulated Pixel Data without a pixel sequence");
  }
  const unsigned long items = seq->card();
  if (items < 2) return Status::DataLoss("encapsulated Pixel Data has no fragments");
  std::vector<FragmentInfo> infos;
  std::vector<uint64_t> offsets;
  for (unsigned long i = 0; i < items; ++i) {
    DcmPixelItem* item = nullptr;
    if (seq->getItem(item, i).bad() || item == nullptr) return Status::DataLoss("bad fragment");
    ASSIGN_OR_RETURN(ValueSource v, ValueSource::Of(item, false));
    if (i == 0) {
      ASSIGN_OR_RETURN(offsets, ReadOffsets(v, 4));
      continue;
    }
    FragmentInfo info;
    info.length = v.length();
    RETURN_IF_ERROR(v.Read(0, std::min<uint64_t>(v.length(), sizeof(info.head)), info.head));
    infos.push_back(info);
    src.fragments.push_back(std::move(v));
  }
  // PS3.3 C.7.6.3.1.8: an Extended Offset Table replaces an empty BOT.
  DcmElement* eot = nullptr;
  if (offsets.empty() && ds.findAndGetElement(DCM_ExtendedOffsetTable, eot).good() && eot) {
    ASSIGN_OR_RETURN(ValueSource v, ValueSource::Of(eot, false));
    ASSIGN_OR_RETURN(offsets, ReadOffsets(v, 8));
  }
  ASSIGN_OR_RETURN(src.frames, MapFramesToFragments(infos, offsets, src.attributes.frames));
  return Status::Ok();
}

Status ReadPixelElement(DcmItem& ds, PixelSource& src) {
  DcmElement* element = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, element, OFFalse).good() && element) {
    // native or encapsulated: told apart below by DCMTK's representation
  } else if (ds.findAndGetElement(DCM_FloatPixelData, element, OFFalse).good() && element) {
    src.attributes.is_float = true;
    src.attributes.bits_allocated = 32;
  } else if (ds.findAndGetElement(DCM_DoubleFloatPixelData, element, OFFalse).good() && element) {
    src.attributes.is_float = true;
    src.attributes.bits_allocated = 64;
  } else {
    return Status::InvalidArgument("no Pixel Data");
  }
  if (src.attributes.is_float) {
    src.attributes.samples = 1;
    src.attributes.bits_stored = src.attributes.bits_allocated;
    src.attributes.high_bit = static_cast<uint16_t>(src.attributes.bits_allocated - 1);
  }
  auto* pixel = dynamic_cast<DcmPixelData*>(element);
  if (pixel != nullptr) {
    E_TransferSyntax rep = EXS_Unknown;
    const DcmRepresentationParameter* param = nullptr;
    pixel->getOriginalRepresentationKey(rep, param);
    DcmPixelSequence* seq = nullptr;
    src.encapsulated = pixel->getEncapsulatedRepresentation(rep, param, seq).good() && seq;
    if (src.encapsulated) return ReadFragments(ds, *pixel, src);
  }
  switch (element->getTag().getEVR()) {
    case EVR_OW:
      src.native_vr_width = 2;
      break;
    case EVR_OF:
      src.native_vr_width = 4;
      break;
    case EVR_OD:
      src.native_vr_width = 8;
      break;
    default:
      src.native_vr_width = 1;
      break;
  }
  const bool was_loaded = element->valueLoaded();
  ASSIGN_OR_RETURN(src.native, ValueSource::Of(element, src.big_endian));
  if (was_loaded && pixel != nullptr && src.native.length() > kMaxReadLength) {
    // A deflated dataset had to be inflated into DCMTK's element; our copy
    // is what frames are read from, so free DCMTK's instead of holding both.
    pixel->putUint8Array(nullptr, 0);
  }
  return Status::Ok();
}

}  // namespace

Result<ValueSource> ValueSource::Of(DcmElement* element, bool big_endian) {
  ValueSource v;
  v.length_ = element->getLength();
  v.big_endian_ = big_endian;
  if (v.length_ == DCM_UndefinedLength) return Status::DataLoss("value of undefined length");
  if (!element->valueLoaded()) {
    v.element_ = element;
    return v;
  }
  v.owned_.resize(v.length_);
  if (v.length_ > 0) {
    OFCondition c =
        element->getPartialValue(v.owned_.data(), 0, static_cast<Uint32>(v.length_), nullptr,
                                 big_endian ? EBO_BigEndian : EBO_LittleEndian);
    if (c.bad()) return Status::DataLoss(std::string("pixel value unreadable: ") + c.text());
  }
  return v;
}

Status ValueSource::Read(uint64_t offset, uint64_t n, uint8_t* dst) const {
  if (offset > length_ || n > length_ - offset) {
    return Status::DataLoss("read past the end of a " + std::to_string(length_) + "-byte value");
  }
  if (n == 0) return Status::Ok();
  if (element_ == nullptr) {
    std::memcpy(dst, owned_.data() + offset, n);
    return Status::Ok();
  }
  OFCondition c =
      element_->getPartialValue(dst, static_cast<Uint32>(offset), static_cast<Uint32>(n), nullptr,
                                big_endian_ ? EBO_BigEndian : EBO_LittleEndian);
  if (c.bad()) return Status::DataLoss(std::string("pixel bytes unreadable: ") + c.text());
  return Status::Ok();
}

std::string TransferSyntaxName(const std::string& uid) {
  // DCMTK 3.6.7 predates these (PS3.6 Annex A).
  static const std::pair<const char*, const char*> kNewer[] = {
      {"1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)"},
      {"1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)"},
      {"1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000 Image Compression"},
      {"1.2.840.10008.1.2.4.110", "JPEG XL Lossless"},
      {"1.2.840.10008.1.2.4.111", "JPEG XL JPEG Recompression"},
      {"1.2.840.10008.1.2.4.112", "JPEG XL"},
      {"1.2.840.10008.1.2.1.98", "Encapsulated Uncompressed Explicit VR Little Endian"},
      {"1.2.840.10008.1.2.8.1", "Deflated Image Frame Compression"},
  };
  for (const auto& [u, name] : kNewer) {
    if (uid == u) return name;
  }
  DcmXfer xfer(uid.c_str());
  if (xfer.getXfer() != EXS_Unknown) return xfer.getXferName();
  return "unknown transfer syntax";
}

Result<PixelSource> ParsePixelSource(std::span<const uint8_t> bytes) {
  RETURN_IF_ERROR(EnsureDcmtkReady());
  if (!LooksLikeDicom(bytes)) return Status::DataLoss("not DICOM");
  PixelSource src;
  try {
    src.file = std::make_shared<DcmFileFormat>();
    RETURN_IF_ERROR(ReadFile(bytes, *src.file));
    DcmDataset& ds = *src.file->getDataset();
    const E_TransferSyntax detected = ds.getOriginalXfer();
    src.ts_uid = GetString(*src.file->getMetaInfo(), DCM_TransferSyntaxUID);
    if (src.ts_uid.empty()) src.ts_uid = DcmXfer(detected).getXferID();
    src.big_endian = DcmXfer(detected).getByteOrder() == EBO_BigEndian;
    // Refusals name the transfer syntax (PixelDecoder::Open's contract).
    const auto named = [&src](const Status& s) {
      if (s.code() != StatusCode::kUnsupported) return s;
      return s.WithContext("transfer syntax " + src.ts_uid + " (" + TransferSyntaxName(src.ts_uid) +
                           ")");
    };
    auto attributes = ReadAttributes(ds);
    if (!attributes.ok()) return named(attributes.status());
    src.attributes = std::move(attributes).value();
    RETURN_IF_ERROR(named(ReadPixelElement(ds, src)));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("DCMTK threw: ") + e.what());
  }
  return src;
}

}  // namespace dcmfs::codecs_internal
