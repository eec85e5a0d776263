// Fuzzes PixelDecoder: bytes in, every frame decoded (at most 16), no crash,
// no leak, and every decoded frame has exactly format().frame_bytes() bytes.
// Build and run like ingest_fuzzer (fuzz/run.sh), target pixel_decode_fuzz.
#include <cstdint>
#include <span>

#include "base/check.h"
#include "codecs/pixel_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto decoder = dcmfs::PixelDecoder::Open(std::span<const uint8_t>(data, size));
  if (!decoder.ok()) return 0;
  const dcmfs::PixelDecoder& d = **decoder;
  const uint32_t frames = d.frame_count() < 16 ? d.frame_count() : 16;
  for (uint32_t f = 0; f < frames; ++f) {
    auto frame = d.Decode(f);
    if (frame.ok()) {
      CHECK(frame->data.size() == d.format().frame_bytes()) << "frame " << f << " size";
    }
    (void)d.EncodedFrame(f);
  }
  return 0;
}
