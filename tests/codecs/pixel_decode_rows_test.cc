// PixelDecoder::DecodeRows: a band of rows of a frame must be exactly those
// rows of the whole frame, whatever the codestream's structure (resolution
// levels, code-block size, tiles, image offset, lossy 9/7, colour) and
// wherever the band lies (first row, last row, across code-block and tile
// edges). JPEG 2000 frames are encoded by OpenJPEG's encoder; the lossless
// ones are also checked against the pixels that went in.
#include <gtest/gtest.h>

#include <thread>

#include "tests/codecs/pixel_test_support.h"

namespace dcmfs::pixel_testing {
namespace {

// A CT-like 12-bit signed frame: a smooth body with noise (a plain random
// image would make every code block alike), `rows` x `columns`.
Image Ct(uint16_t rows, uint16_t columns, uint32_t frames) {
  Image im;
  im.rows = rows;
  im.columns = columns;
  im.bits_allocated = 16;
  im.bits_stored = 12;
  im.high_bit = 11;
  im.pixel_rep = 1;
  im.frames = frames;
  std::mt19937 rng(5);
  im.pixels.resize(size_t{rows} * columns * frames * 2);
  for (uint32_t f = 0; f < frames; ++f) {
    for (uint32_t y = 0; y < rows; ++y) {
      for (uint32_t x = 0; x < columns; ++x) {
        const double dx = x - columns / 2.0, dy = y - rows / 2.0;
        const bool body = dx * dx + dy * dy < (rows * rows) / 5.0;
        int v = body ? 40 + static_cast<int>((x * 7 + y * 3 + f * 11) % 300) : -1000;
        v += static_cast<int>(rng() % 64) - 32;
        const int16_t s = static_cast<int16_t>(std::clamp(v, -2048, 2047));
        std::memcpy(im.pixels.data() + ((size_t{f} * rows + y) * columns + x) * 2, &s, 2);
      }
    }
  }
  return im;
}

// Row bands of a frame of `rows` rows worth checking: the edges, single
// rows, bands across the 64-row code-block and 128-row tile boundaries.
std::vector<std::pair<uint32_t, uint32_t>> Bands(uint32_t rows) {
  std::vector<std::pair<uint32_t, uint32_t>> bands = {
      {0, 1},  {0, rows},   {rows - 1, 1}, {0, 63},  {1, 64},        {63, 2},
      {100, 128}, {127, 130}, {37, 1},      {rows / 2, rows / 2}, {rows - 70, 70},
      {rows / 3, rows / 4}};
  std::erase_if(bands, [rows](auto b) { return b.first + b.second > rows; });
  return bands;
}

// Every band of every frame decodes to the same bytes as those rows of the
// whole frame (and, when `oracle`, of the pixels that were encoded).
void ExpectBandsMatch(const std::string& file, const Image& im, bool oracle) {
  auto d = OpenOk(file);
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->DecodesPartialRows());
  for (uint32_t f = 0; f < im.frames; ++f) {
    auto whole = d->Decode(f);
    ASSERT_TRUE(whole.ok()) << whole.status().ToString();
    const size_t row_bytes = size_t{im.columns} * 2;
    if (oracle) {
      const std::vector<int16_t> got = As<int16_t>(*whole), want = Expected<int16_t>(im, f);
      ASSERT_EQ(got.size(), want.size());
      const auto diff = std::mismatch(got.begin(), got.end(), want.begin());
      ASSERT_TRUE(diff.first == got.end())
          << "frame " << f << " differs from the encoded pixels first at pixel "
          << (diff.first - got.begin()) << ": " << *diff.first << " vs " << *diff.second;
    }
    for (auto [first, rows] : Bands(im.rows)) {
      SCOPED_TRACE("frame " + std::to_string(f) + " rows " + std::to_string(first) + "+" +
                   std::to_string(rows));
      auto band = d->DecodeRows(f, first, rows);
      ASSERT_TRUE(band.ok()) << band.status().ToString();
      EXPECT_EQ(band->format.rows, rows);
      EXPECT_EQ(band->format.columns, im.columns);
      EXPECT_EQ(band->format.type, SampleType::kInt16);
      ASSERT_EQ(band->data.size(), band->format.frame_bytes());
      const std::vector<uint8_t> want(whole->data.begin() + first * row_bytes,
                                      whole->data.begin() + (first + rows) * row_bytes);
      EXPECT_TRUE(band->data == want) << "band differs from the whole frame's rows";
    }
  }
}

std::string J2kFile(const Image& im, const J2kEncoding& e,
                    const char* ts = "1.2.840.10008.1.2.4.90",
                    Layout layout = Layout::kSplitWithBot) {
  std::vector<std::vector<uint8_t>> frames;
  for (uint32_t f = 0; f < im.frames; ++f) frames.push_back(EncodeJ2kWith(im, f, e));
  return WriteEncapsulated(im, frames, ts, layout);
}

TEST(PixelDecodeRows, LosslessSixResolutionsAnyBand) {
  const Image im = Ct(300, 280, 2);
  J2kEncoding e;
  e.resolutions = 6;
  ExpectBandsMatch(J2kFile(im, e), im, true);
}

TEST(PixelDecodeRows, LosslessTilesSmallCodeBlocksAndImageOffset) {
  const Image im = Ct(300, 256, 1);
  J2kEncoding e;
  e.resolutions = 5;
  e.tile = 128;
  e.code_block = 32;
  e.offset = 17;
  ExpectBandsMatch(J2kFile(im, e), im, true);
}

TEST(PixelDecodeRows, LossyIrreversibleMatchesTheWholeFrame) {
  const Image im = Ct(300, 280, 1);
  J2kEncoding e;
  e.resolutions = 6;
  e.irreversible = true;
  e.rate = 20;
  ExpectBandsMatch(J2kFile(im, e, "1.2.840.10008.1.2.4.91"), im, false);
}

TEST(PixelDecodeRows, HighThroughputSyntax) {
  const Image im = Ct(200, 180, 1);
  J2kEncoding e;
  e.resolutions = 4;
  ExpectBandsMatch(J2kFile(im, e, "1.2.840.10008.1.2.4.201"), im, true);
}

TEST(PixelDecodeRows, ColourWithTransform) {
  Image im = Rgb(0, 1);
  im.photometric = "YBR_RCT";
  J2kEncoding e;
  e.mct = true;
  const std::string file = J2kFile(im, e);  // outlives the decoder, which keeps views into it
  auto d = OpenOk(file);
  ASSERT_NE(d, nullptr);
  const std::vector<uint8_t> all = RgbExpected(im, 0);
  const size_t row_bytes = size_t{im.columns} * 3;
  for (uint32_t first = 0; first + 3 <= im.rows; first += 5) {
    auto band = d->DecodeRows(0, first, 3);
    ASSERT_TRUE(band.ok()) << band.status().ToString();
    EXPECT_EQ(band->format.samples, 3);
    EXPECT_TRUE(std::equal(band->data.begin(), band->data.end(),
                           all.begin() + first * row_bytes))
        << "rows " << first << "+3";
  }
}

// Other syntaxes decode the frame and keep the rows: the same contract.
TEST(PixelDecodeRows, NativeAndRleKeepTheRows) {
  RegisterEncoders();
  Image im = Mono(16, 12, true, 2);
  for (const std::string& file : {Write(im, EXS_LittleEndianExplicit),
                                  Write(im, EXS_RLELossless, nullptr, true)}) {
    auto d = OpenOk(file);
    ASSERT_NE(d, nullptr);
    EXPECT_FALSE(d->DecodesPartialRows());
    for (uint32_t f = 0; f < im.frames; ++f) {
      const std::vector<int16_t> all = Expected<int16_t>(im, f);
      auto band = d->DecodeRows(f, 3, 5);
      ASSERT_TRUE(band.ok()) << band.status().ToString();
      EXPECT_EQ(band->format.rows, 5u);
      EXPECT_EQ(As<int16_t>(*band), std::vector<int16_t>(all.begin() + 3 * im.columns,
                                                         all.begin() + 8 * im.columns));
    }
  }
}

TEST(PixelDecodeRows, BandsOutsideTheFrameAreRefused) {
  const Image im = Ct(64, 64, 1);
  const std::string file = J2kFile(im, J2kEncoding{});
  auto d = OpenOk(file);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->DecodeRows(0, 0, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(d->DecodeRows(0, 64, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(d->DecodeRows(0, 60, 5).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(d->DecodeRows(0, 0xFFFFFFFFu, 2).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(d->DecodeRows(1, 0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(d->DecodeRows(0, 60, 4).ok());
}

// Decodes alone take several OpenJPEG threads, side by side one each: the
// bytes must not depend on which (many threads at once, then one alone).
TEST(PixelDecodeRows, ConcurrentAndLoneDecodesAgree) {
  const Image im = Ct(512, 512, 1);
  J2kEncoding e;
  e.resolutions = 6;
  const std::string file = J2kFile(im, e, "1.2.840.10008.1.2.4.90", Layout::kOnePerFrame);
  auto d = OpenOk(file);
  ASSERT_NE(d, nullptr);
  const std::vector<int16_t> want = Expected<int16_t>(im, 0);
  {
    auto first = d->Decode(0);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    ASSERT_EQ(As<int16_t>(*first), want);
  }
  std::vector<std::thread> threads;
  std::vector<int> ok(6, 0);
  for (size_t t = 0; t < ok.size(); ++t) {
    threads.emplace_back([&, t] {
      auto f = d->Decode(0);
      ok[t] = f.ok() && As<int16_t>(*f) == want;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, std::vector<int>(ok.size(), 1));
  auto lone = d->Decode(0);
  ASSERT_TRUE(lone.ok()) << lone.status().ToString();
  EXPECT_EQ(As<int16_t>(*lone), want);
}

}  // namespace
}  // namespace dcmfs::pixel_testing
