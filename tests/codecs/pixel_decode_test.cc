// PixelDecoder against known pixel arrays. Each test builds the array here,
// has DCMTK (RLE, JPEG, JPEG-LS encoders, explicit/implicit/big-endian/
// deflated writers) or OpenJPEG's encoder write the DICOM file, decodes it
// with ours and compares exactly (lossless) or within the codec's error
// (lossy). Expected values come from the array and from the standard
// (PS3.5 8.1.1 bit packing, PS3.3 C.7.6.3 palette/YBR), never from our code.
#include <gtest/gtest.h>

#include "tests/codecs/pixel_test_support.h"

namespace dcmfs::pixel_testing {
namespace {

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
    const std::string bytes = Save(*file, x);  // outlives the decoder
    auto d = OpenOk(bytes);
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
      const std::string bytes = Save(*file, x);  // outlives the decoder
      auto d = OpenOk(bytes);
      ASSERT_NE(d, nullptr);
      EXPECT_EQ(d->format().type, SampleType::kFloat32);
      auto f1 = d->Decode(1);
      ASSERT_TRUE(f1.ok()) << f1.status().ToString();
      EXPECT_EQ(As<float>(*f1), std::vector<float>(fl.begin() + fl.size() / 2, fl.end()));
    }
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
  sub.pixels = {ybr[0][0], ybr[0][0], ybr[0][1], ybr[0][2],
                ybr[2][0], ybr[2][0], ybr[2][1], ybr[2][2]};
  auto file = MakeFile(sub);
  file->getDataset()->putAndInsertUint8Array(DCM_PixelData, sub.pixels.data(), sub.pixels.size());
  const std::string bytes = Save(*file, EXS_LittleEndianExplicit);  // outlives the decoder
  auto d = OpenOk(bytes);
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
    for (int i = 0; i < entries; ++i)
      lut[c].push_back(static_cast<uint16_t>((i * 300 + c * 9000) & 0xFFFF));
    const Uint16 d3[3] = {entries, first, 16};
    auto* e = new DcmUnsignedShort(DcmTag(desc[c], EVR_US));
    e->putUint16Array(d3, 3);
    ds->insert(e, true);
    ds->putAndInsertUint16Array(data[c], lut[c].data(), lut[c].size());
  }
  const std::string bytes = Save(*file, EXS_LittleEndianExplicit);  // outlives the decoder
  auto d = OpenOk(bytes);
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
  for (size_t i = 0; i < im.pixels.size(); ++i)
    im.pixels[i] = static_cast<uint8_t>((i % 20) * 10 + i / 400);
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

}  // namespace
}  // namespace dcmfs::pixel_testing
