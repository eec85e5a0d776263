#include "tests/support/mounted_archive.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace dcmfs::testing {

bool IsMountPoint(const std::string& path) {
  std::error_code ec;
  std::string canonical = std::filesystem::weakly_canonical(path, ec).string();
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mnt;
    fields >> id >> parent >> dev >> root >> mnt;
    if (mnt == canonical) return true;
  }
  return false;
}

MountedArchive::MountedArchive(std::string archive, std::string mountpoint,
                               std::string extra_options)
    : archive_(std::move(archive)), mountpoint_(std::move(mountpoint)) {
  std::filesystem::create_directories(mountpoint_);
  log_path_ = mountpoint_ + ".log";
  std::string binary = DcmfsBinary();
  pid_ = fork();
  if (pid_ == 0) {
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    if (extra_options.empty()) {
      execl(binary.c_str(), "dcmfs", "mount", "-f", archive_.c_str(), mountpoint_.c_str(),
            static_cast<char*>(nullptr));
    } else {
      execl(binary.c_str(), "dcmfs", "mount", "-f", "-o", extra_options.c_str(), archive_.c_str(),
            mountpoint_.c_str(), static_cast<char*>(nullptr));
    }
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (IsMountPoint(mountpoint_)) {
      mounted_ = true;
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {  // the daemon gave up
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

const std::string& MountedArchive::log() const {
  log_ = ReadFileOrEmpty(log_path_);
  return log_;
}

bool MountedArchive::Unmount() {
  if (pid_ <= 0) return false;
  if (mounted_) Shell("fusermount3 -u " + ShellQuote(mountpoint_));
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (waitpid(pid_, &status, WNOHANG) != pid_) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      Shell("fusermount3 -uz " + ShellQuote(mountpoint_));
      pid_ = -1;
      mounted_ = false;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
  mounted_ = false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

MountedArchive::~MountedArchive() {
  if (pid_ > 0) Unmount();
}

}  // namespace dcmfs::testing
