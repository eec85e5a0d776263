// Where an archive keeps its blobs: ARCHIVE/store.conf.
//
// No file means the local folder ARCHIVE/blobs (every archive made before
// object storage existed). With `backend = s3` the blobs live in an
// S3-compatible bucket (Ceph RGW, MinIO, AWS) under `prefix`; a second
// workstation that copies store.conf (or is given the same --s3-* flags)
// reads the same blobs. The file is plain `key = value` lines and never
// holds secrets: the keys come from the environment (S3_ACCESS_KEY,
// S3_SECRET_KEY) or from a credentials file of mode 0600 named in it.
#pragma once

#include <string>

#include "base/status.h"
#include "index/archive_layout.h"

namespace dcmfs {

struct S3Settings {
  std::string endpoint;  // "http://127.0.0.1:7480"; path-style URLs are used
  std::string bucket;
  std::string region = "us-east-1";
  std::string prefix;  // "" or a folder-like prefix ending in '/' (LoadStoreConfig adds it)
  std::string access_key, secret_key;  // filled by LoadStoreConfig; never written or logged
  std::string credentials_file;        // optional, must be mode 0600 (no group/other bits)
  int timeout_ms = 10000;  // bound on one call's total wait, retries included
  int retries = 4;         // retries after the first attempt on 5xx / timeouts / refused
  // Not in store.conf: tuning for tests and benchmarks.
  uint64_t multipart_threshold = 64ull << 20;  // PutFile above this goes up in parts
  uint64_t part_size = 16ull << 20;            // S3 needs >= 5 MiB for all parts but the last
  int parallel_parts = 4;                      // parts of one multipart upload in flight
  int list_page_size = 1000;                   // max-keys of one ListObjectsV2 page
};

struct StoreConfig {
  // kDirectory: `backend = directory`, `directory = PATH`: an ObjectStore in
  // a folder (index/object_store_dir.h), e.g. on a shared filesystem.
  enum class Backend { kLocal, kS3, kDirectory } backend = Backend::kLocal;
  S3Settings s3;
  std::string directory;
  // `writer_stale_seconds`: a writer lease without a heartbeat for this long
  // may be taken by another writer (index/writer_lease.h).
  int writer_stale_seconds = 60;
};

// ARCHIVE/store.conf.
inline std::string StoreConfigPath(const ArchiveLayout& layout) { return layout.root + "/store.conf"; }

// Reads store.conf (no file => local) and, for S3, the credentials: the
// environment's S3_ACCESS_KEY/S3_SECRET_KEY when both are set, else the
// credentials file (lines `S3_ACCESS_KEY=...`, `S3_SECRET_KEY=...`, the
// format ../shared/services writes to s3.env). InvalidArgument naming the
// file and line for a malformed file, a credentials file readable by group or
// others, or missing credentials.
Result<StoreConfig> LoadStoreConfig(const ArchiveLayout& layout);

// Writes store.conf (temp file + rename), without the keys.
Status SaveStoreConfig(const ArchiveLayout& layout, const StoreConfig& config);

// Reads the keys for `s3` as LoadStoreConfig does (env, then s3.credentials_file).
Status FillS3Credentials(S3Settings& s3);

}  // namespace dcmfs
