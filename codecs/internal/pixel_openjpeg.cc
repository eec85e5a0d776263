#include "codecs/internal/pixel_openjpeg.h"

#include <openjpeg.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "codecs/internal/pixel_fragments.h"

namespace dcmfs::codecs_internal {
namespace {

// A read-only OpenJPEG stream over caller memory.
struct MemoryStream {
  std::span<const uint8_t> bytes;
  size_t pos = 0;
};

OPJ_SIZE_T ReadStream(void* buffer, OPJ_SIZE_T n, void* user) {
  auto* s = static_cast<MemoryStream*>(user);
  if (s->pos >= s->bytes.size()) return static_cast<OPJ_SIZE_T>(-1);  // OpenJPEG's EOF
  const size_t k = std::min<size_t>(n, s->bytes.size() - s->pos);
  std::memcpy(buffer, s->bytes.data() + s->pos, k);
  s->pos += k;
  return k;
}

OPJ_OFF_T SkipStream(OPJ_OFF_T n, void* user) {
  auto* s = static_cast<MemoryStream*>(user);
  if (n < 0) {
    const size_t back = std::min<size_t>(static_cast<size_t>(-n), s->pos);
    s->pos -= back;
    return -static_cast<OPJ_OFF_T>(back);
  }
  const size_t k = std::min<size_t>(static_cast<size_t>(n), s->bytes.size() - s->pos);
  s->pos += k;
  return static_cast<OPJ_OFF_T>(k);
}

OPJ_BOOL SeekStream(OPJ_OFF_T n, void* user) {
  auto* s = static_cast<MemoryStream*>(user);
  if (n < 0 || static_cast<uint64_t>(n) > s->bytes.size()) return OPJ_FALSE;
  s->pos = static_cast<size_t>(n);
  return OPJ_TRUE;
}

void KeepError(const char* msg, void* user) {
  auto* last = static_cast<std::string*>(user);
  *last = msg;
  while (!last->empty() && last->back() == '\n') last->pop_back();
}
void Ignore(const char*, void*) {}

struct CodecDeleter {
  void operator()(opj_codec_t* c) const { opj_destroy_codec(c); }
};
struct StreamDeleter {
  void operator()(opj_stream_t* s) const { opj_stream_destroy(s); }
};
struct ImageDeleter {
  void operator()(opj_image_t* i) const { opj_image_destroy(i); }
};

bool IsJp2(std::span<const uint8_t> f) { return f.size() > 2 && !(f[0] == 0xFF && f[1] == 0x4F); }

// The codestream must describe the image the dataset does; checked after
// the header and before decoding, so a lying header cannot make OpenJPEG
// allocate more than the dataset's frame size.
Status CheckGeometry(const PixelAttributes& a, const opj_image_t& image) {
  const unsigned comps = a.samples;
  if (image.numcomps < comps) {
    return Status::DataLoss("JPEG 2000 frame has " + std::to_string(image.numcomps) +
                            " components, SamplesPerPixel is " + std::to_string(comps));
  }
  for (unsigned c = 0; c < comps; ++c) {
    const opj_image_comp_t& comp = image.comps[c];
    if (comp.w != a.columns || comp.h != a.rows) {
      return Status::DataLoss("JPEG 2000 component " + std::to_string(c) + " is " +
                              std::to_string(comp.w) + "x" + std::to_string(comp.h) +
                              ", the image is " + std::to_string(a.columns) + "x" +
                              std::to_string(a.rows) + " (subsampled components unsupported)");
    }
  }
  return Status::Ok();
}

// Copies the decoded components into an interleaved RawFrame.
Result<RawFrame> Interleave(const PixelAttributes& a, const opj_image_t& image) {
  const unsigned comps = a.samples;
  RETURN_IF_ERROR(CheckGeometry(a, image));
  for (unsigned c = 0; c < comps; ++c) {
    if (image.comps[c].data == nullptr) return Status::DataLoss("JPEG 2000 component not decoded");
  }
  RawFrame raw;
  raw.bytes_per_sample = a.bits_allocated <= 8 ? 1 : a.bits_allocated <= 16 ? 2 : 4;
  const uint64_t n = a.pixels();
  raw.data.resize(n * comps * raw.bytes_per_sample);
  for (unsigned c = 0; c < comps; ++c) {
    const OPJ_INT32* src = image.comps[c].data;
    if (raw.bytes_per_sample == 1) {
      uint8_t* dst = raw.data.data();
      for (uint64_t i = 0; i < n; ++i) dst[i * comps + c] = static_cast<uint8_t>(src[i]);
    } else if (raw.bytes_per_sample == 2) {
      auto* dst = reinterpret_cast<uint16_t*>(raw.data.data());
      for (uint64_t i = 0; i < n; ++i) dst[i * comps + c] = static_cast<uint16_t>(src[i]);
    } else {
      auto* dst = reinterpret_cast<uint32_t*>(raw.data.data());
      for (uint64_t i = 0; i < n; ++i) dst[i * comps + c] = static_cast<uint32_t>(src[i]);
    }
  }
  // PS3.5 8.2.4: YBR_ICT/YBR_RCT name the transform OpenJPEG has undone.
  const bool mct = a.photometric == "YBR_ICT" || a.photometric == "YBR_RCT";
  raw.photometric = mct ? "RGB" : a.photometric;
  return raw;
}

}  // namespace

bool IsOpenJpegSyntax(const std::string& ts) {
  return ts == "1.2.840.10008.1.2.4.90" || ts == "1.2.840.10008.1.2.4.91" ||
         ts == "1.2.840.10008.1.2.4.92" || ts == "1.2.840.10008.1.2.4.93" ||
         ts == "1.2.840.10008.1.2.4.201" || ts == "1.2.840.10008.1.2.4.202" ||
         ts == "1.2.840.10008.1.2.4.203";
}

Result<RawFrame> DecodeWithOpenJpeg(const PixelAttributes& a, std::span<const uint8_t> frame,
                                    int threads, OpenJpegArea area) {
  if (area.rows == 0 || area.first_row >= a.rows || area.rows > a.rows - area.first_row) {
    return Status::InvalidArgument("JPEG 2000 rows " + std::to_string(area.first_row) + "+" +
                                   std::to_string(area.rows) + " of " + std::to_string(a.rows));
  }
  if (!StartsCodestream(frame.first(std::min<size_t>(frame.size(), 12)))) {
    return Status::DataLoss("JPEG 2000 frame does not start with a codestream or JP2 header");
  }
  std::unique_ptr<opj_codec_t, CodecDeleter> codec(
      opj_create_decompress(IsJp2(frame) ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K));
  if (!codec) return Status::Internal("opj_create_decompress failed");
  std::string error = "invalid codestream";
  opj_set_error_handler(codec.get(), KeepError, &error);
  opj_set_warning_handler(codec.get(), Ignore, nullptr);
  opj_set_info_handler(codec.get(), Ignore, nullptr);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  if (!opj_setup_decoder(codec.get(), &params)) return Status::Internal("opj_setup_decoder failed");
  if (threads > 1) opj_codec_set_threads(codec.get(), threads);

  MemoryStream mem{frame, 0};
  std::unique_ptr<opj_stream_t, StreamDeleter> stream(opj_stream_create(1 << 16, OPJ_TRUE));
  if (!stream) return Status::Internal("opj_stream_create failed");
  opj_stream_set_user_data(stream.get(), &mem, nullptr);
  opj_stream_set_user_data_length(stream.get(), frame.size());
  opj_stream_set_read_function(stream.get(), ReadStream);
  opj_stream_set_skip_function(stream.get(), SkipStream);
  opj_stream_set_seek_function(stream.get(), SeekStream);

  opj_image_t* image_ptr = nullptr;
  if (!opj_read_header(stream.get(), codec.get(), &image_ptr)) {
    return Status::DataLoss("JPEG 2000 header: " + error);
  }
  std::unique_ptr<opj_image_t, ImageDeleter> image(image_ptr);
  RETURN_IF_ERROR(CheckGeometry(a, *image));
  PixelAttributes out = a;
  if (area.rows < a.rows) {
    // The area is on the reference grid, which starts at the image offset.
    out.rows = area.rows;
    const OPJ_INT32 y0 = static_cast<OPJ_INT32>(image->y0 + area.first_row);
    if (!opj_set_decode_area(codec.get(), image.get(), static_cast<OPJ_INT32>(image->x0), y0,
                             static_cast<OPJ_INT32>(image->x1),
                             y0 + static_cast<OPJ_INT32>(area.rows))) {
      return Status::DataLoss("JPEG 2000 decode area: " + error);
    }
  }
  if (!opj_decode(codec.get(), stream.get(), image.get()) ||
      !opj_end_decompress(codec.get(), stream.get())) {
    return Status::DataLoss("JPEG 2000 decode: " + error);
  }
  return Interleave(out, *image);
}

}  // namespace dcmfs::codecs_internal
