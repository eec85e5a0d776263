// SHA-256 (OpenSSL EVP). A Digest is the 32 raw bytes; hex for names.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace dcmfs {

using Digest = std::array<uint8_t, 32>;

Digest Sha256(std::span<const uint8_t> bytes);
inline Digest Sha256(std::string_view s) {
  return Sha256(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

// Lowercase hex, 64 characters.
std::string ToHex(const Digest& digest);
// nullopt unless `hex` is exactly 64 hex digits.
std::optional<Digest> DigestFromHex(std::string_view hex);

// HMAC-SHA256(key, message).
Digest HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> message);

// Incremental hashing for streams. Not thread-safe.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::span<const uint8_t> bytes);
  Digest Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dcmfs
