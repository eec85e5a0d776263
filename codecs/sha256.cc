#include "codecs/sha256.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/check.h"

namespace dcmfs {

Digest Sha256(std::span<const uint8_t> bytes) {
  Digest out{};
  unsigned int len = 0;
  CHECK(EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr) == 1);
  return out;
}

std::string ToHex(const Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(64, '0');
  for (size_t i = 0; i < digest.size(); ++i) {
    s[2 * i] = kHex[digest[i] >> 4];
    s[2 * i + 1] = kHex[digest[i] & 15];
  }
  return s;
}

std::optional<Digest> DigestFromHex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Digest d{};
  for (size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    d[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return d;
}

Digest HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> message) {
  Digest out{};
  unsigned int len = 0;
  CHECK(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), message.data(),
             message.size(), out.data(), &len) != nullptr);
  return out;
}

struct Sha256Stream::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256Stream::Sha256Stream() : impl_(std::make_unique<Impl>()) {
  CHECK(impl_->ctx != nullptr && EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) == 1);
}
Sha256Stream::~Sha256Stream() = default;

void Sha256Stream::Update(std::span<const uint8_t> bytes) {
  CHECK(EVP_DigestUpdate(impl_->ctx, bytes.data(), bytes.size()) == 1);
}

Digest Sha256Stream::Finish() {
  Digest out{};
  unsigned int len = 0;
  CHECK(EVP_DigestFinal_ex(impl_->ctx, out.data(), &len) == 1);
  return out;
}

}  // namespace dcmfs
