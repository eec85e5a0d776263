// Quarantine: refused input kept byte for byte (ARCHIVE/quarantine/<sha256>.bin)
// with a note (<sha256>.txt) of where it came from and why it was refused, so
// that ingest never loses data (DESIGN.md, "Ingest never loses data").
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <functional>
#include <vector>
#include <mutex>
#include <random>

#include "codecs/sha256.h"
#include "index/ingest.h"

namespace dcmfs {
namespace {

// Writes `path` via a temp file: `fill` writes the content, then fsync and rename.
Status WriteDurablyWith(const std::string& path, const std::function<Status(int, const std::string&)>& fill) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  const std::string tmp = path + "." + std::to_string(rng()) + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("create " + tmp, errno);
  Status s = fill(fd, tmp);
  if (s.ok() && ::fsync(fd) != 0) s = Status::FromErrno("fsync " + tmp, errno);
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = Status::FromErrno("rename " + tmp, errno);
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

Status WriteAll(int fd, std::string_view bytes, const std::string& name) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno != EINTR) return Status::FromErrno("write " + name, errno);
    if (n > 0) done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status WriteDurably(const std::string& path, std::string_view bytes) {
  return WriteDurablyWith(path, [&](int fd, const std::string& tmp) { return WriteAll(fd, bytes, tmp); });
}

std::string ReadSmallFile(const std::string& path) {
  std::string out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

}  // namespace

Result<std::string> Quarantine::Keep(std::string_view source, std::span<const uint8_t> bytes,
                                     std::string_view reason) const {
  RETURN_IF_ERROR(MakeDir());
  const std::string hex = ToHex(Sha256(bytes));
  const std::string bin = dir_ + "/" + hex + ".bin";
  struct stat st;
  if (::stat(bin.c_str(), &st) != 0) {
    RETURN_IF_ERROR(WriteDurably(
        bin, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())));
  }
  return Note(source, hex, reason);
}

// Copies through a temp file while hashing, then names the copy by its hash.
Result<std::string> Quarantine::KeepFile(std::string_view source, const std::string& path,
                                         std::string_view reason) const {
  RETURN_IF_ERROR(MakeDir());
  const int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Status::FromErrno(path, errno);
  thread_local std::mt19937_64 rng(std::random_device{}());
  const std::string staged = dir_ + "/incoming-" + std::to_string(rng()) + ".bin";
  Sha256Stream sha;
  Status copied = WriteDurablyWith(staged, [&](int fd, const std::string& tmp) -> Status {
    std::vector<char> buf(1 << 20);
    while (true) {
      const ssize_t n = ::read(in, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno(path, errno);
      if (n == 0) return Status::Ok();
      sha.Update({reinterpret_cast<const uint8_t*>(buf.data()), static_cast<size_t>(n)});
      RETURN_IF_ERROR(WriteAll(fd, std::string_view(buf.data(), static_cast<size_t>(n)), tmp));
    }
  });
  ::close(in);
  RETURN_IF_ERROR(copied);
  const std::string hex = ToHex(sha.Finish());
  if (::rename(staged.c_str(), (dir_ + "/" + hex + ".bin").c_str()) != 0) {
    const int err = errno;
    ::unlink(staged.c_str());
    return Status::FromErrno("rename " + staged, err);
  }
  return Note(source, hex, reason);
}

Status Quarantine::MakeDir() const {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Status::IoError("mkdir " + dir_ + ": " + ec.message());
  return Status::Ok();
}

// The same bytes refused again from another place: the note lists every
// source. Serialised so that two workers refusing the same bytes both count.
Result<std::string> Quarantine::Note(std::string_view source, const std::string& hex,
                                     std::string_view reason) const {
  static std::mutex note_mu;
  std::lock_guard<std::mutex> lock(note_mu);
  std::string note = ReadSmallFile(dir_ + "/" + hex + ".txt");
  std::string line = "source: " + std::string(source) + "\nreason: " + std::string(reason) + "\n";
  if (note.find(line) == std::string::npos) {
    note += line;
    RETURN_IF_ERROR(WriteDurably(dir_ + "/" + hex + ".txt", note));
  }
  const std::string top = std::filesystem::path(dir_).filename().string();
  return (top.empty() ? std::string("quarantine") : top) + "/" + hex + ".bin";
}

}  // namespace dcmfs
