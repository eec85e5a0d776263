// PixelDecoder: one parse at Open (pixel_source.h), then per-frame work only.
//
// Paths of Decode(i):
//   native       slice frame i out of the Pixel Data value (no other frame is
//                read), swap to host order, unpack bits (pixel_native.h);
//   RLE          our Annex G decoder (pixel_rle.h);
//   JPEG/JPEG-LS DCMTK codec on frame i's fragments (pixel_dcmtk_codecs.h),
//                JPEG-LS by CharLS 2 when present (pixel_charls.h);
//   JPEG 2000    OpenJPEG on frame i's fragments (pixel_openjpeg.h);
// then one normalisation to the documented layout (pixel_color.h).
// Transfer syntaxes outside these are refused at Open, naming UID and name.
#include "codecs/pixel_decode.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "codecs/internal/pixel_charls.h"
#include "codecs/internal/pixel_color.h"
#include "codecs/internal/pixel_dcmtk_codecs.h"
#include "codecs/internal/pixel_deflate.h"
#include "codecs/internal/pixel_native.h"
#include "codecs/internal/pixel_openjpeg.h"
#include "codecs/internal/pixel_rle.h"
#include "codecs/internal/pixel_source.h"

namespace dcmfs {
namespace {

using codecs_internal::PixelSource;
using codecs_internal::RawFrame;

constexpr uint64_t kMaxFrameBytes = uint64_t{1} << 30;  // decoded; beyond it we refuse
// OpenJPEG decodes code blocks on several threads (at most kJ2kMaxThreads)
// always for frames this big, ...
constexpr uint64_t kJ2kThreadedPixels = 2048 * 2048;
// ... and for frames this big when the cores are idle: a reader waiting on
// one CT slice at a time (a random read of a compressed series.nii: the
// kernel asks for 128 KiB at a time, so the slices a 1 MiB read covers
// decode one after another) gets its slice sooner (a 512x512 lossless CT
// slice on two busy cores: 135 ms instead of 200 ms, for ~20% more CPU).
// Smaller frames decode in a few milliseconds; starting threads costs more.
constexpr uint64_t kJ2kIdleThreadedPixels = 256 * 256;
constexpr unsigned kJ2kMaxThreads = 4;

// JPEG 2000 decodes running in this process. Not configuration: a count the
// thread choice reads, so that decodes running side by side (read-ahead of
// a volume, several readers) each stay on one core, where frame-level
// parallelism costs less than code-block-level.
std::atomic<unsigned> g_j2k_decodes{0};

struct InFlight {
  InFlight() : count(g_j2k_decodes.fetch_add(1) + 1) {}
  ~InFlight() { g_j2k_decodes.fetch_sub(1); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  const unsigned count;  // this one included
};

int OpenJpegThreads(const codecs_internal::PixelAttributes& a, unsigned decodes) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (a.pixels() >= kJ2kThreadedPixels) return static_cast<int>(std::min(kJ2kMaxThreads, cores));
  if (a.pixels() < kJ2kIdleThreadedPixels || decodes >= cores) return 1;
  return static_cast<int>(std::min(kJ2kMaxThreads, cores / decodes));
}

enum class Path { kNative, kRle, kDcmtk, kOpenJpeg, kDeflatedFrames };

constexpr char kRleUid[] = "1.2.840.10008.1.2.5";

bool IsJpegLs(const std::string& ts) {
  return ts == "1.2.840.10008.1.2.4.80" || ts == "1.2.840.10008.1.2.4.81";
}

bool IsNativeSyntax(const std::string& ts) {
  return ts == "1.2.840.10008.1.2" || ts == "1.2.840.10008.1.2.1" || ts == "1.2.840.10008.1.2.2" ||
         ts == "1.2.840.10008.1.2.1.99";
}

class PixelDecoderImpl : public PixelDecoder {
 public:
  PixelDecoderImpl(PixelSource src, Path path, PixelFormat format)
      : src_(std::move(src)), path_(path), format_(std::move(format)) {}

  const PixelFormat& format() const override { return format_; }
  uint32_t frame_count() const override { return src_.attributes.frames; }
  const std::string& transfer_syntax() const override { return src_.ts_uid; }

  Result<DecodedFrame> Decode(uint32_t index) const override {
    RETURN_IF_ERROR(CheckIndex(index));
    const auto& a = src_.attributes;
    Result<RawFrame> raw = Status::Internal("unreachable");
    if (path_ == Path::kNative) {
      raw = codecs_internal::ReadNativeFrame(
          a, index, src_.native.length(), SwapUnit(),
          [this](uint64_t off, uint64_t n, uint8_t* dst) { return src_.native.Read(off, n, dst); });
    } else {
      ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, JoinFragments(index));
      if (path_ == Path::kDeflatedFrames) {
        raw = InflateNative(bytes);
      } else if (path_ == Path::kRle) {
        raw = codecs_internal::DecodeRle(a, bytes);
      } else if (path_ == Path::kDcmtk && IsJpegLs(src_.ts_uid) && codecs_internal::HaveCharls()) {
        raw = codecs_internal::DecodeWithCharls(a, bytes);
      } else if (path_ == Path::kDcmtk) {
        raw = codecs_internal::DecodeWithDcmtk(a, src_.ts_uid, bytes);
      } else {
        return DecodeOpenJpeg(index, bytes, 0, a.rows);
      }
    }
    if (!raw.ok()) return raw.status().WithContext("frame " + std::to_string(index));
    return codecs_internal::Normalize(std::move(raw).value(), a, format_);
  }

  Result<DecodedFrame> DecodeRows(uint32_t index, uint32_t first_row,
                                  uint32_t rows) const override {
    RETURN_IF_ERROR(CheckIndex(index));
    const auto& a = src_.attributes;
    if (rows == 0 || first_row >= a.rows || rows > a.rows - first_row) {
      return Status::InvalidArgument("rows " + std::to_string(first_row) + "+" +
                                     std::to_string(rows) + " of a frame of " +
                                     std::to_string(a.rows));
    }
    if (DecodesPartialRows()) {
      ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, JoinFragments(index));
      return DecodeOpenJpeg(index, bytes, first_row, rows);
    }
    ASSIGN_OR_RETURN(DecodedFrame whole, Decode(index));
    const size_t row_bytes = whole.format.frame_bytes() / whole.format.rows;
    whole.data.erase(whole.data.begin() + (size_t{first_row} + rows) * row_bytes, whole.data.end());
    whole.data.erase(whole.data.begin(), whole.data.begin() + size_t{first_row} * row_bytes);
    whole.format.rows = rows;
    return whole;
  }

  bool DecodesPartialRows() const override { return path_ == Path::kOpenJpeg; }

  Result<std::vector<uint8_t>> EncodedFrame(uint32_t index) const override {
    RETURN_IF_ERROR(CheckIndex(index));
    if (path_ == Path::kNative) {
      return Status::Unsupported("native (uncompressed) Pixel Data has no encoded frames");
    }
    ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, JoinFragments(index));
    // PS3.5 A.4: fragments have even length, so a JPEG / JPEG 2000 stream
    // whose end-of-image marker (FFD9) ended on an odd byte gets one 00 pad.
    const size_t n = bytes.size();
    if (n >= 3 && bytes[n - 1] == 0 && bytes[n - 2] == 0xD9 && bytes[n - 3] == 0xFF) {
      bytes.pop_back();
    }
    return bytes;
  }

 private:
  Status CheckIndex(uint32_t index) const {
    if (index >= src_.attributes.frames) {
      return Status::InvalidArgument("frame " + std::to_string(index) + " of " +
                                     std::to_string(src_.attributes.frames));
    }
    return Status::Ok();
  }

  // Rows [first_row, first_row + rows) of a JPEG 2000 frame, on as many
  // threads as the machine has cores for it (OpenJpegThreads).
  Result<DecodedFrame> DecodeOpenJpeg(uint32_t index, std::span<const uint8_t> bytes,
                                      uint32_t first_row, uint32_t rows) const {
    codecs_internal::PixelAttributes part = src_.attributes;
    part.rows = rows;
    PixelFormat format = format_;
    format.rows = rows;
    InFlight in_flight;
    const codecs_internal::OpenJpegArea area{first_row, rows};
    Result<RawFrame> raw = codecs_internal::DecodeWithOpenJpeg(
        src_.attributes, bytes, OpenJpegThreads(src_.attributes, in_flight.count), area);
    if (!raw.ok()) return raw.status().WithContext("frame " + std::to_string(index));
    return codecs_internal::Normalize(std::move(raw).value(), part, format);
  }

  // A deflated frame inflates to what frame 0 of native data would be.
  Result<RawFrame> InflateNative(const std::vector<uint8_t>& bytes) const {
    const auto& a = src_.attributes;
    const uint64_t need =
        a.bits_allocated == 1 ? (a.pixels() * a.samples + 7) / 8 : a.native_frame_bytes();
    ASSIGN_OR_RETURN(std::vector<uint8_t> native, codecs_internal::InflateFrame(bytes, need));
    return codecs_internal::ReadNativeFrame(a, 0, native.size(), 1,
                                            [&native](uint64_t off, uint64_t n, uint8_t* dst) {
                                              std::memcpy(dst, native.data() + off, n);
                                              return Status::Ok();
                                            });
  }

  // Explicit big endian swaps whole VR values (PS3.5 7.3).
  unsigned SwapUnit() const {
    if (!src_.big_endian) return 1;
    auto bytes = codecs_internal::NativeSampleBytes(src_.attributes);
    return std::max(src_.native_vr_width, bytes.ok() ? *bytes : 1u);
  }

  Result<std::vector<uint8_t>> JoinFragments(uint32_t index) const {
    const codecs_internal::FrameSpan& span = src_.frames[index];
    uint64_t total = 0;
    for (uint32_t f = span.first; f < span.first + span.count; ++f) {
      total += src_.fragments[f].length();
    }
    if (total > kMaxFrameBytes) return Status::Unsupported("compressed frame over 1 GiB");
    std::vector<uint8_t> out(total);
    uint64_t at = 0;
    for (uint32_t f = span.first; f < span.first + span.count; ++f) {
      RETURN_IF_ERROR(src_.fragments[f].Read(0, src_.fragments[f].length(), out.data() + at));
      at += src_.fragments[f].length();
    }
    return out;
  }

  PixelSource src_;
  Path path_;
  PixelFormat format_;
};

Result<Path> ChoosePath(const PixelSource& src) {
  const std::string& ts = src.ts_uid;
  const auto named = [&ts] { return ts + " (" + codecs_internal::TransferSyntaxName(ts) + ")"; };
  Path path;
  if (IsNativeSyntax(ts)) {
    path = Path::kNative;
  } else if (ts == kRleUid) {
    path = Path::kRle;
  } else if (codecs_internal::IsDcmtkCodecSyntax(ts)) {
    path = Path::kDcmtk;
  } else if (codecs_internal::IsOpenJpegSyntax(ts)) {
    path = Path::kOpenJpeg;
  } else if (ts == codecs_internal::kDeflatedImageFrameUid) {
    path = Path::kDeflatedFrames;
  } else {
    return Status::Unsupported("transfer syntax " + named() + " is not decodable");
  }
  if ((path == Path::kNative) == src.encapsulated) {
    return Status::DataLoss(std::string(src.encapsulated ? "encapsulated" : "native") +
                            " Pixel Data in transfer syntax " + named());
  }
  return path;
}

// Decoded sizes must be plausible before any frame is decoded, and native
// data must hold every frame it claims (NumberOfFrames vs bytes present).
Status CheckBudget(const PixelSource& src, Path path) {
  const auto& a = src.attributes;
  const uint64_t frame = a.pixels() * a.samples * std::max(1, a.bits_allocated / 8);
  if (frame > kMaxFrameBytes) {
    return Status::Unsupported("decoded frame of " + std::to_string(frame) + " bytes");
  }
  if (path != Path::kNative) return Status::Ok();
  ASSIGN_OR_RETURN(const unsigned bytes, codecs_internal::NativeSampleBytes(a));
  (void)bytes;
  const uint64_t need = a.bits_allocated == 1 ? (a.pixels() * a.samples * a.frames + 7) / 8
                                              : a.native_frame_bytes() * a.frames;
  if (need > src.native.length()) {
    return Status::DataLoss("Pixel Data holds " + std::to_string(src.native.length()) + " bytes; " +
                            std::to_string(a.frames) + " frame(s) of " + std::to_string(a.rows) +
                            "x" + std::to_string(a.columns) + " need " + std::to_string(need));
  }
  return Status::Ok();
}

}  // namespace

size_t SampleSize(SampleType type) {
  switch (type) {
    case SampleType::kUint8:
    case SampleType::kInt8:
      return 1;
    case SampleType::kUint16:
    case SampleType::kInt16:
      return 2;
    case SampleType::kUint32:
    case SampleType::kInt32:
    case SampleType::kFloat32:
      return 4;
  }
  return 1;
}

Result<std::unique_ptr<PixelDecoder>> PixelDecoder::Open(std::span<const uint8_t> dicom_file) {
  ASSIGN_OR_RETURN(PixelSource src, codecs_internal::ParsePixelSource(dicom_file));
  ASSIGN_OR_RETURN(const Path path, ChoosePath(src));
  // Refusals of a layout name the transfer syntax too, as ChoosePath's do.
  const auto in_syntax = [&src](const Status& s) {
    if (s.ok() || s.code() != StatusCode::kUnsupported) return s;
    return s.WithContext("transfer syntax " + src.ts_uid + " (" +
                         codecs_internal::TransferSyntaxName(src.ts_uid) + ")");
  };
  auto format = codecs_internal::OutputFormat(src.attributes);
  if (!format.ok()) return in_syntax(format.status());
  RETURN_IF_ERROR(in_syntax(CheckBudget(src, path)));
  return std::unique_ptr<PixelDecoder>(
      std::make_unique<PixelDecoderImpl>(std::move(src), path, std::move(format).value()));
}

}  // namespace dcmfs
