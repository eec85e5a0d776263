// ObjectStore over a local folder (see index/object_store_dir.h).
#include "index/object_store_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <vector>

namespace dcmfs {
namespace {

namespace stdfs = std::filesystem;

constexpr const char* kTmpDir = ".tmp";

Status CheckKey(const std::string& key) {
  if (key.empty() || key.front() == '/' || key.back() == '/') {
    return Status::InvalidArgument("object key '" + key + "': must be a relative file name");
  }
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string::npos) end = key.size();
    const std::string_view part(key.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return Status::InvalidArgument("object key '" + key + "': empty, '.' or '..' component");
    }
    start = end + 1;
  }
  if (key.rfind(kTmpDir, 0) == 0) {
    return Status::InvalidArgument("object key '" + key + "': .tmp is reserved");
  }
  return Status::Ok();
}

Status FsyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open " + path, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  return rc == 0 ? Status::Ok() : Status::FromErrno("fsync " + path, err);
}

// Writes all of `bytes` to `fd`.
Status WriteAll(int fd, const uint8_t* data, size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("write " + path, errno);
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

class DirectoryObjectStore final : public ObjectStore {
 public:
  explicit DirectoryObjectStore(std::string root) : root_(std::move(root)) {}

  Status Put(const std::string& key, std::span<const uint8_t> bytes) override {
    return WriteObject(key, [&](int fd, const std::string& tmp) {
      return WriteAll(fd, bytes.data(), bytes.size(), tmp);
    });
  }

  Status PutFile(const std::string& key, const std::string& path) override {
    const int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return Status::FromErrno("open " + path, errno);
    Status s = WriteObject(key, [&](int fd, const std::string& tmp) -> Status {
      std::vector<uint8_t> buf(1 << 20);
      for (;;) {
        const ssize_t n = ::read(in, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Status::FromErrno("read " + path, errno);
        if (n == 0) return Status::Ok();
        RETURN_IF_ERROR(WriteAll(fd, buf.data(), static_cast<size_t>(n), tmp));
      }
    });
    ::close(in);
    return s;
  }

  Result<std::string> Get(const std::string& key) const override {
    RETURN_IF_ERROR(CheckKey(key));
    ASSIGN_OR_RETURN(std::optional<uint64_t> size, Head(key));
    if (!size) return Status::NotFound(Describe(key) + ": no such object");
    std::string out(*size, '\0');
    ASSIGN_OR_RETURN(size_t n,
                     GetRange(key, 0, {reinterpret_cast<uint8_t*>(out.data()), out.size()}));
    out.resize(n);  // a concurrent overwrite may have shortened it; the rename keeps each whole
    return out;
  }

  Result<size_t> GetRange(const std::string& key, uint64_t offset,
                          std::span<uint8_t> out) const override {
    RETURN_IF_ERROR(CheckKey(key));
    const std::string path = Describe(key);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return Status::NotFound(path + ": no such object");
    if (fd < 0) return Status::FromErrno("open " + path, errno);
    size_t done = 0;
    Status s;
    while (done < out.size()) {
      const ssize_t n = ::pread(fd, out.data() + done, out.size() - done,
                                static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        s = Status::FromErrno("read " + path, errno);
        break;
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    if (!s.ok()) return s;
    return done;
  }

  Result<std::optional<uint64_t>> Head(const std::string& key) const override {
    RETURN_IF_ERROR(CheckKey(key));
    struct stat st;
    const std::string path = Describe(key);
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return std::optional<uint64_t>();
      return Status::FromErrno("stat " + path, errno);
    }
    if (!S_ISREG(st.st_mode)) return std::optional<uint64_t>();
    return std::optional<uint64_t>(static_cast<uint64_t>(st.st_size));
  }

  Status List(const std::string& prefix, const std::string& start_after,
              const std::function<bool(const ObjectInfo&)>& visit) const override {
    // Only the folder the prefix names can hold matching keys.
    const size_t slash = prefix.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : prefix.substr(0, slash);
    std::vector<ObjectInfo> found;
    RETURN_IF_ERROR(Collect(dir, prefix, &found));
    std::sort(found.begin(), found.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    for (const ObjectInfo& info : found) {
      if (!start_after.empty() && info.key <= start_after) continue;
      if (!visit(info)) break;
    }
    return Status::Ok();
  }

  Status Delete(const std::string& key) override {
    RETURN_IF_ERROR(CheckKey(key));
    const std::string path = Describe(key);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Status::FromErrno("unlink " + path, errno);
    }
    return Status::Ok();
  }

  std::string Describe(const std::string& key) const override { return root_ + "/" + key; }

 private:
  template <typename Fill>
  Status WriteObject(const std::string& key, Fill fill) {
    RETURN_IF_ERROR(CheckKey(key));
    const std::string final_path = Describe(key);
    const std::string parent = stdfs::path(final_path).parent_path().string();
    std::error_code ec;
    stdfs::create_directories(parent, ec);
    if (ec) return Status::IoError("mkdir " + parent + ": " + ec.message());
    const std::string tmp_dir = root_ + "/" + kTmpDir;
    stdfs::create_directories(tmp_dir, ec);
    if (ec) return Status::IoError("mkdir " + tmp_dir + ": " + ec.message());
    std::string tmp = tmp_dir + "/put-XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0) return Status::FromErrno("mkstemp " + tmp, errno);
    Status s = fill(fd, tmp);
    if (s.ok() && ::fsync(fd) != 0) s = Status::FromErrno("fsync " + tmp, errno);
    if (::close(fd) != 0 && s.ok()) s = Status::FromErrno("close " + tmp, errno);
    if (s.ok() && ::chmod(tmp.c_str(), 0644) != 0) s = Status::FromErrno("chmod " + tmp, errno);
    if (s.ok() && ::rename(tmp.c_str(), final_path.c_str()) != 0) {
      s = Status::FromErrno("rename to " + final_path, errno);
    }
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s.WithContext(final_path);
    }
    return FsyncPath(parent, O_RDONLY | O_DIRECTORY);
  }

  // Adds every regular file below ROOT/dir whose key starts with `prefix`.
  Status Collect(const std::string& dir, const std::string& prefix,
                 std::vector<ObjectInfo>* out) const {
    const std::string path = dir.empty() ? root_ : root_ + "/" + dir;
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) {
      if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
      return Status::FromErrno("opendir " + path, errno);
    }
    Status s;
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      if (dir.empty() && name == kTmpDir) continue;
      const std::string key = dir.empty() ? name : dir + "/" + name;
      // Descend only where keys can still match the prefix.
      const std::string as_dir = key + "/";
      struct stat st;
      if (::stat((root_ + "/" + key).c_str(), &st) != 0) continue;  // removed meanwhile
      if (S_ISDIR(st.st_mode)) {
        if (as_dir.compare(0, std::min(as_dir.size(), prefix.size()), prefix, 0,
                           std::min(as_dir.size(), prefix.size())) != 0) {
          continue;
        }
        s = Collect(key, prefix, out);
        if (!s.ok()) break;
      } else if (S_ISREG(st.st_mode) && key.rfind(prefix, 0) == 0) {
        out->push_back({key, static_cast<uint64_t>(st.st_size)});
      }
    }
    ::closedir(d);
    return s;
  }

  const std::string root_;
};

}  // namespace

Result<std::unique_ptr<ObjectStore>> OpenDirectoryObjectStore(const std::string& root) {
  std::error_code ec;
  stdfs::create_directories(root, ec);
  if (ec) return Status::IoError("object store " + root + ": " + ec.message());
  if (!stdfs::is_directory(root, ec)) {
    return Status::IoError("object store " + root + ": not a folder");
  }
  std::string clean = root;
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  return std::unique_ptr<ObjectStore>(std::make_unique<DirectoryObjectStore>(clean));
}

}  // namespace dcmfs
