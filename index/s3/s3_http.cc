// libcurl transport for S3 (s3_http.h).
//
// Why these choices:
// - Signing is libcurl's CURLOPT_AWS_SIGV4. libcurl 7.88 signs the query
//   string as given, so callers pass it already canonical (sorted, encoded).
//   radosgw rejects a SigV4 request without x-amz-content-sha256, which curl
//   7.88 does not add by itself; UNSIGNED-PAYLOAD lets bodies stream.
// - Connection reuse: easy handles are kept in a pool; curl_easy_reset keeps
//   a handle's live connections, so the next request skips the TCP set-up.
// - Bounded waits: every attempt gets what is left of settings.timeout_ms as
//   its connect timeout and as its stall limit (no byte moving either way),
//   so a frozen gateway that accepts connections but never answers costs at
//   most that budget, plus up to a second of curl's progress-callback period.
// - A store that just stopped answering is probed, not waited for: once a
//   request has given up on transport failures (no answer at all), requests in
//   the next kUnreachableHold get one attempt of at most kProbeBudget. An
//   `ls -l` of a folder whose derived files each need the store would
//   otherwise wait the full budget once per file (28 s for the slide folder
//   at a 3 s budget); any answer from the gateway ends the hold, so recovery
//   is as quick as before.
#include "index/s3/s3_http.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "index/s3/s3_xml.h"

namespace dcmfs::s3 {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxErrorBody = 64 * 1024;
constexpr size_t kMaxIdleHandles = 32;
constexpr auto kUnreachableHold = std::chrono::seconds(30);
constexpr auto kProbeBudget = std::chrono::milliseconds(1000);

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// State of one attempt, shared with curl's callbacks.
struct Transfer {
  CURL* handle = nullptr;
  const Body* body = nullptr;
  uint64_t sent = 0;
  Response* response = nullptr;
  std::span<uint8_t> into;
  bool use_into = false;
  Clock::time_point last_progress;
  curl_off_t last_down = 0, last_up = 0;
  Clock::duration stall_limit{};
  bool stalled = false;
  bool read_failed = false;
  int* socket = nullptr;  // the handle's connection (Http::Impl::sockets), for AckNow
};

size_t ReadBody(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const uint64_t left = t->body->length() - t->sent;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(left, size * count));
  if (n == 0) return 0;
  if (t->body->fd >= 0) {
    ssize_t got;
    do {
      got = ::pread(t->body->fd, buffer, n, static_cast<off_t>(t->body->file_offset + t->sent));
    } while (got < 0 && errno == EINTR);
    if (got <= 0) {
      t->read_failed = true;
      return CURL_READFUNC_ABORT;
    }
    t->sent += static_cast<uint64_t>(got);
    return static_cast<size_t>(got);
  }
  std::memcpy(buffer, t->body->memory.data() + t->sent, n);
  t->sent += n;
  return n;
}

// ACKs what has arrived at once. A gateway that writes a reply in pieces
// with Nagle on (radosgw does) holds its last piece until the previous one
// is ACKed, and on a reused connection Linux delays that ACK by up to 40 ms:
// measured here, every GET on a kept-alive connection to radosgw took ~45 ms
// (2 ms on a fresh one). TCP_QUICKACK is not sticky, so it is set again each
// time data arrives. A hint: failure changes nothing but speed.
// The handle's socket is remembered from CURLOPT_SOCKOPTFUNCTION (called
// for each new connection; CURLINFO_ACTIVESOCKET answers only after a
// transfer). A stale descriptor gets a harmless, ignored setsockopt.
void AckNow(const Transfer* t) {
  const int fd = t->socket != nullptr ? *t->socket : -1;
  if (fd < 0) return;
  const int one = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

int RememberSocket(void* user, curl_socket_t fd, curlsocktype) {
  auto* t = static_cast<Transfer*>(user);
  if (t->socket != nullptr) *t->socket = static_cast<int>(fd);
  return CURL_SOCKOPT_OK;
}

size_t WriteReply(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  AckNow(t);
  const size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
  Response& r = *t->response;
  if (t->use_into && status >= 200 && status < 300) {
    const size_t room = t->into.size() - r.received_into;
    const size_t take = std::min(room, n);
    std::memcpy(t->into.data() + r.received_into, data, take);
    r.received_into += take;  // a server ignoring Range would send more: dropped
    return n;
  }
  if (t->use_into || status >= 300) {
    if (r.body.size() < kMaxErrorBody) r.body.append(data, std::min(n, kMaxErrorBody - r.body.size()));
    return n;
  }
  r.body.append(data, n);
  return n;
}

size_t ReadHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  AckNow(t);
  const size_t n = size * count;
  std::string_view line(data, n);
  if (line.size() > 5 && strncasecmp(line.data(), "etag:", 5) == 0) {
    std::string v(line.substr(5));
    v.erase(0, v.find_first_not_of(" \t"));
    v.erase(v.find_last_not_of(" \t\r\n") + 1);
    t->response->etag = v;
  } else if (line.size() > 14 && strncasecmp(line.data(), "content-range:", 14) == 0) {
    // "Content-Range: bytes 100-611/612": the total follows the slash.
    const size_t slash = line.find('/');
    if (slash != std::string_view::npos) {
      uint64_t total = 0;
      bool digits = false;
      for (size_t i = slash + 1; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) {
        total = total * 10 + static_cast<uint64_t>(line[i] - '0');
        digits = true;
      }
      if (digits) t->response->range_total = total;
    }
  }
  return n;
}

int Progress(void* user, curl_off_t, curl_off_t down, curl_off_t, curl_off_t up) {
  auto* t = static_cast<Transfer*>(user);
  const auto now = Clock::now();
  if (down != t->last_down || up != t->last_up) {
    t->last_down = down;
    t->last_up = up;
    t->last_progress = now;
    return 0;
  }
  if (now - t->last_progress > t->stall_limit) {
    t->stalled = true;
    return 1;  // aborts the transfer with CURLE_ABORTED_BY_CALLBACK
  }
  return 0;
}

bool TransientCurlError(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_ABORTED_BY_CALLBACK:  // our stall limit
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

bool TransientStatus(long status) { return status >= 500 || status == 429 || status == 408; }

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

struct Http::Impl {
  S3Settings settings;
  std::string sigv4;    // "aws:amz:REGION:s3"
  std::string base;     // endpoint without trailing '/' + "/" + bucket
  mutable std::mutex mu;
  mutable std::vector<CURL*> idle;  // GUARDED_BY(mu)
  // Each handle's current socket (set by RememberSocket); one user per handle at a time.
  mutable std::map<CURL*, int> sockets;  // GUARDED_BY(mu) (the map; a slot by its handle's user)
  mutable std::atomic<uint64_t> bytes_received{0};
  mutable std::atomic<uint64_t> requests{0};
  // Until when requests only probe (steady clock ns; 0: the store answers).
  mutable std::atomic<int64_t> unreachable_until{0};

  CURL* Take() const {
    {
      std::lock_guard lock(mu);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }
  void Give(CURL* h) const {
    std::lock_guard lock(mu);
    if (idle.size() < kMaxIdleHandles) {
      idle.push_back(h);
      return;
    }
    sockets.erase(h);
    curl_easy_cleanup(h);
  }

  // One attempt; `code` is curl's result, response->status the HTTP status.
  CURLcode Once(CURL* h, const Request& req, Response* response, Clock::duration budget,
                bool* stalled) const;
};

CURLcode Http::Impl::Once(CURL* h, const Request& req, Response* response,
                          Clock::duration budget, bool* stalled) const {
  curl_easy_reset(h);
  Transfer t;
  t.handle = h;
  {
    std::lock_guard lock(mu);
    t.socket = &sockets.try_emplace(h, -1).first->second;  // map nodes stay put
  }
  curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, &RememberSocket);
  curl_easy_setopt(h, CURLOPT_SOCKOPTDATA, &t);
  t.body = &req.body;
  t.response = response;
  t.into = req.into;
  t.use_into = req.use_into;
  t.last_progress = Clock::now();
  t.stall_limit = std::max<Clock::duration>(budget, std::chrono::milliseconds(200));
  std::string url = base;
  if (!req.key.empty()) url += "/" + UriEncode(req.key, /*keep_slash=*/true);
  if (!req.query.empty()) url += "?" + req.query;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(h, CURLOPT_USERNAME, settings.access_key.c_str());
  curl_easy_setopt(h, CURLOPT_PASSWORD, settings.secret_key.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  const long budget_ms = static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.stall_limit).count());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, budget_ms);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &Progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteReply);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &ReadHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
  // No blank "Expect:"/"Content-Type:" overrides here: curl 7.88 signs the
  // headers of this list, blank ones included, which the gateway then
  // cannot match (403).
  if (!req.content_type.empty()) {
    headers = curl_slist_append(headers, ("Content-Type: " + req.content_type).c_str());
  }
  const std::string method = req.method;
  if (method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (method == "PUT") {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body.length()));
    curl_easy_setopt(h, CURLOPT_READFUNCTION, &ReadBody);
    curl_easy_setopt(h, CURLOPT_READDATA, &t);
  } else if (method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.length()));
    curl_easy_setopt(h, CURLOPT_READFUNCTION, &ReadBody);
    curl_easy_setopt(h, CURLOPT_READDATA, &t);
  } else if (method == "DELETE") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
  }
  std::string range;
  if (req.suffix) {
    range = "-" + std::to_string(*req.suffix);
    curl_easy_setopt(h, CURLOPT_RANGE, range.c_str());
  } else if (req.range) {
    range = std::to_string(req.range->first) + "-" + std::to_string(req.range->second);
    curl_easy_setopt(h, CURLOPT_RANGE, range.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  requests.fetch_add(1, std::memory_order_relaxed);
  const CURLcode code = curl_easy_perform(h);
  curl_slist_free_all(headers);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response->status);
  curl_off_t length = -1;
  if (curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK && length >= 0) {
    response->content_length = static_cast<uint64_t>(length);
  }
  curl_off_t down = 0;
  if (curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &down) == CURLE_OK && down > 0) {
    bytes_received.fetch_add(static_cast<uint64_t>(down), std::memory_order_relaxed);
  }
  *stalled = t.stalled;
  if (t.read_failed) return CURLE_READ_ERROR;
  return code;
}

Http::Http(const S3Settings& settings) : impl_(std::make_unique<Impl>()) {
  GlobalInit();
  impl_->settings = settings;
  impl_->sigv4 = "aws:amz:" + settings.region + ":s3";
  std::string endpoint = settings.endpoint;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  impl_->base = endpoint + "/" + settings.bucket;
}

Http::~Http() {
  for (CURL* h : impl_->idle) curl_easy_cleanup(h);
}

uint64_t Http::bytes_received() const { return impl_->bytes_received.load(); }
uint64_t Http::requests() const { return impl_->requests.load(); }

Result<Response> Http::Perform(const Request& request, const std::string& what) const {
  const auto start = Clock::now();
  const bool probe = start.time_since_epoch().count() < impl_->unreachable_until.load();
  const auto budget = std::chrono::milliseconds(impl_->settings.timeout_ms);
  const auto deadline = start + (probe ? std::min<Clock::duration>(budget, kProbeBudget) : budget);
  const int retries = probe ? 0 : impl_->settings.retries;
  std::string last_error;
  for (int attempt = 0;; ++attempt) {
    Response response;
    response.attempts = attempt + 1;
    bool stalled = false;
    CURL* h = impl_->Take();
    if (h == nullptr) return Status::IoError(what + ": cannot create an HTTP handle");
    const CURLcode code = impl_->Once(h, request, &response, deadline - Clock::now(), &stalled);
    impl_->Give(h);
    if (code == CURLE_OK) impl_->unreachable_until.store(0);  // the gateway answers
    if (code == CURLE_OK && !TransientStatus(response.status)) return response;
    if (code == CURLE_READ_ERROR) return Status::IoError(what + ": reading the upload's source failed");
    if (code != CURLE_OK && !TransientCurlError(code)) {
      return Status::IoError(what + ": " + curl_easy_strerror(code));
    }
    if (code != CURLE_OK) {
      last_error = stalled ? "no answer (stalled)" : curl_easy_strerror(code);
    } else {
      last_error = "HTTP " + std::to_string(response.status);
      if (auto c = s3xml::Tag(response.body, "Code")) last_error += " " + *c;
    }
    const auto backoff = std::chrono::milliseconds(100) * (1 << std::min(attempt, 10));
    const auto now = Clock::now();
    if (attempt >= retries || now + backoff >= deadline) {
      // Only a full budget spent on transport failures starts a hold: a
      // probe's failure does not extend it, so a gateway that is slow but
      // alive gets a whole budget again when the hold ends.
      if (code != CURLE_OK && !probe) {
        impl_->unreachable_until.store((now + kUnreachableHold).time_since_epoch().count());
      }
      const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now - start);
      return Status::IoError(what + ": " + last_error + " (gave up after " +
                             std::to_string(attempt + 1) + " attempts in " +
                             std::to_string(waited.count()) + " ms" +
                             (probe ? "; the store did not answer recently" : "") + ")");
    }
    std::this_thread::sleep_for(backoff);
  }
}

}  // namespace dcmfs::s3
