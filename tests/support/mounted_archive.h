// A real dcmfs mount for tests: runs `dcmfs mount -f ARCHIVE MNT` as a child
// process, waits until the kernel shows the mount, and unmounts on
// destruction (fusermount3 -u, then SIGTERM, then lazy unmount as last resort).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace dcmfs::testing {

class MountedArchive {
 public:
  // Mounts `archive` at `mountpoint` (created if missing). Check ok().
  MountedArchive(std::string archive, std::string mountpoint, std::string extra_options = "");
  // Mounts with further `dcmfs mount` arguments placed before ARCHIVE, e.g.
  // {"-o", "allow_other", "--identified-mode", "0750"}.
  MountedArchive(std::string archive, std::string mountpoint, std::vector<std::string> extra_args);
  ~MountedArchive();
  MountedArchive(const MountedArchive&) = delete;
  MountedArchive& operator=(const MountedArchive&) = delete;

  bool ok() const { return pid_ > 0 && mounted_; }
  const std::string& path() const { return mountpoint_; }
  const std::string& log() const;  // the daemon's stderr so far (read on failure)
  // Unmounts now; true if the daemon exited cleanly (status 0).
  bool Unmount();

 private:
  void Start(const std::vector<std::string>& extra_args);

  std::string archive_, mountpoint_, log_path_;
  mutable std::string log_;
  pid_t pid_ = -1;
  bool mounted_ = false;
};

// True if `path` is a mount point in /proc/self/mountinfo.
bool IsMountPoint(const std::string& path);

}  // namespace dcmfs::testing
