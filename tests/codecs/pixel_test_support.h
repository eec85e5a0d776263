// Helpers shared by the pixel decoder tests (pixel_decode_test.cc,
// pixel_robustness_test.cc): build a known pixel array, have DCMTK's
// writers/encoders or OpenJPEG's encoder turn it into a DICOM file, and
// compute what the standard says the decoded frame must be.
#pragma once

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcrleerg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcvrfd.h>
#include <dcmtk/dcmdata/dcvrfl.h>
#include <dcmtk/dcmdata/dcvrov.h>
#include <dcmtk/dcmdata/dcvrus.h>
#include <dcmtk/dcmimgle/dcmimage.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpeg/djencode.h>
#include <dcmtk/dcmjpeg/djrplol.h>
#include <dcmtk/dcmjpeg/djrploss.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/dcmjpls/djencode.h>
#include <dcmtk/dcmjpls/djrparam.h>
#include <gtest/gtest.h>
#include <openjpeg.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "codecs/pixel_decode.h"
#include "tests/support/temp_dir.h"

namespace dcmfs::pixel_testing {

using testing::ReadFileOrEmpty;
using testing::TempDir;

using testing::ReadFileOrEmpty;
using testing::TempDir;

struct Image {
  uint16_t rows = 16, columns = 20, samples = 1, bits_allocated = 16, bits_stored = 16;
  uint16_t high_bit = 15, pixel_rep = 0, planar = 0;
  uint32_t frames = 1;
  std::string photometric = "MONOCHROME2";
  std::vector<uint8_t> pixels;  // all frames, as stored (host = little endian order)
  size_t frame_bytes() const { return pixels.size() / frames; }
};

inline void RegisterEncoders() {
  static std::once_flag once;
  std::call_once(once, [] {
    DcmRLEEncoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();  // for the DCMTK side of the speed test
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DJEncoderRegistration::registerCodecs();
    // Raw encoding: the cooked path goes through DicomImage, which needs
    // dcmimage colour support this test does not link.
    DJLSEncoderRegistration::registerCodecs(0, 0, 0, 0, /*preferCookedEncoding=*/OFFalse);
  });
}

inline std::unique_ptr<DcmFileFormat> MakeFile(const Image& im) {
  auto file = std::make_unique<DcmFileFormat>();
  DcmDataset* ds = file->getDataset();
  char uid[100];
  ds->putAndInsertString(DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
  ds->putAndInsertString(DCM_SOPInstanceUID, dcmGenerateUniqueIdentifier(uid));
  ds->putAndInsertString(DCM_StudyInstanceUID, dcmGenerateUniqueIdentifier(uid));
  ds->putAndInsertString(DCM_SeriesInstanceUID, dcmGenerateUniqueIdentifier(uid));
  ds->putAndInsertUint16(DCM_Rows, im.rows);
  ds->putAndInsertUint16(DCM_Columns, im.columns);
  ds->putAndInsertUint16(DCM_SamplesPerPixel, im.samples);
  ds->putAndInsertUint16(DCM_BitsAllocated, im.bits_allocated);
  ds->putAndInsertUint16(DCM_BitsStored, im.bits_stored);
  ds->putAndInsertUint16(DCM_HighBit, im.high_bit);
  ds->putAndInsertUint16(DCM_PixelRepresentation, im.pixel_rep);
  ds->putAndInsertString(DCM_PhotometricInterpretation, im.photometric.c_str());
  if (im.samples > 1) ds->putAndInsertUint16(DCM_PlanarConfiguration, im.planar);
  if (im.frames > 1) ds->putAndInsertString(DCM_NumberOfFrames, std::to_string(im.frames).c_str());
  return file;
}

inline void PutNativePixels(const Image& im, DcmDataset* ds) {
  if (im.bits_allocated > 8) {
    ds->putAndInsertUint16Array(DCM_PixelData, reinterpret_cast<const Uint16*>(im.pixels.data()),
                                static_cast<unsigned long>(im.pixels.size() / 2));
  } else {
    ds->putAndInsertUint8Array(DCM_PixelData, im.pixels.data(),
                               static_cast<unsigned long>(im.pixels.size()));
  }
}

inline std::string Save(DcmFileFormat& file, E_TransferSyntax xfer) {
  static TempDir dir;
  static int n = 0;
  const std::string path = dir.Sub("f" + std::to_string(n++) + ".dcm");
  OFCondition c = file.saveFile(path.c_str(), xfer);
  EXPECT_TRUE(c.good()) << c.text();
  return ReadFileOrEmpty(path);
}

// Writes `im` natively in `xfer`, or compressed when `param` is given.
inline std::string Write(const Image& im, E_TransferSyntax xfer,
                         const DcmRepresentationParameter* param = nullptr, bool compress = false) {
  RegisterEncoders();
  auto file = MakeFile(im);
  PutNativePixels(im, file->getDataset());
  if (compress) {
    // As dcmcjpls does: encode a dataset read from a file (DCMTK's JPEG-LS
    // encoder refuses colour pixel data that was only put in memory).
    const std::string native = Save(*file, EXS_LittleEndianExplicit);
    file = std::make_unique<DcmFileFormat>();
    DcmInputBufferStream in;
    in.setBuffer(native.data(), static_cast<offile_off_t>(native.size()));
    in.setEos();
    file->transferInit();
    EXPECT_TRUE(file->read(in).good());
    file->transferEnd();
    file->loadAllDataIntoMemory();
    OFCondition c = file->getDataset()->chooseRepresentation(xfer, param);
    EXPECT_TRUE(c.good()) << c.text();
    EXPECT_TRUE(file->getDataset()->canWriteXfer(xfer));
  }
  return Save(*file, xfer);
}

inline std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

inline std::unique_ptr<PixelDecoder> OpenOk(const std::string& bytes) {
  auto d = PixelDecoder::Open(Bytes(bytes));
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(d).value() : nullptr;
}

// Random samples of `bits` bits (two's complement when signed) in containers
// of bits_allocated, with the bits above `bits` filled with `garbage` noise.
inline Image Mono(uint16_t bits_allocated, uint16_t bits_stored, bool is_signed, uint32_t frames,
                  bool garbage = false, uint32_t seed = 1) {
  Image im;
  im.bits_allocated = bits_allocated;
  im.bits_stored = bits_stored;
  im.high_bit = bits_stored - 1;
  im.pixel_rep = is_signed;
  im.frames = frames;
  std::mt19937 rng(seed);
  const size_t n = size_t{im.rows} * im.columns * frames;
  const unsigned bytes = bits_allocated / 8;
  im.pixels.resize(n * bytes);
  for (size_t i = 0; i < n; ++i) {
    uint32_t v = rng();
    if (!garbage && bits_stored < 32) {
      v &= (1u << bits_stored) - 1;
      if (is_signed && (v >> (bits_stored - 1))) v |= ~((1u << bits_stored) - 1);
    }
    std::memcpy(im.pixels.data() + i * bytes, &v, bytes);
  }
  return im;
}

// Expected decoded samples: the stored bits, sign-extended (PS3.5 8.1.1).
template <typename T>
std::vector<T> Expected(const Image& im, uint32_t frame) {
  const unsigned bytes = im.bits_allocated / 8;
  const size_t n = size_t{im.rows} * im.columns;
  std::vector<T> out(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t v = 0;
    std::memcpy(&v, im.pixels.data() + (frame * n + i) * bytes, bytes);
    if (im.bits_stored < 32) {
      v &= (1u << im.bits_stored) - 1;
      if (im.pixel_rep && (v >> (im.bits_stored - 1))) v |= ~((1u << im.bits_stored) - 1);
    }
    out[i] = static_cast<T>(v);
  }
  return out;
}

template <typename T>
std::vector<T> As(const DecodedFrame& f) {
  std::vector<T> out(f.data.size() / sizeof(T));
  std::memcpy(out.data(), f.data.data(), out.size() * sizeof(T));
  return out;
}

template <typename T>
void ExpectAllFrames(const std::string& file, const Image& im, SampleType type) {
  auto d = OpenOk(file);
  ASSERT_NE(d, nullptr);
  ASSERT_EQ(d->frame_count(), im.frames);
  EXPECT_EQ(d->format().type, type);
  EXPECT_EQ(d->format().rows, im.rows);
  EXPECT_EQ(d->format().columns, im.columns);
  for (uint32_t f = 0; f < im.frames; ++f) {
    auto frame = d->Decode(f);
    ASSERT_TRUE(frame.ok()) << frame.status().ToString();
    ASSERT_EQ(frame->data.size(), frame->format.frame_bytes());
    EXPECT_EQ(As<T>(*frame), Expected<T>(im, f)) << "frame " << f;
  }
  EXPECT_EQ(d->Decode(im.frames).status().code(), StatusCode::kInvalidArgument);
}
inline Image Rgb(uint16_t planar, uint32_t frames) {
  Image im;
  im.samples = 3;
  im.bits_allocated = im.bits_stored = 8;
  im.high_bit = 7;
  im.photometric = "RGB";
  im.planar = planar;
  im.frames = frames;
  const size_t n = size_t{im.rows} * im.columns;
  im.pixels.resize(n * 3 * frames);
  for (uint32_t f = 0; f < frames; ++f) {
    for (size_t i = 0; i < n; ++i) {
      for (int c = 0; c < 3; ++c) {
        const uint8_t v = static_cast<uint8_t>(i * (c + 1) + f * 31 + c * 50);
        im.pixels[f * n * 3 + (planar ? c * n + i : i * 3 + c)] = v;
      }
    }
  }
  return im;
}

// The interleaved RGB of frame `f` of an Rgb() image.
inline std::vector<uint8_t> RgbExpected(const Image& im, uint32_t f) {
  const size_t n = size_t{im.rows} * im.columns;
  std::vector<uint8_t> out(n * 3);
  for (size_t i = 0; i < n; ++i) {
    for (int c = 0; c < 3; ++c)
      out[i * 3 + c] = static_cast<uint8_t>(i * (c + 1) + f * 31 + c * 50);
  }
  return out;
}

inline void ExpectRgb(const std::string& file, const Image& im) {
  auto d = OpenOk(file);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->format().samples, 3);
  EXPECT_EQ(d->format().photometric, "RGB");
  for (uint32_t f = 0; f < im.frames; ++f) {
    auto frame = d->Decode(f);
    ASSERT_TRUE(frame.ok()) << frame.status().ToString();
    EXPECT_EQ(frame->data, RgbExpected(im, f)) << "frame " << f;
  }
}

// ---- JPEG 2000: encoded here with OpenJPEG's encoder ----

struct GrowBuffer {
  std::vector<uint8_t> bytes;
  size_t pos = 0;
};

inline OPJ_SIZE_T WriteGrow(void* data, OPJ_SIZE_T n, void* user) {
  auto* b = static_cast<GrowBuffer*>(user);
  if (b->pos + n > b->bytes.size()) b->bytes.resize(b->pos + n);
  std::memcpy(b->bytes.data() + b->pos, data, n);
  b->pos += n;
  return n;
}
inline OPJ_OFF_T SkipGrow(OPJ_OFF_T n, void* user) {
  auto* b = static_cast<GrowBuffer*>(user);
  b->pos += static_cast<size_t>(n);
  if (b->pos > b->bytes.size()) b->bytes.resize(b->pos);
  return n;
}
inline OPJ_BOOL SeekGrow(OPJ_OFF_T n, void* user) {
  static_cast<GrowBuffer*>(user)->pos = static_cast<size_t>(n);
  return OPJ_TRUE;
}

// How EncodeJ2kWith encodes: OpenJPEG's encoder parameters that change
// the codestream's structure (and so what a partial decode must get right).
struct J2kEncoding {
  bool mct = false;           // reversible/irreversible colour transform
  int resolutions = 3;        // the default 6 needs images of at least 32x32
  bool irreversible = false;  // 9/7 wavelet (lossy) instead of 5/3 (lossless)
  float rate = 0;             // compression ratio of the one layer; 0: lossless
  uint32_t tile = 0;          // square tiles of this size; 0: one tile
  int code_block = 64;        // code-block width and height
  uint32_t offset = 0;        // image origin on the reference grid (XOsiz/YOsiz)
};

inline std::vector<uint8_t> EncodeJ2kWith(const Image& im, uint32_t f, const J2kEncoding& e);

// A lossless (5/3, one layer) J2K codestream of frame `f` of `im`; colour
// with the reversible colour transform when `mct`.
inline std::vector<uint8_t> EncodeJ2k(const Image& im, uint32_t f, bool mct) {
  J2kEncoding e;
  e.mct = mct;
  return EncodeJ2kWith(im, f, e);
}

inline std::vector<uint8_t> EncodeJ2kWith(const Image& im, uint32_t f, const J2kEncoding& e) {
  const unsigned bytes = im.bits_allocated / 8;
  const size_t n = size_t{im.rows} * im.columns;
  std::vector<opj_image_cmptparm_t> parms(im.samples);
  for (auto& p : parms) {
    std::memset(&p, 0, sizeof(p));
    p.dx = p.dy = 1;
    p.w = im.columns;
    p.h = im.rows;
    p.x0 = p.y0 = e.offset;
    p.prec = im.bits_stored;
    p.sgnd = im.pixel_rep;
  }
  opj_image_t* image = opj_image_create(im.samples, parms.data(),
                                        im.samples == 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY);
  image->x0 = image->y0 = e.offset;
  image->x1 = e.offset + im.columns;
  image->y1 = e.offset + im.rows;
  for (unsigned c = 0; c < im.samples; ++c) {
    for (size_t i = 0; i < n; ++i) {
      uint32_t v = 0;
      std::memcpy(&v, im.pixels.data() + ((f * n + i) * im.samples + c) * bytes, bytes);
      int32_t x = static_cast<int32_t>(v & ((1u << im.bits_stored) - 1));
      if (im.pixel_rep && (x >> (im.bits_stored - 1))) x -= 1 << im.bits_stored;
      image->comps[c].data[i] = x;
    }
  }
  opj_cparameters_t params;
  opj_set_default_encoder_parameters(&params);
  params.tcp_numlayers = 1;
  params.tcp_rates[0] = e.rate;
  params.cp_disto_alloc = 1;
  params.tcp_mct = e.mct ? 1 : 0;
  params.numresolution = e.resolutions;
  params.irreversible = e.irreversible ? 1 : 0;
  params.cblockw_init = params.cblockh_init = e.code_block;
  params.image_offset_x0 = params.image_offset_y0 = static_cast<int>(e.offset);
  if (e.tile > 0) {
    params.tile_size_on = OPJ_TRUE;
    params.cp_tdx = params.cp_tdy = static_cast<int>(e.tile);
    params.cp_tx0 = params.cp_ty0 = static_cast<int>(e.offset);
  }
  opj_codec_t* codec = opj_create_compress(OPJ_CODEC_J2K);
  EXPECT_TRUE(opj_setup_encoder(codec, &params, image));
  GrowBuffer out;
  opj_stream_t* stream = opj_stream_default_create(OPJ_FALSE);
  opj_stream_set_user_data(stream, &out, nullptr);
  opj_stream_set_write_function(stream, WriteGrow);
  opj_stream_set_skip_function(stream, SkipGrow);
  opj_stream_set_seek_function(stream, SeekGrow);
  EXPECT_TRUE(opj_start_compress(codec, image, stream));
  EXPECT_TRUE(opj_encode(codec, stream));
  EXPECT_TRUE(opj_end_compress(codec, stream));
  opj_stream_destroy(stream);
  opj_destroy_codec(codec);
  opj_image_destroy(image);
  return out.bytes;
}

enum class Layout { kOnePerFrame, kSplitWithBot, kSplitNoBot, kExtendedOffsetTable };

// Encapsulates `frames` (PS3.5 A.4) in the given fragment layout.
inline std::string WriteEncapsulated(const Image& im,
                                     const std::vector<std::vector<uint8_t>>& frames,
                                     const char* ts_uid, Layout layout) {
  auto file = MakeFile(im);
  auto* seq = new DcmPixelSequence(DcmTag(DCM_PixelData, EVR_OB));
  auto* bot = new DcmPixelItem(DcmTag(DCM_Item, EVR_OB));
  seq->insert(bot);
  std::vector<Uint32> offsets;
  std::vector<Uint64> eot, eot_lengths;
  uint64_t pos = 0;
  for (const auto& frame : frames) {
    std::vector<uint8_t> padded = frame;
    if (padded.size() % 2) padded.push_back(0);
    offsets.push_back(static_cast<Uint32>(pos));
    eot.push_back(pos);
    eot_lengths.push_back(frame.size());
    const bool split = layout != Layout::kOnePerFrame;
    const size_t cut = split ? (padded.size() / 2) & ~size_t{1} : padded.size();
    for (auto [from, to] : {std::pair{size_t{0}, cut}, std::pair{cut, padded.size()}}) {
      if (from == to) continue;
      auto* item = new DcmPixelItem(DcmTag(DCM_Item, EVR_OB));
      item->putUint8Array(padded.data() + from, static_cast<Uint32>(to - from));
      seq->insert(item);
      pos += 8 + (to - from);
    }
  }
  if (layout == Layout::kSplitWithBot) {
    bot->putUint8Array(reinterpret_cast<const Uint8*>(offsets.data()),
                       static_cast<Uint32>(offsets.size() * 4));
  }
  DcmDataset* ds = file->getDataset();
  if (layout == Layout::kExtendedOffsetTable) {
    auto* e = new DcmOther64bitVeryLong(DcmTag(DCM_ExtendedOffsetTable, EVR_OV));
    e->putUint64Array(eot.data(), eot.size());
    ds->insert(e);
    auto* l = new DcmOther64bitVeryLong(DcmTag(DCM_ExtendedOffsetTableLengths, EVR_OV));
    l->putUint64Array(eot_lengths.data(), eot_lengths.size());
    ds->insert(l);
  }
  auto* pixel = new DcmPixelData(DCM_PixelData);
  const E_TransferSyntax xfer = DcmXfer(ts_uid).getXfer();
  pixel->putOriginalRepresentation(xfer == EXS_Unknown ? EXS_JPEG2000LosslessOnly : xfer, nullptr,
                                   seq);
  ds->insert(pixel);
  std::string bytes = Save(*file, xfer == EXS_Unknown ? EXS_JPEG2000LosslessOnly : xfer);
  if (xfer == EXS_Unknown) {
    // A syntax DCMTK does not know: write the meta header's UID ourselves
    // (the dataset is explicit VR little endian like every encapsulated one).
    file->getMetaInfo()->putAndInsertString(DCM_TransferSyntaxUID, ts_uid);
    static TempDir dir;
    const std::string path = dir.Sub("unknown_ts.dcm");
    OFCondition c = file->saveFile(path.c_str(), EXS_JPEG2000LosslessOnly, EET_UndefinedLength,
                                   EGL_recalcGL, EPD_noChange, 0, 0, EWM_dontUpdateMeta);
    EXPECT_TRUE(c.good()) << c.text();
    bytes = ReadFileOrEmpty(path);
    EXPECT_NE(bytes.find(ts_uid), std::string::npos);
  }
  return bytes;
}

}  // namespace dcmfs::pixel_testing
