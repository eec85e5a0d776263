// PNG through libpng's simplified API (png_image_*: no setjmp/longjmp error
// handling to get wrong), JPEG through TurboJPEG (tjCompress2/tjDecompress2),
// WebP through libwebp's one-call API.
#include "codecs/image_encode.h"

#include <png.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <webp/encode.h>

#include <cstring>
#include <limits>
#include <memory>

namespace dcmfs {
namespace {

Status CheckView(const RasterView& image) {
  if (image.pixels == nullptr || image.width == 0 || image.height == 0) {
    return Status::InvalidArgument("image encode: empty image");
  }
  if (image.channels != 1 && image.channels != 3) {
    return Status::InvalidArgument("image encode: " + std::to_string(image.channels) +
                                   " channels (1 or 3 supported)");
  }
  // TurboJPEG and libpng take int dimensions; JPEG itself is limited to 65535.
  if (image.width > 65535 || image.height > 65535) {
    return Status::InvalidArgument("image encode: " + std::to_string(image.width) + "x" +
                                   std::to_string(image.height) + " exceeds 65535");
  }
  if (image.stride != 0 && image.stride < size_t{image.width} * image.channels) {
    return Status::InvalidArgument("image encode: stride shorter than a row");
  }
  return Status::Ok();
}

size_t Stride(const RasterView& image) {
  return image.stride != 0 ? image.stride : size_t{image.width} * image.channels;
}

struct TjDeleter {
  void operator()(void* handle) const { tjDestroy(handle); }
};
using TjHandle = std::unique_ptr<void, TjDeleter>;

std::string TjError(const char* what, void* handle) {
  return std::string("libjpeg-turbo ") + what + ": " + tjGetErrorStr2(handle);
}

}  // namespace

Result<std::string> EncodePng(const RasterView& image) {
  RETURN_IF_ERROR(CheckView(image));
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = image.width;
  png.height = image.height;
  png.format = image.channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  const auto stride = static_cast<png_int_32>(Stride(image));
  png_alloc_size_t size = 0;
  // First call sizes the output, second writes it (libpng 1.6 manual, "simplified API").
  if (!png_image_write_to_memory(&png, nullptr, &size, 0, image.pixels, stride, nullptr)) {
    std::string message = std::string("libpng: ") + png.message;
    png_image_free(&png);
    return Status::Internal(message);
  }
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&png, out.data(), &size, 0, image.pixels, stride, nullptr)) {
    std::string message = std::string("libpng: ") + png.message;
    png_image_free(&png);
    return Status::Internal(message);
  }
  out.resize(size);
  return out;
}

Result<std::string> EncodeJpeg(const RasterView& image, int quality) {
  RETURN_IF_ERROR(CheckView(image));
  if (quality < 1 || quality > 100) {
    return Status::InvalidArgument("jpeg encode: quality " + std::to_string(quality));
  }
  TjHandle handle(tjInitCompress());
  if (!handle) return Status::Internal("libjpeg-turbo: tjInitCompress failed");
  const bool gray = image.channels == 1;
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(handle.get(), image.pixels, static_cast<int>(image.width),
                             static_cast<int>(Stride(image)), static_cast<int>(image.height),
                             gray ? TJPF_GRAY : TJPF_RGB, &buffer, &size,
                             gray ? TJSAMP_GRAY : TJSAMP_420, quality, TJFLAG_ACCURATEDCT);
  if (rc != 0) {
    std::string message = TjError("compress", handle.get());
    tjFree(buffer);
    return Status::Internal(message);
  }
  std::string out(reinterpret_cast<const char*>(buffer), size);
  tjFree(buffer);
  return out;
}

Result<std::string> EncodeWebp(const RasterView& image, int quality) {
  RETURN_IF_ERROR(CheckView(image));
  if (image.width > WEBP_MAX_DIMENSION || image.height > WEBP_MAX_DIMENSION) {
    return Status::InvalidArgument("webp encode: larger than 16383 pixels");
  }
  const uint8_t* rgb = image.pixels;
  size_t stride = Stride(image);
  std::vector<uint8_t> expanded;
  if (image.channels == 1) {  // WebP has no gray mode: replicate the channel.
    expanded.resize(size_t{image.width} * image.height * 3);
    for (uint32_t y = 0; y < image.height; ++y) {
      const uint8_t* src = image.pixels + y * stride;
      uint8_t* dst = expanded.data() + size_t{y} * image.width * 3;
      for (uint32_t x = 0; x < image.width; ++x) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = src[x];
    }
    rgb = expanded.data();
    stride = size_t{image.width} * 3;
  }
  uint8_t* buffer = nullptr;
  const size_t size = WebPEncodeRGB(rgb, static_cast<int>(image.width), static_cast<int>(image.height),
                                    static_cast<int>(stride), static_cast<float>(quality), &buffer);
  if (size == 0) {
    WebPFree(buffer);
    return Status::Internal("libwebp: encoding failed");
  }
  std::string out(reinterpret_cast<const char*>(buffer), size);
  WebPFree(buffer);
  return out;
}

Result<JpegHeader> ReadJpegHeader(std::span<const uint8_t> bytes) {
  if (bytes.empty() || bytes.size() > std::numeric_limits<unsigned long>::max()) {
    return Status::DataLoss("jpeg: empty");
  }
  TjHandle handle(tjInitDecompress());
  if (!handle) return Status::Internal("libjpeg-turbo: tjInitDecompress failed");
  int width = 0, height = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(handle.get(), bytes.data(), bytes.size(), &width, &height, &subsamp,
                          &colorspace) != 0) {
    return Status::DataLoss(TjError("header", handle.get()));
  }
  JpegHeader header;
  header.width = static_cast<uint32_t>(width);
  header.height = static_cast<uint32_t>(height);
  header.channels = colorspace == TJCS_GRAY ? 1 : 3;
  return header;
}

Result<Raster> DecodeJpeg(std::span<const uint8_t> bytes) {
  ASSIGN_OR_RETURN(JpegHeader header, ReadJpegHeader(bytes));
  TjHandle handle(tjInitDecompress());
  if (!handle) return Status::Internal("libjpeg-turbo: tjInitDecompress failed");
  Raster raster;
  raster.width = header.width;
  raster.height = header.height;
  raster.channels = header.channels;
  raster.pixels.resize(size_t{raster.width} * raster.height * raster.channels);
  if (tjDecompress2(handle.get(), bytes.data(), bytes.size(), raster.pixels.data(),
                    static_cast<int>(raster.width), 0, static_cast<int>(raster.height),
                    raster.channels == 1 ? TJPF_GRAY : TJPF_RGB, TJFLAG_ACCURATEDCT) != 0) {
    return Status::DataLoss(TjError("decompress", handle.get()));
  }
  return raster;
}

Result<Raster> DecodePng(std::span<const uint8_t> bytes) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
    std::string message = std::string("png: ") + png.message;
    png_image_free(&png);
    return Status::DataLoss(message);
  }
  const bool gray = (png.format & PNG_FORMAT_FLAG_COLOR) == 0;
  png.format = gray ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;  // alpha is composed away
  Raster raster;
  raster.width = png.width;
  raster.height = png.height;
  raster.channels = gray ? 1 : 3;
  raster.pixels.resize(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, raster.pixels.data(), 0, nullptr)) {
    std::string message = std::string("png: ") + png.message;
    png_image_free(&png);
    return Status::DataLoss(message);
  }
  return raster;
}

Result<Raster> DecodeWebp(std::span<const uint8_t> bytes) {
  int width = 0, height = 0;
  if (!WebPGetInfo(bytes.data(), bytes.size(), &width, &height)) {
    return Status::DataLoss("webp: not a WebP image");
  }
  Raster raster;
  raster.width = static_cast<uint32_t>(width);
  raster.height = static_cast<uint32_t>(height);
  raster.channels = 3;
  raster.pixels.resize(size_t{raster.width} * raster.height * 3);
  if (WebPDecodeRGBInto(bytes.data(), bytes.size(), raster.pixels.data(), raster.pixels.size(),
                        width * 3) == nullptr) {
    return Status::DataLoss("webp: decoding failed");
  }
  return raster;
}

}  // namespace dcmfs
