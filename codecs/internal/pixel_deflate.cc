#include "codecs/internal/pixel_deflate.h"

#include <zlib.h>

#include <string>

namespace dcmfs::codecs_internal {

Result<std::vector<uint8_t>> InflateFrame(std::span<const uint8_t> frame, uint64_t expected) {
  if (frame.size() > UINT32_MAX || expected > (uint64_t{1} << 31)) {
    return Status::Unsupported("deflated frame too large");
  }
  std::vector<uint8_t> out(expected + 2);  // room to notice a longer stream
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return Status::Internal("inflateInit2 failed");
  z.next_in = const_cast<Bytef*>(frame.data());
  z.avail_in = static_cast<uInt>(frame.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  const uint64_t got = z.total_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
    return Status::DataLoss(std::string("deflated frame: ") + (z.msg ? z.msg : "inflate failed"));
  }
  if (got < expected) {
    return Status::DataLoss("deflated frame inflates to " + std::to_string(got) +
                            " bytes, the frame needs " + std::to_string(expected));
  }
  out.resize(expected);
  return out;
}

}  // namespace dcmfs::codecs_internal
