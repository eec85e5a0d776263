// The grayscale display pipeline (see render.h). Integer frames of up to 16
// bits go through a lookup table over every possible stored value (one
// ApplyVoi per value instead of per pixel); 32-bit and float frames are
// mapped per pixel.
#include "recon/render.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>

namespace dcmfs {
namespace {

// Backslash-separated DS values ("40\400"); unparsable values become NaN so
// that the pairing of centres with widths stays positional.
std::vector<double> ParseDecimalStrings(std::string_view text) {
  std::vector<double> values;
  if (text.empty()) return values;
  size_t start = 0;
  while (true) {
    const size_t end = text.find('\\', start);
    std::string item(text.substr(start, end == std::string_view::npos ? end : end - start));
    char* parse_end = nullptr;
    const double v = std::strtod(item.c_str(), &parse_end);
    const bool ok = parse_end != item.c_str() && std::isfinite(v);
    values.push_back(ok ? v : std::nan(""));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return values;
}

// Bytes per sample, here rather than SampleSize() so that rendering does not
// depend on the decoder's implementation being linked.
size_t BytesPerSample(SampleType type) {
  switch (type) {
    case SampleType::kUint8:
    case SampleType::kInt8: return 1;
    case SampleType::kUint16:
    case SampleType::kInt16: return 2;
    case SampleType::kUint32:
    case SampleType::kInt32:
    case SampleType::kFloat32: return 4;
  }
  return 1;
}

uint8_t ToByte(double y) { return static_cast<uint8_t>(std::clamp(std::floor(y + 0.5), 0.0, 255.0)); }

template <typename T>
const T* Samples(const DecodedFrame& frame) {
  return reinterpret_cast<const T*>(frame.data.data());
}

// Stored value (as double) at ascending rank `rank` of the frame, for each
// requested rank. Integer types of <= 16 bits use a histogram, others sort.
template <typename T>
std::vector<double> StoredAtRanks(const DecodedFrame& frame, const std::vector<size_t>& ranks) {
  const size_t n = size_t{frame.format.rows} * frame.format.columns;
  const T* data = Samples<T>(frame);
  std::vector<double> out;
  if constexpr (sizeof(T) <= 2 && std::is_integral_v<T>) {
    constexpr int64_t kMin = std::numeric_limits<T>::min();
    std::vector<uint64_t> histogram(size_t{1} << (8 * sizeof(T)), 0);
    for (size_t i = 0; i < n; ++i) ++histogram[static_cast<size_t>(int64_t{data[i]} - kMin)];
    for (size_t rank : ranks) {
      uint64_t seen = 0;
      for (size_t bin = 0; bin < histogram.size(); ++bin) {
        seen += histogram[bin];
        if (seen > rank) {
          out.push_back(static_cast<double>(static_cast<int64_t>(bin) + kMin));
          break;
        }
      }
    }
  } else {
    std::vector<T> copy(data, data + n);
    for (size_t rank : ranks) {
      std::nth_element(copy.begin(), copy.begin() + static_cast<ptrdiff_t>(rank), copy.end());
      out.push_back(static_cast<double>(copy[rank]));
    }
  }
  return out;
}

std::vector<double> StoredAtRanksDispatch(const DecodedFrame& frame,
                                          const std::vector<size_t>& ranks) {
  switch (frame.format.type) {
    case SampleType::kUint8: return StoredAtRanks<uint8_t>(frame, ranks);
    case SampleType::kInt8: return StoredAtRanks<int8_t>(frame, ranks);
    case SampleType::kUint16: return StoredAtRanks<uint16_t>(frame, ranks);
    case SampleType::kInt16: return StoredAtRanks<int16_t>(frame, ranks);
    case SampleType::kUint32: return StoredAtRanks<uint32_t>(frame, ranks);
    case SampleType::kInt32: return StoredAtRanks<int32_t>(frame, ranks);
    case SampleType::kFloat32: return StoredAtRanks<float>(frame, ranks);
  }
  return {};
}

Status CheckFrame(const DecodedFrame& frame) {
  const PixelFormat& f = frame.format;
  if (f.rows == 0 || f.columns == 0) return Status::InvalidArgument("render: empty frame");
  if (f.samples != 1 && f.samples != 3) {
    return Status::InvalidArgument("render: " + std::to_string(f.samples) + " samples per pixel");
  }
  if (f.samples == 3 && f.type != SampleType::kUint8) {
    return Status::InvalidArgument("render: colour frames must be 8-bit RGB");
  }
  const size_t expected = size_t{f.rows} * f.columns * f.samples * BytesPerSample(f.type);
  if (frame.data.size() != expected) {
    return Status::InvalidArgument("render: frame holds " + std::to_string(frame.data.size()) +
                                   " bytes, format says " + std::to_string(expected));
  }
  return Status::Ok();
}

template <typename T>
void MapPixels(const DecodedFrame& frame, const DisplaySettings& settings, const WindowLevel& w,
               VoiFunction function, bool invert, uint8_t* out) {
  const size_t n = size_t{frame.format.rows} * frame.format.columns;
  const T* data = Samples<T>(frame);
  auto map = [&](double stored) {
    const double modality = stored * settings.rescale_slope + settings.rescale_intercept;
    const uint8_t y = ToByte(ApplyVoi(modality, w, function));
    return invert ? static_cast<uint8_t>(255 - y) : y;
  };
  if constexpr (sizeof(T) <= 2 && std::is_integral_v<T>) {
    constexpr int64_t kMin = std::numeric_limits<T>::min();
    std::vector<uint8_t> lut(size_t{1} << (8 * sizeof(T)));
    for (size_t i = 0; i < lut.size(); ++i) lut[i] = map(static_cast<double>(int64_t(i) + kMin));
    for (size_t i = 0; i < n; ++i) out[i] = lut[static_cast<size_t>(int64_t{data[i]} - kMin)];
  } else {
    for (size_t i = 0; i < n; ++i) out[i] = map(static_cast<double>(data[i]));
  }
}

}  // namespace

double ApplyVoi(double x, const WindowLevel& window, VoiFunction function) {
  constexpr double kMax = 255.0;
  const double c = window.center;
  switch (function) {
    case VoiFunction::kLinear: {  // PS3.3 C.11.2.1.2.1
      const double w = std::max(window.width, 1.0);
      if (x <= c - 0.5 - (w - 1) / 2) return 0.0;
      if (x > c - 0.5 + (w - 1) / 2) return kMax;
      return ((x - (c - 0.5)) / (w - 1) + 0.5) * kMax;
    }
    case VoiFunction::kLinearExact: {  // PS3.3 C.11.2.1.3.2
      const double w = window.width;
      if (x <= c - w / 2) return 0.0;
      if (x > c + w / 2) return kMax;
      return ((x - c) / w + 0.5) * kMax;
    }
    case VoiFunction::kSigmoid:  // PS3.3 C.11.2.1.3.1
      return kMax / (1 + std::exp(-4 * (x - c) / window.width));
  }
  return 0.0;
}

DisplaySettings DisplaySettingsFromMeta(const InstanceMeta& meta) {
  DisplaySettings settings;
  // A zero slope would flatten the image; PS3.3 C.11.1.1.2 requires a real
  // slope, so treat 0 or non-finite as absent (1).
  if (std::isfinite(meta.rescale_slope) && meta.rescale_slope != 0) {
    settings.rescale_slope = meta.rescale_slope;
  }
  if (std::isfinite(meta.rescale_intercept)) settings.rescale_intercept = meta.rescale_intercept;
  const std::vector<double> centers = ParseDecimalStrings(meta.window_center);
  const std::vector<double> widths = ParseDecimalStrings(meta.window_width);
  for (size_t i = 0; i < std::min(centers.size(), widths.size()); ++i) {
    if (std::isnan(centers[i]) || std::isnan(widths[i]) || widths[i] <= 0) continue;
    settings.windows.push_back({centers[i], widths[i]});
  }
  return settings;
}

Result<WindowLevel> PercentileWindow(const DecodedFrame& frame, const DisplaySettings& settings,
                                     double low_percentile, double high_percentile) {
  RETURN_IF_ERROR(CheckFrame(frame));
  if (frame.format.samples != 1) {
    return Status::InvalidArgument("render: percentile window of a colour frame");
  }
  if (!(low_percentile >= 0 && low_percentile <= high_percentile && high_percentile <= 100)) {
    return Status::InvalidArgument("render: percentiles out of order or range");
  }
  const size_t n = size_t{frame.format.rows} * frame.format.columns;
  auto rank = [n](double p) { return static_cast<size_t>(std::floor(p / 100.0 * double(n - 1))); };
  size_t low_rank = rank(low_percentile), high_rank = rank(high_percentile);
  // A negative slope reverses the order of modality values relative to the
  // stored ones: rank r among modality values is rank n-1-r among stored.
  const bool reversed = settings.rescale_slope < 0;
  if (reversed) {
    low_rank = n - 1 - low_rank;
    high_rank = n - 1 - high_rank;
  }
  const std::vector<double> stored = StoredAtRanksDispatch(frame, {low_rank, high_rank});
  if (stored.size() != 2) return Status::Internal("render: percentile lookup failed");
  const double lo = stored[0] * settings.rescale_slope + settings.rescale_intercept;
  const double hi = stored[1] * settings.rescale_slope + settings.rescale_intercept;
  if (hi <= lo) {
    // A flat frame: the window [lo, lo + 1] renders lo black and anything
    // above it white (a sparse mask stays visible).
    return WindowLevel{lo + 0.5, 1.0};
  }
  return WindowLevel{(lo + hi) / 2, hi - lo};
}

Result<Raster> RenderFrame(const DecodedFrame& frame, const DisplaySettings& settings,
                           const RenderOptions& options) {
  RETURN_IF_ERROR(CheckFrame(frame));
  const PixelFormat& f = frame.format;
  Raster raster;
  raster.width = f.columns;
  raster.height = f.rows;
  raster.channels = f.samples;
  if (f.samples == 3) {  // already display RGB (pixel_decode.h)
    raster.pixels = frame.data;
    return raster;
  }
  WindowLevel window;
  VoiFunction function = settings.voi_function;
  if (options.window) {
    window = *options.window;
  } else if (options.window_index >= 0 && !settings.windows.empty()) {
    if (static_cast<size_t>(options.window_index) >= settings.windows.size()) {
      return Status::InvalidArgument("render: window " + std::to_string(options.window_index) +
                                     " of " + std::to_string(settings.windows.size()));
    }
    window = settings.windows[options.window_index];
  } else if (options.window_index > 0) {
    return Status::InvalidArgument("render: the instance stores no window");
  } else {
    ASSIGN_OR_RETURN(window, PercentileWindow(frame, settings, options.low_percentile,
                                              options.high_percentile));
    function = VoiFunction::kLinearExact;
  }
  if (!(window.width > 0) || !std::isfinite(window.center)) {
    return Status::InvalidArgument("render: window width must be positive");
  }
  const bool invert = f.photometric == "MONOCHROME1";
  raster.pixels.resize(size_t{f.rows} * f.columns);
  uint8_t* out = raster.pixels.data();
  switch (f.type) {
    case SampleType::kUint8: MapPixels<uint8_t>(frame, settings, window, function, invert, out); break;
    case SampleType::kInt8: MapPixels<int8_t>(frame, settings, window, function, invert, out); break;
    case SampleType::kUint16: MapPixels<uint16_t>(frame, settings, window, function, invert, out); break;
    case SampleType::kInt16: MapPixels<int16_t>(frame, settings, window, function, invert, out); break;
    case SampleType::kUint32: MapPixels<uint32_t>(frame, settings, window, function, invert, out); break;
    case SampleType::kInt32: MapPixels<int32_t>(frame, settings, window, function, invert, out); break;
    case SampleType::kFloat32: MapPixels<float>(frame, settings, window, function, invert, out); break;
  }
  return raster;
}

}  // namespace dcmfs
