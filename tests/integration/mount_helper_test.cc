// Mounting like any other filesystem: util-linux mount(8) with
// `-t fuse.dcmfs` and an /etc/fstab line both reach packaging/mount.fuse.dcmfs,
// which starts dcmfs; the mount serves the archive's bytes; umount(8) ends
// it. Runs in a private mount namespace (unshare) with a tmpfs over /usr/sbin
// holding only the helper, and a bind-mounted fstab, so the machine's /sbin
// and /etc/fstab are never touched. Also: dcmfs reads ARCHIVE/dcmfs.conf.
#include <sys/socket.h>
#include <sys/un.h>

#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

TEST(MountHelperTest, MountTypeFuseDcmfsAndAnFstabLineMountTheArchive) {
  if (geteuid() != 0) GTEST_SKIP() << "mount(8) of a FUSE type needs root";
  TempDir dir;
  std::vector<SyntheticFile> files = MakeSynthetic(dir.Sub("dicom"));
  ASSERT_FALSE(files.empty());
  const std::string archive = dir.Sub("archive");
  ASSERT_EQ(Dcmfs("ingest --no-progress " + Q(archive) + " " + Q(dir.Sub("dicom"))).exit_code, 0);
  std::filesystem::create_directories(dir.Sub("mnt1"));
  std::filesystem::create_directories(dir.Sub("mnt2"));

  // The helper as scripts/install.sh installs it: dcmfs's path filled in.
  std::string helper = ReadFileOrEmpty(SourceDir() + "/packaging/mount.fuse.dcmfs");
  ASSERT_FALSE(helper.empty());
  const std::string placeholder = "@DCMFS_BIN@";
  helper.replace(helper.find(placeholder), placeholder.size(), DcmfsBinary());
  WriteFileOrDie(dir.Sub("mount.fuse.dcmfs"), helper);
  WriteFileOrDie(dir.Sub("fstab"), archive + " " + dir.Sub("mnt2") +
                                       " fuse.dcmfs ro,allow_other,nofail,_netdev,noauto 0 0\n");
  const SyntheticFile& f = files.front();
  const std::string rel = "studies/" + f.study_uid + "/" + f.series_uid + "/" + f.sop_uid + ".dcm";
  const std::string script =
      "set -e\n"
      "mount -t tmpfs tmpfs /usr/sbin\n"
      "install -m 755 " + Q(dir.Sub("mount.fuse.dcmfs")) + " /usr/sbin/mount.fuse.dcmfs\n"
      "mount -t fuse.dcmfs " + Q(archive) + " " + Q(dir.Sub("mnt1")) + " -o ro,allow_other\n"
      "grep ' " + dir.Sub("mnt1") + " ' /proc/self/mounts\n"
      "sha256sum < " + Q(dir.Sub("mnt1") + "/" + rel) + "\n"
      "mount --bind " + Q(dir.Sub("fstab")) + " /etc/fstab\n"
      "mount " + Q(dir.Sub("mnt2")) + "\n"
      "sha256sum < " + Q(dir.Sub("mnt2") + "/" + rel) + "\n"
      "ls " + Q(dir.Sub("mnt2") + "/patients") + " | wc -l\n"
      "umount " + Q(dir.Sub("mnt1")) + "\n"
      "umount " + Q(dir.Sub("mnt2")) + "\n";
  WriteFileOrDie(dir.Sub("inside.sh"), script);
  CommandResult r = Shell("unshare --mount --propagation private sh " + Q(dir.Sub("inside.sh")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string hash = HexOfFile(f.path) + "  -\n";
  EXPECT_NE(r.output.find("fuse.dcmfs"), std::string::npos) << r.output;
  size_t first = r.output.find(hash);
  ASSERT_NE(first, std::string::npos) << r.output;
  EXPECT_NE(r.output.find(hash, first + 1), std::string::npos) << "fstab mount: " << r.output;
  std::set<std::string> patients;
  for (const SyntheticFile& s : files) {
    patients.insert(s.path.substr(0, s.path.find('/', dir.Sub("dicom").size() + 1)));
  }
  EXPECT_NE(r.output.find("\n" + std::to_string(patients.size()) + "\n"), std::string::npos)
      << r.output;
}

// ARCHIVE/dcmfs.conf is read: a [mount] section there hides /anonymized.
TEST(MountHelperTest, ArchiveConfigFileSetsMountOptions) {
  TempDir dir;
  MakeSynthetic(dir.Sub("dicom"));
  const std::string archive = dir.Sub("archive");
  ASSERT_EQ(Dcmfs("ingest --no-progress " + Q(archive) + " " + Q(dir.Sub("dicom"))).exit_code, 0);
  {
    MountedArchive mount(archive, dir.Sub("mnt"));
    ASSERT_TRUE(mount.ok()) << mount.log();
    EXPECT_TRUE(std::filesystem::exists(mount.path() + "/anonymized"));
  }
  WriteFileOrDie(archive + "/dcmfs.conf", "[mount]\nno-anonymized = true\n");
  MountedArchive mount(archive, dir.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  EXPECT_FALSE(std::filesystem::exists(mount.path() + "/anonymized"));
  EXPECT_TRUE(std::filesystem::exists(mount.path() + "/patients"));
}

// The systemd unit is Type=notify: `dcmfs mount -f` sends READY=1 to
// $NOTIFY_SOCKET once mounted and STOPPING=1 when unmounting.
TEST(MountHelperTest, ForegroundMountNotifiesSystemd) {
  TempDir dir;
  MakeSynthetic(dir.Sub("dicom"));
  const std::string archive = dir.Sub("archive");
  ASSERT_EQ(Dcmfs("ingest --no-progress " + Q(archive) + " " + Q(dir.Sub("dicom"))).exit_code, 0);
  const int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = dir.Sub("notify");
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  auto receive = [&] {
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  };
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  {
    MountedArchive mount(archive, dir.Sub("mnt"));
    unsetenv("NOTIFY_SOCKET");
    ASSERT_TRUE(mount.ok()) << mount.log();
    EXPECT_EQ(receive(), "READY=1");
  }
  EXPECT_EQ(receive(), "STOPPING=1");
  close(fd);
}

}  // namespace
}  // namespace dcmfs::testing
