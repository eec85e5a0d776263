// S3 operations over the signed transport (s3_http.h); see s3_object_store.h.
#include "index/s3/s3_object_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "index/s3/s3_http.h"
#include "index/s3/s3_xml.h"

namespace dcmfs {
namespace {

// Closes a descriptor on scope exit.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

class S3ObjectStore final : public ObjectStore {
 public:
  explicit S3ObjectStore(const S3Settings& settings) : settings_(settings), http_(settings) {}

  Status Put(const std::string& key, std::span<const uint8_t> bytes) override {
    s3::Request req;
    req.method = "PUT";
    req.key = Full(key);
    req.body.memory = bytes;
    return Expect2xx(req, key);
  }

  Status PutFile(const std::string& key, const std::string& path) override;

  Result<std::string> Get(const std::string& key) const override {
    s3::Request req;
    req.key = Full(key);
    ASSIGN_OR_RETURN(s3::Response r, http_.Perform(req, Describe(key)));
    if (r.status == 404) return Status::NotFound(Describe(key));
    if (r.status != 200) return HttpError(key, r);
    return std::move(r.body);
  }

  Result<size_t> GetRange(const std::string& key, uint64_t offset,
                          std::span<uint8_t> out) const override {
    if (out.empty()) return size_t{0};
    s3::Request req;
    req.key = Full(key);
    req.range = {offset, offset + out.size() - 1};
    req.into = out;
    req.use_into = true;
    ASSIGN_OR_RETURN(s3::Response r, http_.Perform(req, Describe(key)));
    if (r.status == 404) return Status::NotFound(Describe(key));
    if (r.status == 416) return size_t{0};  // offset at or past the end
    if (r.status == 200 && offset != 0) {
      // A server that ignored the Range header sent the whole object from 0.
      return Status::IoError(Describe(key) + ": the store ignored a Range request");
    }
    if (r.status != 206 && r.status != 200) return HttpError(key, r);
    return r.received_into;
  }

  Result<std::optional<uint64_t>> Head(const std::string& key) const override {
    s3::Request req;
    req.method = "HEAD";
    req.key = Full(key);
    ASSIGN_OR_RETURN(s3::Response r, http_.Perform(req, Describe(key)));
    if (r.status == 404) return std::optional<uint64_t>();
    if (r.status != 200) return HttpError(key, r);
    if (!r.content_length) return Status::IoError(Describe(key) + ": HEAD without a length");
    return std::optional<uint64_t>(*r.content_length);
  }

  // One suffix-range GET: the reply's Content-Range says the object's size.
  Result<ObjectTail> GetTail(const std::string& key, size_t n) const override {
    if (n == 0) return ObjectStore::GetTail(key, n);
    ObjectTail tail;
    tail.bytes.resize(n);
    s3::Request req;
    req.key = Full(key);
    req.suffix = n;
    req.into = {reinterpret_cast<uint8_t*>(tail.bytes.data()), n};
    req.use_into = true;
    ASSIGN_OR_RETURN(s3::Response r, http_.Perform(req, Describe(key)));
    if (r.status == 404) return Status::NotFound(Describe(key));
    if (r.status == 416) return ObjectStore::GetTail(key, n);  // an empty object
    if (r.status != 206 && r.status != 200) return HttpError(key, r);
    tail.bytes.resize(r.received_into);
    if (r.status == 206 && r.range_total) {
      tail.size = *r.range_total;
    } else if (r.status == 200 && r.content_length && *r.content_length == r.received_into) {
      tail.size = r.received_into;  // the whole (short) object
    } else {
      return Status::IoError(Describe(key) + ": a suffix range reply without the object's size");
    }
    if (tail.bytes.size() != std::min<uint64_t>(n, tail.size)) {
      return Status::IoError(Describe(key) + ": suffix range reply of the wrong length");
    }
    return tail;
  }

  Status List(const std::string& prefix, const std::string& start_after,
              const std::function<bool(const ObjectInfo&)>& visit) const override;
  Result<size_t> AbortIncompleteUploads(const std::string& prefix) override;

  Status Delete(const std::string& key) override {
    s3::Request req;
    req.method = "DELETE";
    req.key = Full(key);
    ASSIGN_OR_RETURN(s3::Response r, http_.Perform(req, Describe(key)));
    if (r.status == 404 || (r.status >= 200 && r.status < 300)) return Status::Ok();
    return HttpError(key, r);
  }

  std::string Describe(const std::string& key) const override {
    return "s3://" + settings_.bucket + "/" + Full(key);
  }

 private:
  std::string Full(const std::string& key) const { return settings_.prefix + key; }

  Status HttpError(const std::string& key, const s3::Response& r) const {
    std::string m = Describe(key) + ": HTTP " + std::to_string(r.status);
    if (auto code = s3xml::Tag(r.body, "Code")) m += " " + *code;
    return Status::IoError(m);
  }

  Status Expect2xx(const s3::Request& req, const std::string& key) {
    ASSIGN_OR_RETURN(s3::Response r, http_.Perform(req, Describe(key)));
    if (r.status >= 200 && r.status < 300) return Status::Ok();
    return HttpError(key, r);
  }

  Status Multipart(const std::string& key, int fd, uint64_t size);
  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id, int part,
                                 int fd, uint64_t offset, uint64_t length);
  Result<std::vector<std::string>> UploadParts(const std::string& key,
                                               const std::string& upload_id, int fd,
                                               uint64_t size, uint64_t part_size);

  S3Settings settings_;
  s3::Http http_;
};

Status S3ObjectStore::PutFile(const std::string& key, const std::string& path) {
  FdCloser fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) return Status::FromErrno(path, errno);
  struct stat st;
  if (::fstat(fd.fd, &st) != 0) return Status::FromErrno(path, errno);
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size > settings_.multipart_threshold) return Multipart(key, fd.fd, size);
  s3::Request req;
  req.method = "PUT";
  req.key = Full(key);
  req.body.fd = fd.fd;
  req.body.size = size;
  return Expect2xx(req, key);
}

Result<std::string> S3ObjectStore::UploadPart(const std::string& key, const std::string& upload_id,
                                              int part, int fd, uint64_t offset, uint64_t length) {
  s3::Request req;
  req.method = "PUT";
  req.key = Full(key);
  // Canonical order: partNumber before uploadId.
  req.query = "partNumber=" + std::to_string(part) + "&uploadId=" + s3::UriEncode(upload_id, false);
  req.body.fd = fd;
  req.body.file_offset = offset;
  req.body.size = length;
  const std::string what = Describe(key) + " part " + std::to_string(part);
  ASSIGN_OR_RETURN(s3::Response r, http_.Perform(req, what));
  if (r.status != 200) return HttpError(key, r).WithContext("part " + std::to_string(part));
  if (r.etag.empty()) return Status::IoError(what + ": no ETag in the reply");
  return r.etag;
}

// Every part of the file, settings.parallel_parts in flight; each worker
// takes the next part number until all are up or one fails (the others then
// finish the part they hold and stop). The ETags in part order.
Result<std::vector<std::string>> S3ObjectStore::UploadParts(const std::string& key,
                                                            const std::string& upload_id, int fd,
                                                            uint64_t size, uint64_t part_size) {
  const auto parts = static_cast<int>((size + part_size - 1) / part_size);
  std::vector<std::string> etags(static_cast<size_t>(parts));
  std::atomic<int> next{0};
  std::mutex mu;
  Status failure;  // GUARDED_BY(mu): the first failure
  std::atomic<bool> failed{false};
  auto work = [&] {
    for (int i = next++; i < parts && !failed; i = next++) {
      const uint64_t offset = static_cast<uint64_t>(i) * part_size;
      auto etag = UploadPart(key, upload_id, i + 1, fd, offset, std::min(part_size, size - offset));
      if (etag.ok()) {
        etags[static_cast<size_t>(i)] = std::move(etag).value();
        continue;
      }
      std::lock_guard lock(mu);
      if (failure.ok()) failure = etag.status();
      failed = true;
    }
  };
  const int workers = std::clamp(settings_.parallel_parts, 1, parts);
  std::vector<std::thread> threads;
  for (int w = 1; w < workers; ++w) {
    try {
      threads.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // no thread to spare: fewer parts in flight, same result
    }
  }
  work();  // this thread is one of the workers
  for (std::thread& t : threads) t.join();
  if (failed) return failure;
  return etags;
}

// Initiate, upload parts, complete; abort on any failure so the store does
// not keep orphaned parts. Parts go up settings.parallel_parts at a time:
// one connection to a gateway is limited by its latency and by the
// gateway's per-request work, not by the link, so a few in flight fill the
// link better (bench/run_s3.sh). Memory stays at curl's buffers: each part
// is read from the file (pread, so the workers share the descriptor).
Status S3ObjectStore::Multipart(const std::string& key, int fd, uint64_t size) {
  s3::Request init;
  init.method = "POST";
  init.key = Full(key);
  init.query = "uploads=";
  ASSIGN_OR_RETURN(s3::Response r, http_.Perform(init, Describe(key)));
  if (r.status != 200) return HttpError(key, r).WithContext("starting a multipart upload");
  const std::optional<std::string> upload_id = s3xml::Tag(r.body, "UploadId");
  if (!upload_id || upload_id->empty()) {
    return Status::IoError(Describe(key) + ": multipart upload started without an UploadId");
  }
  const std::string id_query = "uploadId=" + s3::UriEncode(*upload_id, false);
  auto abort = [&](Status why) {
    s3::Request del;
    del.method = "DELETE";
    del.key = Full(key);
    del.query = id_query;
    (void)http_.Perform(del, Describe(key));  // best effort: the failure that led here matters
    return why;
  };
  const uint64_t part_size = std::max<uint64_t>(settings_.part_size, 5ull << 20);
  auto etags = UploadParts(key, *upload_id, fd, size, part_size);
  if (!etags.ok()) return abort(etags.status());
  std::string complete = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags->size(); ++i) {
    complete += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
                s3xml::EncodeEntities((*etags)[i]) + "</ETag></Part>";
  }
  complete += "</CompleteMultipartUpload>";
  s3::Request done;
  done.method = "POST";
  done.key = Full(key);
  done.query = id_query;
  done.content_type = "application/xml";
  done.body.memory = {reinterpret_cast<const uint8_t*>(complete.data()), complete.size()};
  auto finished = http_.Perform(done, Describe(key));
  if (!finished.ok()) return abort(finished.status());
  // S3 may answer 200 and still report an error in the body.
  if (finished->status != 200 || finished->body.find("<Error>") != std::string::npos) {
    return abort(HttpError(key, *finished).WithContext("completing a multipart upload"));
  }
  return Status::Ok();
}

Status S3ObjectStore::List(const std::string& prefix, const std::string& start_after,
                           const std::function<bool(const ObjectInfo&)>& visit) const {
  std::string token;
  const std::string what = Describe(prefix) + " (list)";
  while (true) {
    // Query names in SigV4's canonical (byte) order.
    std::string q;
    if (!token.empty()) q += "continuation-token=" + s3::UriEncode(token, false) + "&";
    q += "list-type=2&max-keys=" + std::to_string(settings_.list_page_size);
    q += "&prefix=" + s3::UriEncode(Full(prefix), false);
    if (!start_after.empty()) q += "&start-after=" + s3::UriEncode(Full(start_after), false);
    s3::Request req;
    req.query = q;
    ASSIGN_OR_RETURN(s3::Response r, http_.Perform(req, what));
    if (r.status != 200) return HttpError(prefix, r).WithContext("list");
    for (std::string_view item : s3xml::Elements(r.body, "Contents")) {
      std::optional<std::string> key = s3xml::Tag(item, "Key");
      std::optional<std::string> size = s3xml::Tag(item, "Size");
      if (!key || !size || !key->starts_with(settings_.prefix)) {
        return Status::IoError(what + ": malformed ListObjectsV2 reply");
      }
      ObjectInfo info;
      info.key = key->substr(settings_.prefix.size());
      info.size = std::strtoull(size->c_str(), nullptr, 10);
      if (!visit(info)) return Status::Ok();
    }
    if (s3xml::Tag(r.body, "IsTruncated").value_or("false") != "true") return Status::Ok();
    token = s3xml::Tag(r.body, "NextContinuationToken").value_or("");
    if (token.empty()) return Status::IoError(what + ": truncated reply without a continuation token");
  }
}

// ListMultipartUploads page by page, then one DELETE per upload: listed
// first, since aborting while paging would move the markers.
Result<size_t> S3ObjectStore::AbortIncompleteUploads(const std::string& prefix) {
  struct Open {
    std::string key, id;
  };
  std::vector<Open> open;
  std::string key_marker, id_marker;
  const std::string what = Describe(prefix) + " (incomplete multipart uploads)";
  while (true) {
    // Query names in SigV4's canonical (byte) order.
    std::string q;
    if (!key_marker.empty()) q += "key-marker=" + s3::UriEncode(key_marker, false) + "&";
    q += "prefix=" + s3::UriEncode(Full(prefix), false);
    if (!id_marker.empty()) q += "&upload-id-marker=" + s3::UriEncode(id_marker, false);
    q += "&uploads=";
    s3::Request req;
    req.query = q;
    ASSIGN_OR_RETURN(s3::Response r, http_.Perform(req, what));
    if (r.status != 200) return HttpError(prefix, r).WithContext("listing multipart uploads");
    for (std::string_view item : s3xml::Elements(r.body, "Upload")) {
      std::optional<std::string> key = s3xml::Tag(item, "Key");
      std::optional<std::string> id = s3xml::Tag(item, "UploadId");
      if (!key || !id || !key->starts_with(settings_.prefix)) {
        return Status::IoError(what + ": malformed ListMultipartUploads reply");
      }
      open.push_back({*key, *id});
    }
    if (s3xml::Tag(r.body, "IsTruncated").value_or("false") != "true") break;
    key_marker = s3xml::Tag(r.body, "NextKeyMarker").value_or("");
    id_marker = s3xml::Tag(r.body, "NextUploadIdMarker").value_or("");
    if (key_marker.empty()) return Status::IoError(what + ": truncated reply without a marker");
  }
  for (const Open& upload : open) {
    s3::Request del;
    del.method = "DELETE";
    del.key = upload.key;
    del.query = "uploadId=" + s3::UriEncode(upload.id, false);
    const std::string key = upload.key.substr(settings_.prefix.size());
    ASSIGN_OR_RETURN(s3::Response r, http_.Perform(del, Describe(key)));
    // 404 NoSuchUpload: completed or aborted meanwhile.
    if (r.status != 204 && r.status != 200 && r.status != 404) {
      return HttpError(key, r).WithContext("aborting an incomplete multipart upload");
    }
  }
  return open.size();
}

Status CheckSettings(const S3Settings& s) {
  if (!s.endpoint.starts_with("http://") && !s.endpoint.starts_with("https://")) {
    return Status::InvalidArgument("S3 endpoint must start with http:// or https://: '" +
                                   s.endpoint + "'");
  }
  if (s.bucket.empty()) return Status::InvalidArgument("S3 bucket name is empty");
  if (s.access_key.empty() || s.secret_key.empty()) {
    return Status::InvalidArgument("S3 credentials missing for s3://" + s.bucket);
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<ObjectStore>> OpenS3ObjectStore(const S3Settings& settings) {
  RETURN_IF_ERROR(CheckSettings(settings));
  return std::unique_ptr<ObjectStore>(std::make_unique<S3ObjectStore>(settings));
}

Status CreateS3BucketIfMissing(const S3Settings& settings) {
  RETURN_IF_ERROR(CheckSettings(settings));
  s3::Http http(settings);
  const std::string what = "s3://" + settings.bucket;
  s3::Request head;
  head.method = "HEAD";
  ASSIGN_OR_RETURN(s3::Response h, http.Perform(head, what));
  if (h.status == 200) return Status::Ok();
  if (h.status != 404) return Status::IoError(what + ": HTTP " + std::to_string(h.status));
  s3::Request put;
  put.method = "PUT";
  ASSIGN_OR_RETURN(s3::Response p, http.Perform(put, what));
  // 409 BucketAlreadyOwnedByYou: another process made it meanwhile.
  if ((p.status >= 200 && p.status < 300) || p.status == 409) return Status::Ok();
  std::string m = what + ": creating the bucket: HTTP " + std::to_string(p.status);
  if (auto code = s3xml::Tag(p.body, "Code")) m += " " + *code;
  return Status::IoError(m);
}

}  // namespace dcmfs
