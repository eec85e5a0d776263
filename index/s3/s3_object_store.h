// An ObjectStore (index/object_store.h) on an S3-compatible service: Ceph's
// RADOS Gateway, MinIO, AWS S3.
//
// HTTP through libcurl, signed with libcurl's own AWS Signature V4
// (CURLOPT_AWS_SIGV4; no signing code here) and the header
// `x-amz-content-sha256: UNSIGNED-PAYLOAD`, which radosgw requires. URLs are
// path-style (endpoint/bucket/key). Connections are reused through a pool of
// curl handles. Each call retries on 5xx, 429, timeouts and refused or reset
// connections with exponential backoff (100 ms, 200 ms, ...), at most
// settings.retries times and never past settings.timeout_ms in total; an
// attempt that gets no byte for the rest of that budget is abandoned, so a
// stopped or frozen gateway yields IoError("s3://bucket/key: ...") in about
// timeout_ms, never a hang. PutFile uploads files above
// settings.multipart_threshold in parts of settings.part_size,
// settings.parallel_parts of them in flight (aborting the upload on failure).
// Credentials never appear in messages or logs.
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>

#include "base/status.h"
#include "index/object_store.h"
#include "index/store_config.h"

namespace dcmfs {

// Opens the store without contacting it (a mount can start while the
// gateway is down). InvalidArgument for an endpoint that is not http(s)://,
// an empty bucket or missing keys.
Result<std::unique_ptr<ObjectStore>> OpenS3ObjectStore(const S3Settings& settings);

// Creates settings.bucket unless it exists (an archive's first ingest).
Status CreateS3BucketIfMissing(const S3Settings& settings);

}  // namespace dcmfs
