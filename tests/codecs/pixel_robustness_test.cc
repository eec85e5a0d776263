// PixelDecoder beyond single-threaded decoding of good files: different
// frames decoded concurrently, damaged and truncated input (a Status, never a
// crash), and speed side by side with DCMTK in the same run.
#include <gtest/gtest.h>

#include "tests/codecs/pixel_test_support.h"

namespace dcmfs::pixel_testing {
namespace {

TEST(PixelDecodeThreads, DifferentFramesConcurrently) {
  DJLSRepresentationParameter lossless(0, OFTrue);
  DJ_RPLossless jpeg_lossless(6, 0);
  Image im = Mono(16, 12, false, 16);
  std::vector<std::vector<uint8_t>> frames;
  for (uint32_t f = 0; f < im.frames; ++f) frames.push_back(EncodeJ2k(im, f, false));
  for (const std::string& file :
       {Write(im, EXS_JPEGLSLossless, &lossless, true), Write(im, EXS_RLELossless, nullptr, true),
        Write(im, EXS_JPEGProcess14SV1, &jpeg_lossless, true),
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
  st = PixelDecoder::Open(
           Bytes(WriteEncapsulated(two, frames, "1.2.840.10008.1.2.4.112", Layout::kOnePerFrame)))
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
       {Write(two, EXS_RLELossless, nullptr, true),
        Write(two, EXS_JPEGProcess14SV1, &lossless, true),
        Write(two, EXS_JPEGLSLossless, &jls, true),
        WriteEncapsulated(two, {EncodeJ2k(two, 0, false), EncodeJ2k(two, 1, false)},
                          "1.2.840.10008.1.2.4.90", Layout::kSplitNoBot)}) {
    const std::string pristine = file;
    for (int round = 0; round < 150; ++round) {
      file = pristine;
      for (int k = 0; k < 1 + round % 8; ++k) {
        // Mostly in the pixel bytes at the end, sometimes in the header.
        const size_t at = (round % 5 == 0)
                              ? rng() % file.size()
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
// well under a millisecond). CI also runs this test in a Debug build under
// ASan+UBSan (scripts/test.sh), unoptimised and instrumented, on a machine
// about 2x slower than ours and with another test running beside it: there
// the bound is 10x wider (50 ms for 512 kB), which a copy gone quadratic or
// a hang still exceeds.
#if defined(__SANITIZE_ADDRESS__) || !defined(__OPTIMIZE__)
constexpr double kNativeSliceBoundUs = 50000.0;
#else
constexpr double kNativeSliceBoundUs = 5000.0;
#endif
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
  EXPECT_LT(median, kNativeSliceBoundUs);
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
    const uint16_t v =
        static_cast<uint16_t>((r < 0.4 ? 1000 + 600 * std::cos(20 * r) : 24) + (rng() % 32));
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
      us.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
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
      std::printf(", DCMTK %s %8.1f us, ratio ours/DCMTK %.2f",
                  native ? "DicomImage" : "decompress", theirs, ours / theirs);
    }
    std::printf("\n");
  }
}

}  // namespace
}  // namespace dcmfs::pixel_testing
