#include "codecs/internal/pixel_charls.h"

#include <dlfcn.h>

#include <cstdint>
#include <string>

namespace dcmfs::codecs_internal {
namespace {

// The parts of CharLS 2's stable C ABI (charls/charls_jpegls_decoder.h,
// public_types.h) we call; declared here so building needs no CharLS headers.
struct CharlsFrameInfo {
  uint32_t width;
  uint32_t height;
  int32_t bits_per_sample;
  int32_t component_count;
};
using Errc = int32_t;            // charls_jpegls_errc: 0 is success
using InterleaveMode = int32_t;  // charls_interleave_mode: 0 is none (planar)

struct CharlsApi {
  void* (*create)() = nullptr;
  void (*destroy)(void*) = nullptr;
  Errc (*set_source)(void*, const void*, size_t) = nullptr;
  Errc (*read_header)(void*) = nullptr;
  Errc (*frame_info)(const void*, CharlsFrameInfo*) = nullptr;
  Errc (*interleave)(const void*, InterleaveMode*) = nullptr;
  Errc (*destination_size)(const void*, uint32_t, size_t*) = nullptr;
  Errc (*decode)(void*, void*, size_t, uint32_t) = nullptr;
  const char* (*message)(Errc) = nullptr;
  bool ok = false;
};

template <typename F>
bool Load(void* lib, const char* name, F& fn) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  return fn != nullptr;
}

const CharlsApi& Api() {
  static const CharlsApi api = [] {
    CharlsApi a;
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer aborts the process on RTLD_DEEPBIND (google/sanitizers
    // issue 611); sanitizer builds use DCMTK's JPEG-LS decoder only.
    return a;
#endif
    void* lib = dlopen("libcharls.so.2", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (lib == nullptr) return a;  // kept loaded for the process's life
    a.ok = Load(lib, "charls_jpegls_decoder_create", a.create) &&
           Load(lib, "charls_jpegls_decoder_destroy", a.destroy) &&
           Load(lib, "charls_jpegls_decoder_set_source_buffer", a.set_source) &&
           Load(lib, "charls_jpegls_decoder_read_header", a.read_header) &&
           Load(lib, "charls_jpegls_decoder_get_frame_info", a.frame_info) &&
           Load(lib, "charls_jpegls_decoder_get_interleave_mode", a.interleave) &&
           Load(lib, "charls_jpegls_decoder_get_destination_size", a.destination_size) &&
           Load(lib, "charls_jpegls_decoder_decode_to_buffer", a.decode) &&
           Load(lib, "charls_get_error_message", a.message);
    return a;
  }();
  return api;
}

}  // namespace

bool HaveCharls() { return Api().ok; }

Result<RawFrame> DecodeWithCharls(const PixelAttributes& a, std::span<const uint8_t> frame) {
  const CharlsApi& api = Api();
  if (!api.ok) return Status::Unsupported("libcharls.so.2 not available");
  struct Decoder {
    const CharlsApi& api;
    void* d;
    ~Decoder() {
      if (d) api.destroy(d);
    }
  } dec{api, api.create()};
  if (dec.d == nullptr) return Status::Internal("charls_jpegls_decoder_create failed");
  const auto fail = [&api](const char* what, Errc e) {
    return Status::DataLoss(std::string("JPEG-LS ") + what + ": " + api.message(e));
  };
  CharlsFrameInfo info{};
  InterleaveMode mode = 0;
  Errc e = api.set_source(dec.d, frame.data(), frame.size());
  if (e == 0) e = api.read_header(dec.d);
  if (e == 0) e = api.frame_info(dec.d, &info);
  if (e == 0) e = api.interleave(dec.d, &mode);
  if (e != 0) return fail("header", e);
  // Check the geometry before allocating what the header asks for.
  if (info.width != a.columns || info.height != a.rows ||
      info.component_count != static_cast<int32_t>(a.samples) || info.bits_per_sample > 16) {
    return Status::DataLoss(
        "JPEG-LS frame is " + std::to_string(info.width) + "x" + std::to_string(info.height) + "x" +
        std::to_string(info.component_count) + " at " + std::to_string(info.bits_per_sample) +
        " bits; the dataset says " + std::to_string(a.columns) + "x" + std::to_string(a.rows) +
        "x" + std::to_string(a.samples));
  }
  size_t size = 0;
  if ((e = api.destination_size(dec.d, 0, &size)) != 0) return fail("size", e);
  RawFrame raw;
  raw.bytes_per_sample = info.bits_per_sample > 8 ? 2 : 1;
  raw.data.resize(size);
  if ((e = api.decode(dec.d, raw.data.data(), size, 0)) != 0) return fail("decode", e);
  raw.planar = a.samples > 1 && mode == 0;
  raw.photometric = a.photometric;
  return raw;
}

}  // namespace dcmfs::codecs_internal
