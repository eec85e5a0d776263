// The DICOM grayscale display pipeline on one decoded frame, to 8 bits for
// PNG/JPEG previews, MPR slices and IIIF tiles (PS3.4 N.2, "Grayscale
// Transformations"):
//
//   stored value --Modality LUT (rescale slope/intercept, PS3.3 C.11.1)-->
//   modality value --VOI LUT (window centre/width, PS3.3 C.11.2.1.2)-->
//   0..255 --MONOCHROME1 inverted (PS3.3 C.7.6.3.1.2)--> 8-bit gray
//
// The window is, in order: RenderOptions::window if set; else the stored
// window number RenderOptions::window_index (0 = first, as PS3.3 C.11.2.1.2
// recommends for display); else (no stored window, or window_index < 0) a
// robust window from the frame's own modality values: the low/high
// percentiles (0.5 % and 99.5 % by default) map to 0 and 255.
// Colour frames (samples == 3, already 8-bit RGB from the decoder) pass
// through unchanged.
//
// Not handled: Modality LUT Sequence and VOI LUT Sequence tables (the rescale
// and the window are used), Presentation LUT Shape, Presentation States.
//
// Thread-safe: plain functions of their arguments.
#pragma once

#include <optional>
#include <vector>

#include "base/status.h"
#include "codecs/image_encode.h"
#include "codecs/instance_meta.h"
#include "codecs/pixel_decode.h"

namespace dcmfs {

struct WindowLevel {
  double center = 0;
  double width = 0;  // >= 1 for kLinear (PS3.3 C.11.2.1.2.1), > 0 otherwise
};

// VOI LUT Function (0028,1056): LINEAR (the default when absent),
// LINEAR_EXACT and SIGMOID (PS3.3 C.11.2.1.2.1 .. C.11.2.1.3.2).
enum class VoiFunction { kLinear, kLinearExact, kSigmoid };

struct DisplaySettings {
  double rescale_slope = 1.0;
  double rescale_intercept = 0.0;
  std::vector<WindowLevel> windows;  // the instance's stored windows, in order
  VoiFunction voi_function = VoiFunction::kLinear;
};

// Rescale and windows from an instance's metadata. Multi-valued Window
// Center/Width ("40\400") give several windows; pairs whose width is not a
// positive number are dropped (they cannot be applied).
DisplaySettings DisplaySettingsFromMeta(const InstanceMeta& meta);

struct RenderOptions {
  std::optional<WindowLevel> window;  // explicit window (with voi_function)
  int window_index = 0;               // stored window to use; < 0: percentile
  double low_percentile = 0.5;        // percent, for the robust window
  double high_percentile = 99.5;
};

// The robust window of `frame`: its modality values at the two percentiles,
// as a LINEAR_EXACT window (center = (lo + hi) / 2, width = hi - lo, at least
// a tiny positive width). The value at percentile p is the modality value of
// 0-based rank floor(p / 100 * (n - 1)) in ascending order.
// InvalidArgument for colour or empty frames.
Result<WindowLevel> PercentileWindow(const DecodedFrame& frame, const DisplaySettings& settings,
                                     double low_percentile, double high_percentile);

// Applies the pipeline above. Returns a 1-channel raster for monochrome input
// and a 3-channel raster for RGB. InvalidArgument when the frame's data does
// not match its format, or window_index names a window that is not stored
// (so a caller may map that to "no such rendering").
Result<Raster> RenderFrame(const DecodedFrame& frame, const DisplaySettings& settings,
                           const RenderOptions& options = {});

// One modality value through a window to 0..255 (before rounding), the
// PS3.3 C.11.2.1.2.1 / C.11.2.1.3 formulas with ymin = 0 and ymax = 255.
double ApplyVoi(double modality_value, const WindowLevel& window, VoiFunction function);

}  // namespace dcmfs
