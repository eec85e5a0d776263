// Mounting: checks, the optional daemon fork, the libfuse session and its
// multithreaded loop. The callbacks are in fs/fuse_ops.cc.
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

#include "base/log.h"
#include "fs/internal/fuse_ops.h"
#include "fs/mount.h"

namespace dcmfs {
namespace {

Status CheckDevFuse() {
  if (access("/dev/fuse", R_OK | W_OK) != 0) {
    return Status::IoError(
        "/dev/fuse is missing or not accessible (load the fuse module; in a container "
        "pass --device /dev/fuse)");
  }
  return Status::Ok();
}

Status CheckMountpoint(const std::string& mp) {
  struct stat st {};
  if (stat(mp.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound("mount point " + mp + " does not exist");
    if (err == ENOTCONN) {
      return Status::InvalidArgument("mount point " + mp +
                                     " is a dead FUSE mount; run: fusermount3 -u " + mp);
    }
    return Status::FromErrno("mount point " + mp, err);
  }
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument("mount point " + mp + " is not a folder");
  struct stat parent {};
  std::string up = mp + "/..";
  if (stat(up.c_str(), &parent) == 0 && (parent.st_dev != st.st_dev || parent.st_ino == st.st_ino)) {
    return Status::InvalidArgument("mount point " + mp +
                                   " is already a mount point (unmount it first: fusermount3 -u " +
                                   mp + ")");
  }
  DIR* dir = opendir(mp.c_str());
  if (dir == nullptr) return Status::FromErrno("mount point " + mp, errno);
  bool empty = true;
  while (dirent* d = readdir(dir)) {
    std::string_view n = d->d_name;
    if (n != "." && n != "..") {
      empty = false;
      break;
    }
  }
  closedir(dir);
  if (!empty) return Status::InvalidArgument("mount point " + mp + " is not empty");
  return Status::Ok();
}

// True if a "-o" value holds "ro": the user asked for a read-only mount,
// which then has no /incoming.
bool HasReadOnlyOption(const std::vector<std::string>& options) {
  for (const std::string& group : options) {
    std::string_view rest = group;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      if (rest.substr(0, comma) == "ro") return true;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return false;
}

// "-o max_read=N" must also reach conn->max_read in init.
uint32_t MaxReadOption(const std::vector<std::string>& options) {
  uint32_t value = 0;
  for (const std::string& group : options) {
    std::string_view rest = group;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view opt = rest.substr(0, comma);
      if (opt.starts_with("max_read=")) value = std::stoul(std::string(opt.substr(9)));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return value;
}

// Tells the waiting parent how mounting went (background mode only).
class ReadyReporter {
 public:
  explicit ReadyReporter(int fd) : fd_(fd) {}
  ~ReadyReporter() { Close(); }
  bool reported() const { return fd_ < 0; }
  // Mounted: the parent may exit. Detaches this process from the terminal.
  void Ready() { Send("OK"); }
  void Failed(const Status& status) {
    Send(std::to_string(static_cast<int>(status.code())) + "\n" + status.message());
  }

 private:
  void Send(const std::string& message) {
    if (fd_ < 0) return;
    if (write(fd_, message.data(), message.size()) < 0) {
      // The parent is gone; nothing more to tell.
    }
    Close();
    // Logs from here on have no terminal; errors were sent to the parent.
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, STDIN_FILENO);
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
      if (null > STDERR_FILENO) close(null);
    }
    if (chdir("/") != 0) {
      // Paths were made absolute before the fork; the folder is just not pinned.
    }
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int fd_;
};

std::vector<std::string> FuseArgs(const MountOptions& options) {
  // Not "ro" unless asked: /incoming is writable. Every other node refuses
  // writes itself (EROFS) and, with default_permissions, the kernel refuses
  // them first by mode (EACCES) for anyone but root.
  std::string base = "default_permissions,subtype=dcmfs,fsname=" + options.archive_root;
  if (!options.fs.incoming) base = "ro," + base;
  std::vector<std::string> args = {"dcmfs", "-o", base};
  for (const std::string& o : options.fuse_options) {
    args.push_back("-o");
    args.push_back(o);
  }
  if (options.debug) args.push_back("-d");
  return args;
}

// Owns a libfuse session from creation to destruction.
class Session {
 public:
  ~Session() {
    if (se_ == nullptr) return;
    if (mounted_) fuse_session_unmount(se_);
    if (signals_) fuse_remove_signal_handlers(se_);
    fuse_session_destroy(se_);
  }
  Status Create(const MountOptions& options, FuseContext* ctx) {
    std::vector<std::string> strings = FuseArgs(options);
    std::vector<char*> argv;
    for (std::string& s : strings) argv.push_back(s.data());
    fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
    fuse_lowlevel_ops ops;
    FillFuseOps(&ops);
    se_ = fuse_session_new(&args, &ops, sizeof(ops), ctx);
    fuse_opt_free_args(&args);
    if (se_ == nullptr) return Status::InvalidArgument("libfuse refused the mount options (see above)");
    if (fuse_set_signal_handlers(se_) != 0) return Status::Internal("cannot set signal handlers");
    signals_ = true;
    if (fuse_session_mount(se_, options.mountpoint.c_str()) != 0) {
      return Status::IoError("mounting " + options.mountpoint + " failed (see above)");
    }
    mounted_ = true;
    return Status::Ok();
  }
  Status Loop(const MountOptions& options) {
    int rc;
    if (options.single_threaded) {
      rc = fuse_session_loop(se_);
    } else {
      fuse_loop_config config{};
      config.clone_fd = options.clone_fd ? 1 : 0;
      config.max_idle_threads = options.max_idle_threads;
      rc = fuse_session_loop_mt(se_, &config);
    }
    // A positive result is the signal that ended the loop: a clean stop.
    if (rc < 0) return Status::FromErrno("FUSE session loop", -rc);
    return Status::Ok();
  }

 private:
  fuse_session* se_ = nullptr;
  bool signals_ = false;
  bool mounted_ = false;
};

// Opens the archive, mounts, reports readiness and serves until unmounted.
Status Serve(const MountOptions& options, ReadyReporter* reporter) {
  FilesystemOptions fs_options = options.fs;
  fs_options.archive_root = options.archive_root;
  ASSIGN_OR_RETURN(std::unique_ptr<Filesystem> fs, Filesystem::Open(fs_options));
  FuseContext ctx;
  ctx.fs = fs.get();
  ctx.max_read = MaxReadOption(options.fuse_options);
  {
    Session session;
    RETURN_IF_ERROR(session.Create(options, &ctx));
    std::shared_ptr<void> services;  // destroyed before the session unmounts
    if (options.start_services) {
      ASSIGN_OR_RETURN(services, options.start_services(*fs));
    }
    if (reporter != nullptr) reporter->Ready();
    // Threads start only now: after any fork (they would not survive it).
    fs->StartBackground();
    DCMFS_LOG(Info) << "mounted " << options.archive_root << " on " << options.mountpoint;
    RETURN_IF_ERROR(session.Loop(options));
  }  // unmounts before the filesystem object goes away
  return Status::Ok();
}

// The parent side of background mode: waits for the child's verdict.
Status WaitForChild(int fd, pid_t child) {
  std::string message;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) message.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  if (message == "OK") return Status::Ok();
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  size_t nl = message.find('\n');
  if (nl == std::string::npos) return Status::Internal("the mount process exited before mounting");
  int code = std::atoi(message.substr(0, nl).c_str());
  return Status(static_cast<StatusCode>(code), message.substr(nl + 1));
}

}  // namespace

Status RunMount(const MountOptions& in) {
  MountOptions options = in;
  std::error_code ec;
  // Absolute paths: the daemon changes to "/" and RocksDB opens files later.
  options.archive_root = std::filesystem::absolute(in.archive_root, ec).lexically_normal();
  options.mountpoint = std::filesystem::absolute(in.mountpoint, ec).lexically_normal();
  while (options.mountpoint.size() > 1 && options.mountpoint.back() == '/') options.mountpoint.pop_back();
  if (HasReadOnlyOption(options.fuse_options)) options.fs.incoming = false;
  RETURN_IF_ERROR(CheckDevFuse());
  RETURN_IF_ERROR(CheckMountpoint(options.mountpoint));
  if (options.foreground || options.debug) return Serve(options, nullptr);

  // Fork before anything starts a thread (RocksDB, libfuse workers, ours):
  // threads do not survive fork(), which is why fuse_daemonize() after
  // opening the archive is not used. The child reports through a pipe.
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno("pipe", errno);
  pid_t pid = fork();
  if (pid < 0) return Status::FromErrno("fork", errno);
  if (pid > 0) {
    close(fds[1]);
    return WaitForChild(fds[0], pid);
  }
  close(fds[0]);
  setsid();
  ReadyReporter reporter(fds[1]);
  Status s = Serve(options, &reporter);
  if (!reporter.reported()) reporter.Failed(s);
  return s;
}

}  // namespace dcmfs
