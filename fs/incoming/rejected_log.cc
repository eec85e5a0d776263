#include "fs/incoming/rejected_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <fstream>
#include <sstream>

namespace dcmfs {
namespace {

std::string Field(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

std::string UtcNow() {
  time_t now = time(nullptr);
  tm t{};
  gmtime_r(&now, &t);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &t);
  return buf;
}

}  // namespace

Status RejectedLog::Append(std::string_view shown_path, std::string_view reason,
                           std::string_view kept_as) {
  const std::string line = UtcNow() + "\t" + Field(shown_path) + "\t" + Field(reason) + "\t" +
                           Field(kept_as) + "\n";
  std::lock_guard lock(mu_);
  int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(path_, errno);
  ssize_t n = write(fd, line.data(), line.size());
  int err = n == static_cast<ssize_t>(line.size()) ? 0 : (n < 0 ? errno : EIO);
  if (err == 0 && fsync(fd) != 0) err = errno;
  close(fd);
  return err == 0 ? Status::Ok() : Status::FromErrno(path_, err);
}

std::string RejectedLog::Contents() const {
  std::lock_guard lock(mu_);
  std::ifstream in(path_, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

uint64_t RejectedLog::Size() const {
  struct stat st {};
  return stat(path_.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

int64_t RejectedLog::Mtime() const {
  struct stat st {};
  return stat(path_.c_str(), &st) == 0 ? st.st_mtim.tv_sec : 0;
}

}  // namespace dcmfs
