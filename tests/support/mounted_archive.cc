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
  std::vector<std::string> args;
  if (!extra_options.empty()) args = {"-o", extra_options};
  Start(args);
}

MountedArchive::MountedArchive(std::string archive, std::string mountpoint,
                               std::vector<std::string> extra_args)
    : archive_(std::move(archive)), mountpoint_(std::move(mountpoint)) {
  Start(extra_args);
}

void MountedArchive::Start(const std::vector<std::string>& extra_args) {
  std::filesystem::create_directories(mountpoint_);
  log_path_ = mountpoint_ + ".log";
  std::string binary = DcmfsBinary();
  // argv is built before fork: the child only calls async-signal-safe functions.
  std::vector<std::string> args = {"dcmfs", "mount", "-f"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  args.push_back(archive_);
  args.push_back(mountpoint_);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  // Generous: a Debug ASan dcmfs on a loaded CI machine opens RocksDB and
  // recovers /incoming slowly; a mount that never comes up still fails (the
  // usual start is well under a second, and we return as soon as it is up).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
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
  // After fusermount the daemon closes RocksDB and, under ASan, runs its leak
  // check: seconds on a loaded machine. Past 60 s it is hung (killed, false).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
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
