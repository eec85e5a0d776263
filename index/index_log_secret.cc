// The archive secret in the store (index/index_log.h): one key for
// /anonymized on every workstation.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "index/index_log.h"

namespace dcmfs {
namespace {

constexpr size_t kSecretSize = 32;  // as LoadOrCreateArchiveSecret makes it

Result<std::optional<std::string>> ReadLocal(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Status::FromErrno("open " + path, errno);
  }
  std::ostringstream out;
  out << in.rdbuf();
  return std::optional<std::string>(out.str());
}

// Writes the secret 0600 through a temp file, fsync and rename.
Status WriteLocal(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno("create " + tmp, errno);
  Status s;
  if (::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
    s = Status::FromErrno("write " + tmp, errno);
  }
  if (s.ok() && ::fsync(fd) != 0) s = Status::FromErrno("fsync " + tmp, errno);
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = Status::FromErrno("rename " + tmp, errno);
  }
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

Result<std::optional<std::string>> ReadStored(ObjectStore& store) {
  Result<std::string> stored = store.Get(kSecretKey);
  if (!stored.ok() && stored.status().IsNotFound()) return std::optional<std::string>();
  if (!stored.ok()) return stored.status();
  if (stored->size() != kSecretSize) {
    return Status::Corruption(store.Describe(kSecretKey) + ": not a 32-byte archive secret");
  }
  return std::optional<std::string>(std::move(stored).value());
}

}  // namespace

Status ShareArchiveSecret(ObjectStore& store, const std::string& local_path) {
  ASSIGN_OR_RETURN(std::optional<std::string> stored, ReadStored(store));
  ASSIGN_OR_RETURN(std::optional<std::string> local, ReadLocal(local_path));
  if (stored && local && *stored != *local) {
    return Status::AlreadyExists(local_path + " differs from " + store.Describe(kSecretKey) +
                                 ": /anonymized would differ between workstations; remove the "
                                 "local secret to adopt the store's");
  }
  if (stored && !local) return WriteLocal(local_path, *stored);
  if (!stored && local) {
    if (local->size() != kSecretSize) {
      return Status::Corruption(local_path + ": not a 32-byte archive secret");
    }
    return store.Put(kSecretKey, {reinterpret_cast<const uint8_t*>(local->data()), local->size()});
  }
  if (!stored && !local) return Status::NotFound(local_path + ": no archive secret to share");
  return Status::Ok();
}

Status FetchArchiveSecret(ObjectStore& store, const std::string& local_path) {
  ASSIGN_OR_RETURN(std::optional<std::string> stored, ReadStored(store));
  if (!stored) return Status::NotFound(store.Describe(kSecretKey) + ": no archive secret yet");
  ASSIGN_OR_RETURN(std::optional<std::string> local, ReadLocal(local_path));
  if (local && *local == *stored) return Status::Ok();
  return WriteLocal(local_path, *stored);
}

}  // namespace dcmfs
