// Mounting an archive with FUSE: `dcmfs mount ARCHIVE MOUNTPOINT`.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "fs/filesystem.h"

namespace dcmfs {

struct MountOptions {
  std::string archive_root;
  std::string mountpoint;
  bool foreground = false;
  bool debug = false;  // libfuse's request trace (-d); implies foreground
  // Extra "-o" options for libfuse and the kernel, e.g. "allow_other",
  // "max_read=131072". The mount always has "default_permissions"; "ro"
  // here (or fs.incoming = false) makes it read-only, without /incoming.
  std::vector<std::string> fuse_options;
  bool single_threaded = false;
  unsigned max_idle_threads = 10;
  bool clone_fd = true;  // one /dev/fuse fd per worker thread: less contention
  FilesystemOptions fs;  // fs.archive_root is set from archive_root
  // Started in the serving process once the kernel mount is up (after the
  // daemon fork, so its threads survive) and destroyed before unmount; e.g.
  // tools/ starts the DICOM Storage SCP here. An error fails the mount.
  std::function<Result<std::shared_ptr<void>>(Filesystem&)> start_services;
};

// Checks the mount point (exists, a folder, empty, not already mounted) and
// /dev/fuse, opens the archive, mounts and serves until unmounted
// (fusermount3 -u MOUNTPOINT, umount) or SIGINT/SIGTERM/SIGHUP.
//
// Background mode (!foreground): the process forks first, so that no thread
// exists at the fork. The parent returns once the child has opened the
// archive and mounted (Ok: the mount is ready and usable), or with the
// child's error; it never returns while the mount is half set up. The child,
// its stdio then on /dev/null, returns from this function after unmount; so
// main() simply exits with the result in both processes.
//
// Errors: NotFound (archive or mount point missing), InvalidArgument (mount
// point not a folder / not empty / already mounted, bad -o option), IoError
// (/dev/fuse missing, mount refused), and the archive's errors.
Status RunMount(const MountOptions& options);

}  // namespace dcmfs
