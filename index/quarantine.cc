// Quarantine: refused input kept byte for byte (ARCHIVE/quarantine/<sha256>.bin)
// with a note (<sha256>.txt) of where it came from and why it was refused, so
// that ingest never loses data (DESIGN.md, "Ingest never loses data").
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <mutex>
#include <random>

#include "index/ingest.h"

namespace dcmfs {
namespace {

Status WriteDurably(const std::string& path, std::string_view bytes) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  const std::string tmp = path + "." + std::to_string(rng()) + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("create " + tmp, errno);
  size_t done = 0;
  Status s;
  while (s.ok() && done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno != EINTR) s = Status::FromErrno("write " + tmp, errno);
    if (n > 0) done += static_cast<size_t>(n);
  }
  if (s.ok() && ::fsync(fd) != 0) s = Status::FromErrno("fsync " + tmp, errno);
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = Status::FromErrno("rename " + tmp, errno);
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
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
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Status::IoError("mkdir " + dir_ + ": " + ec.message());
  const std::string hex = ToHex(Sha256(bytes));
  const std::string bin = dir_ + "/" + hex + ".bin";
  struct stat st;
  if (::stat(bin.c_str(), &st) != 0) {
    RETURN_IF_ERROR(WriteDurably(
        bin, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())));
  }
  // The same bytes refused again from another place: the note lists every
  // source. Serialised so that two workers refusing the same bytes both count.
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
