// DecodeNativeFrameAt (a frame unpacked from `at` bytes into its buffer to
// the front) gives exactly what DecodeNativeFrame gives for the frame's own
// bytes -- the latter checked against pydicom in image_header_test -- for
// every sample width, signedness, stored-bit layout and offset parity.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "codecs/image_header.h"

namespace dcmfs {
namespace {

TEST(DecodeNativeFrameAt, EqualsDecodingTheFrameAlone) {
  std::mt19937 rng(3);
  struct Layout {
    uint16_t allocated, stored, high;
  };
  int checked = 0;
  for (Layout l : {Layout{8, 8, 7}, Layout{8, 6, 6}, Layout{16, 16, 15}, Layout{16, 12, 11},
                   Layout{16, 12, 15}, Layout{32, 32, 31}, Layout{32, 20, 19}}) {
    for (uint16_t sign : {0, 1}) {
      for (uint64_t at : {0, 1, 2, 7, 1000, 4096}) {
        ImageHeader h;
        h.rows = 37;  // odd sizes: blocks and vector remainders
        h.columns = 29;
        h.bits_allocated = l.allocated;
        h.bits_stored = l.stored;
        h.high_bit = l.high;
        h.pixel_representation = sign;
        const uint64_t fb = NativeFrameBytes(h);
        std::vector<uint8_t> file(at + fb + 11);
        for (uint8_t& b : file) b = static_cast<uint8_t>(rng());
        auto alone = DecodeNativeFrame(h, std::span<const uint8_t>(file.data() + at, fb));
        ASSERT_TRUE(alone.ok()) << alone.status().ToString();
        auto shifted = DecodeNativeFrameAt(h, std::vector<uint8_t>(file), at);
        ASSERT_TRUE(shifted.ok()) << shifted.status().ToString();
        EXPECT_EQ(shifted->data, alone->data)
            << l.allocated << "/" << l.stored << "/" << l.high << " sign " << sign << " at " << at;
        EXPECT_EQ(shifted->format.type, alone->format.type);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 7 * 2 * 6);
}

TEST(DecodeNativeFrameAt, ShortBufferIsDataLoss) {
  ImageHeader h;
  h.rows = 4;
  h.columns = 4;
  auto r = DecodeNativeFrameAt(h, std::vector<uint8_t>(40), 10);  // needs 10 + 32
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_FALSE(DecodeNativeFrameAt(h, std::vector<uint8_t>(40), 100).ok());
}

}  // namespace
}  // namespace dcmfs
