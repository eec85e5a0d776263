#include "index/store_config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace dcmfs {
namespace {

std::string Trim(std::string s) {
  const char* ws = " \t\r";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

// `key = value` (or `key=value`) lines; '#' starts a comment line.
Result<std::map<std::string, std::string>> ReadKeyValues(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::FromErrno(path, errno);
  std::map<std::string, std::string> out;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) {
      return Status::InvalidArgument(path + ":" + std::to_string(number) +
                                     ": expected `key = value`");
    }
    out[Trim(line.substr(0, eq))] = Trim(line.substr(eq + 1));
  }
  return out;
}

Result<int> ParseInt(const std::string& path, const std::string& key, const std::string& value) {
  char* end = nullptr;
  const long v = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || v < 0 || v > 1000000000) {
    return Status::InvalidArgument(path + ": " + key + " is not a count: '" + value + "'");
  }
  return static_cast<int>(v);
}

}  // namespace

Status FillS3Credentials(S3Settings& s3) {
  const char* ak = std::getenv("S3_ACCESS_KEY");
  const char* sk = std::getenv("S3_SECRET_KEY");
  if (ak != nullptr && sk != nullptr && *ak != '\0' && *sk != '\0') {
    s3.access_key = ak;
    s3.secret_key = sk;
    return Status::Ok();
  }
  if (s3.credentials_file.empty()) {
    return Status::InvalidArgument(
        "no S3 credentials: set S3_ACCESS_KEY and S3_SECRET_KEY, or name a credentials file "
        "(--s3-credentials, mode 0600)");
  }
  struct stat st;
  if (::stat(s3.credentials_file.c_str(), &st) != 0) {
    return Status::FromErrno(s3.credentials_file, errno);
  }
  if ((st.st_mode & 077) != 0) {
    return Status::InvalidArgument(s3.credentials_file +
                                   ": credentials file must be mode 0600 (chmod 600 it)");
  }
  ASSIGN_OR_RETURN(auto kv, ReadKeyValues(s3.credentials_file));
  auto pick = [&](const char* a, const char* b) {
    if (auto it = kv.find(a); it != kv.end()) return it->second;
    if (auto it = kv.find(b); it != kv.end()) return it->second;
    return std::string();
  };
  s3.access_key = pick("S3_ACCESS_KEY", "access_key");
  s3.secret_key = pick("S3_SECRET_KEY", "secret_key");
  if (s3.access_key.empty() || s3.secret_key.empty()) {
    return Status::InvalidArgument(s3.credentials_file +
                                   ": needs S3_ACCESS_KEY=... and S3_SECRET_KEY=... lines");
  }
  return Status::Ok();
}

Result<StoreConfig> LoadStoreConfig(const ArchiveLayout& layout) {
  const std::string path = StoreConfigPath(layout);
  StoreConfig config;
  if (::access(path.c_str(), F_OK) != 0) {
    if (errno == ENOENT) return config;
    return Status::FromErrno(path, errno);
  }
  ASSIGN_OR_RETURN(auto kv, ReadKeyValues(path));
  const std::string backend = kv.count("backend") ? kv["backend"] : "local";
  if (backend == "local") return config;
  if (kv.count("writer_stale_seconds")) {
    ASSIGN_OR_RETURN(config.writer_stale_seconds,
                     ParseInt(path, "writer_stale_seconds", kv["writer_stale_seconds"]));
  }
  if (backend == "directory") {
    config.backend = StoreConfig::Backend::kDirectory;
    config.directory = kv["directory"];
    if (config.directory.empty() || config.directory.front() != '/') {
      return Status::InvalidArgument(path + ": backend directory needs an absolute directory");
    }
    return config;
  }
  if (backend != "s3") {
    return Status::InvalidArgument(path + ": backend must be local, s3 or directory, not '" +
                                   backend + "'");
  }
  config.backend = StoreConfig::Backend::kS3;
  S3Settings& s3 = config.s3;
  s3.endpoint = kv["endpoint"];
  s3.bucket = kv["bucket"];
  if (kv.count("region") && !kv["region"].empty()) s3.region = kv["region"];
  s3.prefix = kv["prefix"];
  if (!s3.prefix.empty() && s3.prefix.back() != '/') s3.prefix += '/';
  s3.credentials_file = kv["credentials_file"];
  if (kv.count("timeout_ms")) {
    ASSIGN_OR_RETURN(s3.timeout_ms, ParseInt(path, "timeout_ms", kv["timeout_ms"]));
  }
  if (kv.count("retries")) {
    ASSIGN_OR_RETURN(s3.retries, ParseInt(path, "retries", kv["retries"]));
  }
  // Upload tuning, optional (benchmarks, tests of multipart-sized files).
  if (kv.count("parallel_parts")) {
    ASSIGN_OR_RETURN(s3.parallel_parts, ParseInt(path, "parallel_parts", kv["parallel_parts"]));
  }
  if (kv.count("multipart_threshold_mb")) {
    ASSIGN_OR_RETURN(int mb, ParseInt(path, "multipart_threshold_mb", kv["multipart_threshold_mb"]));
    s3.multipart_threshold = static_cast<uint64_t>(mb) << 20;
  }
  if (s3.endpoint.empty() || s3.bucket.empty()) {
    return Status::InvalidArgument(path + ": backend s3 needs endpoint and bucket");
  }
  RETURN_IF_ERROR(FillS3Credentials(s3));
  return config;
}

Status SaveStoreConfig(const ArchiveLayout& layout, const StoreConfig& config) {
  std::ostringstream out;
  out << "# dcmfs: where this archive keeps its blobs (docs/semantics.md). No secrets here.\n";
  if (config.backend == StoreConfig::Backend::kLocal) {
    out << "backend = local\n";
  } else if (config.backend == StoreConfig::Backend::kDirectory) {
    out << "backend = directory\ndirectory = " << config.directory << "\n";
  } else {
    const S3Settings& s = config.s3;
    out << "backend = s3\nendpoint = " << s.endpoint << "\nbucket = " << s.bucket
        << "\nregion = " << s.region << "\nprefix = " << s.prefix
        << "\ncredentials_file = " << s.credentials_file << "\ntimeout_ms = " << s.timeout_ms
        << "\nretries = " << s.retries << "\n";
  }
  const std::string path = StoreConfigPath(layout);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << out.str();
    f.flush();
    if (!f) return Status::IoError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Status::FromErrno("rename " + tmp, errno);
  return Status::Ok();
}

}  // namespace dcmfs
