// JPEG-LS (PS3.5 A.4.3: .4.80 lossless, .4.81 near-lossless) decoded by
// CharLS 2 (Debian's libcharls2, which GDCM pulls in) when it is present at
// run time. DCMTK 3.6.7's dcmjpls bundles CharLS 1.x, which refuses valid
// streams that CharLS 2 decodes (7-bit samples: pydicom-data's
// JLSL_08_07_0_1F.dcm, which dcmdjpls cannot decode either). Without
// libcharls.so.2 the DCMTK codec path (pixel_dcmtk_codecs.h) is used.
//
// Loaded with dlopen(RTLD_LOCAL | RTLD_DEEPBIND), not linked: both CharLS
// versions export the legacy JpegLsDecode/JpegLsEncode symbols, and linking
// both makes DCMTK's dcmjpls call CharLS 2's incompatible functions (it
// crashed). Only CharLS 2's charls_* C API is looked up.
#pragma once

#include <span>

#include "base/status.h"
#include "codecs/internal/pixel_layout.h"

namespace dcmfs::codecs_internal {

// True if libcharls.so.2 loaded and has the functions we use.
bool HaveCharls();

// One JPEG-LS frame to host-order samples (1 byte up to 8 bits, else 2),
// planar when the stream is not interleaved (ILV_NONE), as the stream says.
Result<RawFrame> DecodeWithCharls(const PixelAttributes& a, std::span<const uint8_t> frame);

}  // namespace dcmfs::codecs_internal
