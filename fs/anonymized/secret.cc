#include "fs/anonymized/secret.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "base/log.h"
#include "index/archive_layout.h"

namespace dcmfs {
namespace {

// Closes a descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// NotFound if absent; the bytes otherwise.
Result<std::string> ReadSecret(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Status::NotFound(path);
    return Status::FromErrno("reading " + path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && (st.st_mode & 077) != 0) {
    // Still usable, but anyone who can read it can undo the pseudonyms.
    DCMFS_LOG(Warning) << path << " is readable by others; chmod 600 it";
  }
  std::string bytes;
  char buf[256];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("reading " + path, errno);
    if (n == 0) break;
    bytes.append(buf, static_cast<size_t>(n));
    if (bytes.size() > 4096) return Status::Corruption(path + ": larger than a secret can be");
  }
  if (bytes.empty()) return Status::Corruption(path + ": empty");
  return bytes;
}

Result<std::string> RandomBytes(size_t n) {
  Fd fd(::open("/dev/urandom", O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Status::FromErrno("opening /dev/urandom", errno);
  std::string out(n, '\0');
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::read(fd.get(), out.data() + done, n - done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return Status::FromErrno("reading /dev/urandom", r < 0 ? errno : EIO);
    done += static_cast<size_t>(r);
  }
  return out;
}

Status WriteAllAndSync(int fd, const std::string& bytes, const std::string& what) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("writing " + what, errno);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return Status::FromErrno("fsync of " + what, errno);
  return Status::Ok();
}

Status SyncFolder(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return Status::FromErrno("opening " + dir, errno);
  if (::fsync(fd.get()) != 0) return Status::FromErrno("fsync of " + dir, errno);
  return Status::Ok();
}

// Writes a fresh secret under a temp name and links it into place. Succeeds
// too when another process won the race (link EEXIST): the caller reads theirs.
Status CreateSecret(const std::string& root, const std::string& path) {
  ASSIGN_OR_RETURN(std::string secret, RandomBytes(kArchiveSecretBytes));
  std::random_device rd;
  const std::string temp = path + ".tmp." + std::to_string(::getpid()) + "." +
                           std::to_string(rd());
  {
    Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0) return Status::FromErrno("creating " + temp, errno);
    Status written = WriteAllAndSync(fd.get(), secret, temp);
    if (!written.ok()) {
      ::unlink(temp.c_str());
      return written;
    }
  }
  // link(2), unlike rename(2), fails when the name exists: a secret another
  // process created meanwhile is never replaced (its pseudonyms may be out).
  const bool linked = ::link(temp.c_str(), path.c_str()) == 0;
  const int link_errno = errno;
  ::unlink(temp.c_str());
  if (!linked && link_errno != EEXIST) return Status::FromErrno("creating " + path, link_errno);
  return SyncFolder(root);
}

}  // namespace

Result<std::string> LoadOrCreateArchiveSecret(const std::string& archive_root) {
  const std::string path = ArchiveLayout{archive_root}.secret();
  Result<std::string> existing = ReadSecret(path);
  if (existing.ok() || !existing.status().IsNotFound()) return existing;
  RETURN_IF_ERROR(CreateSecret(archive_root, path));
  return ReadSecret(path);
}

}  // namespace dcmfs
