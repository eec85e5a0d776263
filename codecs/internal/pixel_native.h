// Native (uncompressed) Pixel Data, PS3.5 8.1-8.2: slicing one frame out of
// the value and turning its bytes into a RawFrame.
//
// Done by hand rather than through DCMTK's DicomImage, which would build a
// whole-object intermediate (all frames, rescaled) for what is a byte copy
// plus, at most, a byte swap: a 512x512 int16 slice is one 512 KiB memcpy.
#pragma once

#include <cstdint>
#include <functional>

#include "base/status.h"
#include "codecs/internal/pixel_layout.h"

namespace dcmfs::codecs_internal {

// Copies `n` bytes at `offset` of the Pixel Data value into `dst`, in the
// byte order of the file.
using ValueReader = std::function<Status(uint64_t offset, uint64_t n, uint8_t* dst)>;

// Container bytes of one native sample: 1 (BitsAllocated 1 and 8), 2, 4, 8.
// Unsupported for other BitsAllocated (e.g. ACR-NEMA packed 12-bit).
Result<unsigned> NativeSampleBytes(const PixelAttributes& a);

// Reads frame `index` of a native Pixel Data value of `value_length` bytes.
// `swap_unit` is 1 for little endian; for explicit big endian it is the
// width of the VR's values (2 for OW, 4 for OF, 8 for OD; 1 for OB), since
// PS3.5 7.3 swaps whole values, not samples: 8-bit samples or bit-packed
// data in an OW value come out pairwise swapped.
// Produces host-order samples; BitsAllocated 1 unpacked to one byte per
// pixel (0/1, LSB first, PS3.5 8.1.1, even when a frame starts mid-byte);
// YBR_FULL_422 expanded to full YBR (PS3.3 C.7.6.3.1.2); doubles narrowed to
// float32. DataLoss if the value is too short for the frame.
Result<RawFrame> ReadNativeFrame(const PixelAttributes& a, uint32_t index, uint64_t value_length,
                                 unsigned swap_unit, const ValueReader& read);

}  // namespace dcmfs::codecs_internal
