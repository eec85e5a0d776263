// One signed S3 HTTP exchange with retries: the transport under
// s3_object_store.cc. libcurl stays inside s3_http.cc.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "base/status.h"
#include "index/store_config.h"

namespace dcmfs::s3 {

// What to send: nothing, bytes in memory, or a region of an open file.
struct Body {
  std::span<const uint8_t> memory;
  int fd = -1;  // when >= 0, `size` bytes at `file_offset` of this file
  uint64_t file_offset = 0;
  uint64_t size = 0;
  bool present() const { return fd >= 0 || !memory.empty(); }
  uint64_t length() const { return fd >= 0 ? size : memory.size(); }
};

struct Request {
  const char* method = "GET";  // GET PUT POST DELETE HEAD
  std::string key;             // full object key (prefix included); "" = the bucket
  std::string query;           // canonical: names sorted, values URI-encoded ("" = none)
  Body body;
  std::string content_type;    // sent when not empty
  std::optional<std::pair<uint64_t, uint64_t>> range;  // inclusive byte range
  std::optional<uint64_t> suffix;  // "Range: bytes=-N": the last N bytes (instead of `range`)
  // GET into this buffer (up to its size) instead of Response::body.
  std::span<uint8_t> into;
  bool use_into = false;
};

struct Response {
  long status = 0;
  std::string body;  // the reply (or, for `into` GETs, the error reply)
  size_t received_into = 0;
  std::string etag;
  std::optional<uint64_t> content_length;
  std::optional<uint64_t> range_total;  // the object size after '/' in a Content-Range reply
  int attempts = 0;
};

// Percent-encodes all but A-Z a-z 0-9 - _ . ~ (and '/' when keep_slash), as SigV4 wants.
std::string UriEncode(std::string_view s, bool keep_slash);

class Http {
 public:
  explicit Http(const S3Settings& settings);
  ~Http();
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  // Performs `request`, retrying transient failures within the settings'
  // budget. Returns the final response for any HTTP status below 500 (the
  // caller interprets 4xx); IoError naming `what` after the retries.
  Result<Response> Perform(const Request& request, const std::string& what) const;

  uint64_t bytes_received() const;
  uint64_t requests() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dcmfs::s3
