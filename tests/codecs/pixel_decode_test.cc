// PixelDecoder against known pixel arrays. Each test builds the array here,
// has DCMTK (RLE, JPEG, JPEG-LS encoders, explicit/implicit/big-endian/
// deflated writers) or OpenJPEG's encoder write the DICOM file, decodes it
// with ours and compares exactly (lossless) or within the codec's error
// (lossy). Expected values come from the array and from the standard
// (PS3.5 8.1.1 bit packing, PS3.3 C.7.6.3 palette/YBR), never from our code.
#include "codecs/pixel_decode.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcistrmb.h>
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

#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

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

void RegisterEncoders() {
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

std::unique_ptr<DcmFileFormat> MakeFile(const Image& im) {
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

void PutNativePixels(const Image& im, DcmDataset* ds) {
  if (im.bits_allocated > 8) {
    ds->putAndInsertUint16Array(DCM_PixelData, reinterpret_cast<const Uint16*>(im.pixels.data()),
                                static_cast<unsigned long>(im.pixels.size() / 2));
  } else {
    ds->putAndInsertUint8Array(DCM_PixelData, im.pixels.data(),
                               static_cast<unsigned long>(im.pixels.size()));
  }
}

std::string Save(DcmFileFormat& file, E_TransferSyntax xfer) {
  static TempDir dir;
  static int n = 0;
  const std::string path = dir.Sub("f" + std::to_string(n++) + ".dcm");
  OFCondition c = file.saveFile(path.c_str(), xfer);
  EXPECT_TRUE(c.good()) << c.text();
  return ReadFileOrEmpty(path);
}

// Writes `im` natively in `xfer`, or compressed when `param` is given.
std::string Write(const Image& im, E_TransferSyntax xfer,
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

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::unique_ptr<PixelDecoder> OpenOk(const std::string& bytes) {
  auto d = PixelDecoder::Open(Bytes(bytes));
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(d).value() : nullptr;
}

// Random samples of `bits` bits (two's complement when signed) in containers
// of bits_allocated, with the bits above `bits` filled with `garbage` noise.
Image Mono(uint16_t bits_allocated, uint16_t bits_stored, bool is_signed, uint32_t frames,
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

TEST(PixelDecodeNative, SixteenBitEveryNativeSyntax) {
  Image u = Mono(16, 16, false, 3);
  Image s = Mono(16, 16, true, 2, false, 7);
  for (E_TransferSyntax x : {EXS_LittleEndianExplicit, EXS_LittleEndianImplicit,
                             EXS_BigEndianExplicit, EXS_DeflatedLittleEndianExplicit}) {
    SCOPED_TRACE(DcmXfer(x).getXferName());
    ExpectAllFrames<uint16_t>(Write(u, x), u, SampleType::kUint16);
    ExpectAllFrames<int16_t>(Write(s, x), s, SampleType::kInt16);
  }
}

TEST(PixelDecodeNative, TwelveBitGarbageMaskedAndSignExtended) {
  Image u = Mono(16, 12, false, 2, /*garbage=*/true);
  ExpectAllFrames<uint16_t>(Write(u, EXS_LittleEndianExplicit), u, SampleType::kUint16);
  Image s = Mono(16, 12, true, 2, /*garbage=*/true, 3);
  ExpectAllFrames<int16_t>(Write(s, EXS_BigEndianExplicit), s, SampleType::kInt16);
  auto d = OpenOk(Write(s, EXS_LittleEndianExplicit));
  ASSERT_NE(d, nullptr);
  auto f = d->Decode(0);
  ASSERT_TRUE(f.ok());
  for (int16_t v : As<int16_t>(*f)) ASSERT_TRUE(v >= -2048 && v <= 2047) << v;
}

TEST(PixelDecodeNative, EightAndThirtyTwoBit) {
  Image u8 = Mono(8, 8, false, 2);
  ExpectAllFrames<uint8_t>(Write(u8, EXS_LittleEndianExplicit), u8, SampleType::kUint8);
  Image s8 = Mono(8, 8, true, 1);
  ExpectAllFrames<int8_t>(Write(s8, EXS_BigEndianExplicit), s8, SampleType::kInt8);
  Image u32 = Mono(32, 32, false, 2);
  ExpectAllFrames<uint32_t>(Write(u32, EXS_LittleEndianExplicit), u32, SampleType::kUint32);
  ExpectAllFrames<uint32_t>(Write(u32, EXS_LittleEndianImplicit), u32, SampleType::kUint32);
  Image s32 = Mono(32, 32, true, 1);
  ExpectAllFrames<int32_t>(Write(s32, EXS_LittleEndianExplicit), s32, SampleType::kInt32);
}

// BitsAllocated 1 (SEG): 5x7 frames are 35 bits, so frames 1 and 2 start
// mid-byte (PS3.5 8.1.1: frames are packed with no padding between them).
TEST(PixelDecodeNative, BitPackedAcrossFrameBoundaries) {
  Image im;
  im.rows = 5;
  im.columns = 7;
  im.bits_allocated = im.bits_stored = 1;
  im.high_bit = 0;
  im.frames = 3;
  const size_t n = 35;
  std::vector<uint8_t> bits(n * 3);
  std::mt19937 rng(5);
  for (auto& b : bits) b = rng() & 1;
  std::vector<uint8_t> packed((bits.size() + 7) / 8 + 1, 0);  // +1: even length
  for (size_t k = 0; k < bits.size(); ++k) packed[k / 8] |= bits[k] << (k % 8);
  for (E_TransferSyntax x : {EXS_LittleEndianExplicit, EXS_BigEndianExplicit}) {
    auto file = MakeFile(im);
    file->getDataset()->putAndInsertUint8Array(DCM_PixelData, packed.data(), packed.size());
    auto d = OpenOk(Save(*file, x));
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->format().type, SampleType::kUint8);
    for (uint32_t f = 0; f < 3; ++f) {
      auto frame = d->Decode(f);
      ASSERT_TRUE(frame.ok()) << frame.status().ToString();
      EXPECT_EQ(frame->data, std::vector<uint8_t>(bits.begin() + f * n, bits.begin() + (f + 1) * n))
          << DcmXfer(x).getXferName() << " frame " << f;
    }
  }
}

TEST(PixelDecodeNative, FloatAndDoubleFloatPixelData) {
  Image im = Mono(16, 16, false, 2);
  std::vector<float> fl(size_t{im.rows} * im.columns * 2);
  std::vector<double> db(fl.size());
  for (size_t i = 0; i < fl.size(); ++i) {
    fl[i] = static_cast<float>(i) * 0.25f - 100.5f;
    db[i] = fl[i];
  }
  for (int which = 0; which < 2; ++which) {
    auto file = MakeFile(im);
    DcmDataset* ds = file->getDataset();
    ds->findAndDeleteElement(DCM_PixelRepresentation);
    if (which == 0) {
      ds->putAndInsertFloat32Array(DCM_FloatPixelData, fl.data(), fl.size());
    } else {
      auto* e = new DcmFloatingPointDouble(DcmTag(DCM_DoubleFloatPixelData, EVR_OD));
      e->putFloat64Array(db.data(), db.size());
      ds->insert(e);
    }
    for (E_TransferSyntax x : {EXS_LittleEndianExplicit, EXS_BigEndianExplicit}) {
      auto d = OpenOk(Save(*file, x));
      ASSERT_NE(d, nullptr);
      EXPECT_EQ(d->format().type, SampleType::kFloat32);
      auto f1 = d->Decode(1);
      ASSERT_TRUE(f1.ok()) << f1.status().ToString();
      EXPECT_EQ(As<float>(*f1), std::vector<float>(fl.begin() + fl.size() / 2, fl.end()));
    }
  }
}

Image Rgb(uint16_t planar, uint32_t frames) {
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
std::vector<uint8_t> RgbExpected(const Image& im, uint32_t f) {
  const size_t n = size_t{im.rows} * im.columns;
  std::vector<uint8_t> out(n * 3);
  for (size_t i = 0; i < n; ++i) {
    for (int c = 0; c < 3; ++c) out[i * 3 + c] = static_cast<uint8_t>(i * (c + 1) + f * 31 + c * 50);
  }
  return out;
}

void ExpectRgb(const std::string& file, const Image& im) {
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

TEST(PixelDecodeColour, RgbPlanarZeroAndOne) {
  for (uint16_t planar : {0, 1}) {
    Image im = Rgb(planar, 2);
    ExpectRgb(Write(im, EXS_LittleEndianExplicit), im);
    ExpectRgb(Write(im, EXS_BigEndianExplicit), im);
  }
}

// PS3.3 C.7.6.3.1.2: Cb = Cr = 128 is grey (R = G = B = Y); the JFIF
// primaries: Y 76 Cb 85 Cr 255 is red, Y 150 Cb 44 Cr 21 green, Y 29 Cb 255
// Cr 107 blue (within rounding). YBR_FULL_422 stores Y1 Y2 Cb Cr per pair.
TEST(PixelDecodeColour, YbrFullAndFull422) {
  const uint8_t ybr[4][3] = {{200, 128, 128}, {76, 85, 255}, {150, 44, 21}, {29, 255, 107}};
  const uint8_t rgb[4][3] = {{200, 200, 200}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
  Image im;
  im.rows = 1;
  im.columns = 4;
  im.samples = 3;
  im.bits_allocated = im.bits_stored = 8;
  im.high_bit = 7;
  im.photometric = "YBR_FULL";
  for (auto& p : ybr) im.pixels.insert(im.pixels.end(), p, p + 3);
  auto check = [&](const std::string& file, int pairs_share) {
    auto d = OpenOk(file);
    ASSERT_NE(d, nullptr);
    auto f = d->Decode(0);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    for (int px = 0; px < 4; ++px) {
      const int src = pairs_share ? px / 2 * 2 : px;  // 422: both of a pair as the first's chroma
      for (int c = 0; c < 3; ++c) {
        if (pairs_share && c > 0 && px % 2) continue;
        EXPECT_NEAR(f->data[px * 3 + c], rgb[src][c], 2) << "pixel " << px << " channel " << c;
      }
    }
  };
  check(Write(im, EXS_LittleEndianExplicit), 0);
  // 422: pixel pairs (0,1) and (2,3) share the chroma of pixels 0 and 2; Y of
  // the first of each pair equals the 4:4:4 test colour's Y.
  Image sub = im;
  sub.photometric = "YBR_FULL_422";
  sub.pixels = {ybr[0][0], ybr[0][0], ybr[0][1], ybr[0][2], ybr[2][0], ybr[2][0], ybr[2][1], ybr[2][2]};
  auto file = MakeFile(sub);
  file->getDataset()->putAndInsertUint8Array(DCM_PixelData, sub.pixels.data(), sub.pixels.size());
  auto d = OpenOk(Save(*file, EXS_LittleEndianExplicit));
  ASSERT_NE(d, nullptr);
  auto f = d->Decode(0);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  for (int px = 0; px < 4; ++px) {
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(f->data[px * 3 + c], rgb[px / 2 * 2][c], 2);
  }
}

// PS3.3 C.7.6.3.1.5: stored value v maps to entry v - first mapped (clamped);
// 16-bit entries keep their high byte in 8-bit output.
TEST(PixelDecodeColour, PaletteColorSixteenBitLut) {
  Image im = Mono(8, 8, false, 2);
  im.photometric = "PALETTE COLOR";
  auto file = MakeFile(im);
  DcmDataset* ds = file->getDataset();
  ds->putAndInsertUint8Array(DCM_PixelData, im.pixels.data(), im.pixels.size());
  const uint16_t first = 10, entries = 200;
  const DcmTagKey desc[3] = {DCM_RedPaletteColorLookupTableDescriptor,
                             DCM_GreenPaletteColorLookupTableDescriptor,
                             DCM_BluePaletteColorLookupTableDescriptor};
  const DcmTagKey data[3] = {DCM_RedPaletteColorLookupTableData,
                             DCM_GreenPaletteColorLookupTableData,
                             DCM_BluePaletteColorLookupTableData};
  std::vector<uint16_t> lut[3];
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < entries; ++i) lut[c].push_back(static_cast<uint16_t>((i * 300 + c * 9000) & 0xFFFF));
    const Uint16 d3[3] = {entries, first, 16};
    auto* e = new DcmUnsignedShort(DcmTag(desc[c], EVR_US));
    e->putUint16Array(d3, 3);
    ds->insert(e, true);
    ds->putAndInsertUint16Array(data[c], lut[c].data(), lut[c].size());
  }
  auto d = OpenOk(Save(*file, EXS_LittleEndianExplicit));
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->format().samples, 3);
  auto f = d->Decode(1);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const size_t n = size_t{im.rows} * im.columns;
  for (size_t i = 0; i < n; ++i) {
    const int v = im.pixels[n + i];
    const int idx = std::clamp(v - first, 0, entries - 1);
    for (int c = 0; c < 3; ++c) ASSERT_EQ(f->data[i * 3 + c], lut[c][idx] >> 8) << i;
  }
}

TEST(PixelDecodeRle, MonoAndColourAllFrames) {
  Image s = Mono(16, 16, true, 3);
  ExpectAllFrames<int16_t>(Write(s, EXS_RLELossless, nullptr, true), s, SampleType::kInt16);
  Image u8 = Mono(8, 8, false, 2);
  ExpectAllFrames<uint8_t>(Write(u8, EXS_RLELossless, nullptr, true), u8, SampleType::kUint8);
  Image u32 = Mono(32, 32, false, 2);
  ExpectAllFrames<uint32_t>(Write(u32, EXS_RLELossless, nullptr, true), u32, SampleType::kUint32);
  for (uint16_t planar : {0, 1}) {
    Image rgb = Rgb(planar, 2);
    ExpectRgb(Write(rgb, EXS_RLELossless, nullptr, true), rgb);
  }
}

TEST(PixelDecodeJpeg, LosslessSixteenTwelveEightBitAndRgb) {
  DJ_RPLossless lossless(6, 0);
  Image u16 = Mono(16, 16, false, 2);
  ExpectAllFrames<uint16_t>(Write(u16, EXS_JPEGProcess14SV1, &lossless, true), u16,
                            SampleType::kUint16);
  Image s12 = Mono(16, 12, true, 2);
  ExpectAllFrames<int16_t>(Write(s12, EXS_JPEGProcess14SV1, &lossless, true), s12,
                           SampleType::kInt16);
  Image u8 = Mono(8, 8, false, 3);
  ExpectAllFrames<uint8_t>(Write(u8, EXS_JPEGProcess14SV1, &lossless, true), u8,
                           SampleType::kUint8);
  Image rgb = Rgb(0, 2);
  ExpectRgb(Write(rgb, EXS_JPEGProcess14SV1, &lossless, true), rgb);
}

TEST(PixelDecodeJpeg, BaselineWithinLossyError) {
  Image im = Mono(8, 8, false, 2);
  // A smooth ramp: JPEG at quality 95 stays within a few grey levels.
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = static_cast<uint8_t>((i % 20) * 10 + i / 400);
  DJ_RPLossy lossy(95);
  auto d = OpenOk(Write(im, EXS_JPEGProcess1, &lossy, true));
  ASSERT_NE(d, nullptr);
  for (uint32_t f = 0; f < 2; ++f) {
    auto frame = d->Decode(f);
    ASSERT_TRUE(frame.ok()) << frame.status().ToString();
    auto want = Expected<uint8_t>(im, f);
    double err = 0;
    for (size_t i = 0; i < want.size(); ++i) err += std::abs(frame->data[i] - want[i]);
    EXPECT_LT(err / want.size(), 3.0);
    auto encoded = d->EncodedFrame(f);
    ASSERT_TRUE(encoded.ok());
    ASSERT_GE(encoded->size(), 4u);
    EXPECT_EQ((*encoded)[0], 0xFF);
    EXPECT_EQ((*encoded)[1], 0xD8);  // SOI
    EXPECT_EQ((*encoded)[encoded->size() - 2], 0xFF);
    EXPECT_EQ((*encoded)[encoded->size() - 1], 0xD9);  // EOI, pad removed
  }
}

TEST(PixelDecodeJpegLs, LosslessMonoAndRgb) {
  DJLSRepresentationParameter lossless(0, OFTrue);
  // DCMTK's bundled CharLS mis-encodes full-range 16-bit white noise (its own
  // dcmdjpls cannot read the result back), so this image is a noisy ramp.
  Image u16 = Mono(16, 16, false, 3);
  for (size_t i = 0; i < u16.pixels.size() / 2; ++i) {
    const uint16_t v = static_cast<uint16_t>(i * 97 + (u16.pixels[2 * i] & 0x3F));
    std::memcpy(&u16.pixels[2 * i], &v, 2);
  }
  ExpectAllFrames<uint16_t>(Write(u16, EXS_JPEGLSLossless, &lossless, true), u16,
                            SampleType::kUint16);
  // CharLS takes the 12 stored bits only: clear the sign extension above them
  // (PS3.5 8.1.1 leaves those bits undefined, so this is a valid file too).
  Image u12 = Mono(16, 12, false, 2);
  ExpectAllFrames<uint16_t>(Write(u12, EXS_JPEGLSLossless, &lossless, true), u12,
                            SampleType::kUint16);
  for (uint16_t planar : {0, 1}) {
    Image rgb = Rgb(planar, 2);
    ExpectRgb(Write(rgb, EXS_JPEGLSLossless, &lossless, true), rgb);
  }
}


// ---- JPEG 2000: encoded here with OpenJPEG's encoder ----

struct GrowBuffer {
  std::vector<uint8_t> bytes;
  size_t pos = 0;
};

OPJ_SIZE_T WriteGrow(void* data, OPJ_SIZE_T n, void* user) {
  auto* b = static_cast<GrowBuffer*>(user);
  if (b->pos + n > b->bytes.size()) b->bytes.resize(b->pos + n);
  std::memcpy(b->bytes.data() + b->pos, data, n);
  b->pos += n;
  return n;
}
OPJ_OFF_T SkipGrow(OPJ_OFF_T n, void* user) {
  auto* b = static_cast<GrowBuffer*>(user);
  b->pos += static_cast<size_t>(n);
  if (b->pos > b->bytes.size()) b->bytes.resize(b->pos);
  return n;
}
OPJ_BOOL SeekGrow(OPJ_OFF_T n, void* user) {
  static_cast<GrowBuffer*>(user)->pos = static_cast<size_t>(n);
  return OPJ_TRUE;
}

// A lossless (5/3, one layer) J2K codestream of frame `f` of `im`; colour
// with the reversible colour transform when `mct`.
std::vector<uint8_t> EncodeJ2k(const Image& im, uint32_t f, bool mct) {
  const unsigned bytes = im.bits_allocated / 8;
  const size_t n = size_t{im.rows} * im.columns;
  std::vector<opj_image_cmptparm_t> parms(im.samples);
  for (auto& p : parms) {
    std::memset(&p, 0, sizeof(p));
    p.dx = p.dy = 1;
    p.w = im.columns;
    p.h = im.rows;
    p.prec = im.bits_stored;
    p.sgnd = im.pixel_rep;
  }
  opj_image_t* image = opj_image_create(im.samples, parms.data(),
                                        im.samples == 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY);
  image->x1 = im.columns;
  image->y1 = im.rows;
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
  params.tcp_rates[0] = 0;
  params.cp_disto_alloc = 1;
  params.tcp_mct = mct ? 1 : 0;
  params.numresolution = 3;  // the default 6 needs images of at least 32x32
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
std::string WriteEncapsulated(const Image& im, const std::vector<std::vector<uint8_t>>& frames,
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
  std::string bytes = Save(*file, EXS_JPEG2000LosslessOnly);
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

TEST(PixelDecodeJpeg2000, LosslessEveryDepthSignAndFragmentLayout) {
  std::vector<Image> images = {Mono(16, 16, true, 3), Mono(16, 12, false, 3, false, 2),
                               Mono(8, 8, false, 3, false, 3)};
  for (const Image& im : images) {
    std::vector<std::vector<uint8_t>> frames;
    for (uint32_t f = 0; f < im.frames; ++f) frames.push_back(EncodeJ2k(im, f, false));
    for (Layout layout : {Layout::kOnePerFrame, Layout::kSplitWithBot, Layout::kSplitNoBot,
                          Layout::kExtendedOffsetTable}) {
      SCOPED_TRACE("bits " + std::to_string(im.bits_stored) + " layout " +
                   std::to_string(static_cast<int>(layout)));
      const std::string file = WriteEncapsulated(im, frames, "1.2.840.10008.1.2.4.90", layout);
      if (im.bits_allocated == 8) {
        ExpectAllFrames<uint8_t>(file, im, SampleType::kUint8);
      } else if (im.pixel_rep) {
        ExpectAllFrames<int16_t>(file, im, SampleType::kInt16);
      } else {
        ExpectAllFrames<uint16_t>(file, im, SampleType::kUint16);
      }
      auto d = OpenOk(file);
      ASSERT_NE(d, nullptr);
      for (uint32_t f = 0; f < im.frames; ++f) {
        auto encoded = d->EncodedFrame(f);
        ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
        EXPECT_EQ(*encoded, frames[f]) << "frame " << f;
      }
    }
  }
}

TEST(PixelDecodeJpeg2000, RgbWithAndWithoutColourTransform) {
  Image im = Rgb(0, 2);
  for (bool mct : {true, false}) {
    Image tagged = im;
    tagged.photometric = mct ? "YBR_RCT" : "RGB";
    std::vector<std::vector<uint8_t>> frames;
    for (uint32_t f = 0; f < im.frames; ++f) frames.push_back(EncodeJ2k(im, f, mct));
    ExpectRgb(WriteEncapsulated(tagged, frames, "1.2.840.10008.1.2.4.90", Layout::kOnePerFrame),
              im);
  }
}

// HTJ2K (.4.201) goes through the same OpenJPEG path; OpenJPEG 2.5 reads a
// classic J2K codestream under that UID as well (HTJ2K is a superset).
TEST(PixelDecodeJpeg2000, HighThroughputSyntaxIsAccepted) {
  Image im = Mono(16, 16, true, 2);
  std::vector<std::vector<uint8_t>> frames;
  for (uint32_t f = 0; f < im.frames; ++f) frames.push_back(EncodeJ2k(im, f, false));
  const std::string file =
      WriteEncapsulated(im, frames, "1.2.840.10008.1.2.4.201", Layout::kOnePerFrame);
  auto d = OpenOk(file);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->transfer_syntax(), "1.2.840.10008.1.2.4.201");
  ExpectAllFrames<int16_t>(file, im, SampleType::kInt16);
}

TEST(PixelDecodeThreads, DifferentFramesConcurrently) {
  DJLSRepresentationParameter lossless(0, OFTrue);
  Image im = Mono(16, 12, false, 16);
  std::vector<std::vector<uint8_t>> frames;
  for (uint32_t f = 0; f < im.frames; ++f) frames.push_back(EncodeJ2k(im, f, false));
  for (const std::string& file :
       {Write(im, EXS_JPEGLSLossless, &lossless, true), Write(im, EXS_RLELossless, nullptr, true),
        WriteEncapsulated(im, frames, "1.2.840.10008.1.2.4.90", Layout::kSplitNoBot),
        Write(im, EXS_LittleEndianExplicit)}) {
    auto d = OpenOk(file);
    ASSERT_NE(d, nullptr);
    std::vector<std::vector<uint16_t>> got(im.frames);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (uint32_t f = t; f < im.frames; f += 4) {
          auto frame = d->Decode(f);
          if (frame.ok()) got[f] = As<uint16_t>(*frame);
        }
      });
    }
    for (auto& th : threads) th.join();
    for (uint32_t f = 0; f < im.frames; ++f) EXPECT_EQ(got[f], Expected<uint16_t>(im, f)) << f;
  }
}

TEST(PixelDecodeErrors, ClearStatusNeverACrash) {
  // Not DICOM at all.
  EXPECT_EQ(PixelDecoder::Open(Bytes(std::string(300, 'x'))).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(PixelDecoder::Open({}).status().code(), StatusCode::kDataLoss);
  // No Pixel Data.
  Image im = Mono(16, 16, false, 2);
  auto file = MakeFile(im);
  EXPECT_EQ(PixelDecoder::Open(Bytes(Save(*file, EXS_LittleEndianExplicit))).status().code(),
            StatusCode::kInvalidArgument);
  // NumberOfFrames claims more frames than the value holds.
  Image lying = im;
  lying.pixels.resize(lying.pixels.size() / 2);
  lying.frames = 1;
  auto f2 = MakeFile(lying);
  f2->getDataset()->putAndInsertString(DCM_NumberOfFrames, "2");
  PutNativePixels(lying, f2->getDataset());
  auto st = PixelDecoder::Open(Bytes(Save(*f2, EXS_LittleEndianExplicit))).status();
  EXPECT_EQ(st.code(), StatusCode::kDataLoss) << st.ToString();
  // A transfer syntax we do not decode: named by UID and name.
  std::vector<std::vector<uint8_t>> frames = {{0, 0, 1, 0xB3, 1, 2}, {0, 0, 1, 0xB3, 3, 4}};
  Image two = Mono(16, 16, false, 2);
  st = PixelDecoder::Open(Bytes(WriteEncapsulated(two, frames, "1.2.840.10008.1.2.4.112",
                                                  Layout::kOnePerFrame)))
           .status();
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.ToString();
  EXPECT_NE(st.message().find("1.2.840.10008.1.2.4.112"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("JPEG XL"), std::string::npos) << st.ToString();
  // A corrupt JPEG 2000 frame: DataLoss from Decode, the other frame fine.
  std::vector<std::vector<uint8_t>> j2k = {EncodeJ2k(two, 0, false), EncodeJ2k(two, 1, false)};
  j2k[1].resize(j2k[1].size() / 3);
  auto d = OpenOk(WriteEncapsulated(two, j2k, "1.2.840.10008.1.2.4.90", Layout::kOnePerFrame));
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->Decode(0).ok());
  EXPECT_FALSE(d->Decode(1).ok());
  // Random byte damage in every codec's files: a Status, never a crash.
  DJ_RPLossless lossless(6, 0);
  DJLSRepresentationParameter jls(0, OFTrue);
  std::mt19937 rng(11);
  for (std::string file :
       {Write(two, EXS_RLELossless, nullptr, true), Write(two, EXS_JPEGProcess14SV1, &lossless, true),
        Write(two, EXS_JPEGLSLossless, &jls, true),
        WriteEncapsulated(two, {EncodeJ2k(two, 0, false), EncodeJ2k(two, 1, false)},
                          "1.2.840.10008.1.2.4.90", Layout::kSplitNoBot)}) {
    const std::string pristine = file;
    for (int round = 0; round < 150; ++round) {
      file = pristine;
      for (int k = 0; k < 1 + round % 8; ++k) {
        // Mostly in the pixel bytes at the end, sometimes in the header.
        const size_t at = (round % 5 == 0) ? rng() % file.size()
                                           : file.size() - 1 - rng() % std::min<size_t>(600, file.size());
        file[at] = static_cast<char>(rng());
      }
      auto dec = PixelDecoder::Open(Bytes(file));
      if (!dec.ok()) continue;
      for (uint32_t f = 0; f < (*dec)->frame_count(); ++f) {
        auto frame = (*dec)->Decode(f);
        if (frame.ok()) {
          EXPECT_EQ(frame->data.size(), (*dec)->format().frame_bytes());
        }
      }
    }
  }
  // Every truncation of a small RLE file either opens or fails cleanly.
  const std::string rle = Write(two, EXS_RLELossless, nullptr, true);
  for (size_t cut = 0; cut < rle.size(); cut += 7) {
    auto dec = PixelDecoder::Open(Bytes(rle.substr(0, cut)));
    if (dec.ok()) {
      for (uint32_t f = 0; f < (*dec)->frame_count(); ++f) (void)(*dec)->Decode(f);
    }
  }
}

// Throughput of the native path on a 512x512 int16 slice, printed for the
// record; the bound only catches a path that went badly wrong (the goal is
// well under a millisecond).
TEST(PixelDecodeSpeed, NativeSliceWellUnderAMillisecond) {
  Image im = Mono(16, 16, true, 1);
  im.rows = im.columns = 512;
  im.frames = 4;
  im.pixels.assign(size_t{512} * 512 * 2 * 4, 0x5A);
  const std::string file = Write(im, EXS_LittleEndianExplicit);
  auto d = OpenOk(file);
  ASSERT_NE(d, nullptr);
  std::vector<double> us;
  for (int i = 0; i < 41; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto frame = d->Decode(i % 4);
    const auto t1 = std::chrono::steady_clock::now();
    ASSERT_TRUE(frame.ok());
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(us.begin(), us.end());
  const double median = us[us.size() / 2];
  std::printf("native 512x512 int16: median %.1f us per frame (%.0f MB/s)\n", median,
              512.0 * 512 * 2 / median);
  EXPECT_LT(median, 5000.0);
}


// Per-codec decode time of a 512x512 12-bit CT-like slice (smooth anatomy
// plus noise), median of 15, printed for the record; each result is also
// checked exactly against the array.
TEST(PixelDecodeSpeed, CodecsOnA512SliceDecodeExactly) {
  Image im = Mono(16, 12, false, 1);
  im.rows = im.columns = 512;
  im.pixels.resize(size_t{512} * 512 * 2);
  std::mt19937 rng(9);
  for (size_t i = 0; i < size_t{512} * 512; ++i) {
    const double x = (i % 512) / 512.0 - 0.5, y = (i / 512) / 512.0 - 0.5;
    const double r = std::sqrt(x * x + y * y);
    const uint16_t v = static_cast<uint16_t>((r < 0.4 ? 1000 + 600 * std::cos(20 * r) : 24) +
                                             (rng() % 32));
    std::memcpy(&im.pixels[2 * i], &v, 2);
  }
  DJ_RPLossless jpeg_lossless(6, 0);
  DJLSRepresentationParameter jls(0, OFTrue);
  const std::vector<std::pair<std::string, std::string>> files = {
      {"native", Write(im, EXS_LittleEndianExplicit)},
      {"RLE", Write(im, EXS_RLELossless, nullptr, true)},
      {"JPEG lossless", Write(im, EXS_JPEGProcess14SV1, &jpeg_lossless, true)},
      {"JPEG-LS", Write(im, EXS_JPEGLSLossless, &jls, true)},
      {"JPEG 2000", WriteEncapsulated(im, {EncodeJ2k(im, 0, false)}, "1.2.840.10008.1.2.4.90",
                                      Layout::kOnePerFrame)}};
  // Side by side in the same run: what DCMTK alone does for the same frame
  // (parse from memory, then DicomImage for native data, or decompress the
  // dataset as dcmdjpeg/dcmdrle/dcmdjpls do). Both sides include the parse.
  const auto dcmtk_decode = [](const std::string& file, bool native) {
    DcmFileFormat ff;
    DcmInputBufferStream in;
    in.setBuffer(file.data(), static_cast<offile_off_t>(file.size()));
    in.setEos();
    ff.transferInit();
    EXPECT_TRUE(ff.read(in).good());
    ff.transferEnd();
    DcmDataset* ds = ff.getDataset();
    if (native) {
      DicomImage image(ds, ds->getOriginalXfer());
      return image.getOutputData(16) != nullptr;
    }
    const Uint16* words = nullptr;
    return ds->chooseRepresentation(EXS_LittleEndianExplicit, nullptr).good() &&
           ds->findAndGetUint16Array(DCM_PixelData, words).good() && words != nullptr;
  };
  const auto median_us = [](const std::function<void()>& work) {
    std::vector<double> us;
    for (int i = 0; i < 15; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      work();
      us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() -
                                                            t0).count());
    }
    std::sort(us.begin(), us.end());
    return us[us.size() / 2];
  };
  for (const auto& [name, file] : files) {
    auto first = PixelDecoder::Open(Bytes(file));
    ASSERT_TRUE(first.ok()) << name;
    auto frame = (*first)->Decode(0);
    ASSERT_TRUE(frame.ok()) << name << ": " << frame.status().ToString();
    EXPECT_EQ(As<uint16_t>(*frame), Expected<uint16_t>(im, 0)) << name;
    const double ours = median_us([&] {
      auto d = PixelDecoder::Open(Bytes(file));
      ASSERT_TRUE(d.ok() && (*d)->Decode(0).ok());
    });
    const bool native = name == "native";
    const bool dcmtk_can = name != "JPEG 2000";  // DCMTK 3.6.7 has no JPEG 2000 decoder
    const double theirs =
        dcmtk_can ? median_us([&] { EXPECT_TRUE(dcmtk_decode(file, native)); }) : 0;
    std::printf("%-14s 512x512 12-bit open+decode: ours %8.1f us (%5.0f MB/s)", name.c_str(), ours,
                512.0 * 512 * 2 / ours);
    if (dcmtk_can) {
      std::printf(", DCMTK %s %8.1f us, ratio ours/DCMTK %.2f", native ? "DicomImage" : "decompress",
                  theirs, ours / theirs);
    }
    std::printf("\n");
  }
}

}  // namespace
}  // namespace dcmfs
