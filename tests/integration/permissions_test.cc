// Who may see what, enforced by the kernel: with -o allow_other and
// --identified-mode 0750 --identified-group root, an unprivileged user (nobody,
// switched to with setpriv) reads /anonymized but is refused (EACCES) in
// /patients and /studies, by listing, by path and through xattrs, IIIF files
// (which lead to identified images) included; a member of the group is let
// in. The archive secret is 0600 and shows in no file.
//
// Needs root (to mount with allow_other for others and to become nobody).
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

constexpr const char* kAsNobody = "setpriv --reuid=65534 --regid=65534 --clear-groups -- ";
// nobody with the identified group (root, gid 0) as a supplementary group.
constexpr const char* kAsGroupMember = "setpriv --reuid=65534 --regid=65534 --groups=0 -- ";

// A folder every user may traverse (TempDir's are 0700 below root's TMPDIR),
// removed with everything in it.
class OpenFolder {
 public:
  OpenFolder() {
    char tmpl[] = "/tmp/dcmfs-perm-XXXXXX";
    if (mkdtemp(tmpl) != nullptr) path_ = tmpl;
    if (!path_.empty()) chmod(path_.c_str(), 0755);
  }
  ~OpenFolder() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }
  bool ok() const { return !path_.empty(); }

 private:
  std::string path_;
};

class PermissionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (CI runs as root)";
    ASSERT_TRUE(open_.ok());
    files_ = MakeSynthetic(dir_.Sub("dicom"));
    CommandResult r = Dcmfs("ingest " + Q(Archive()) + " " + Q(dir_.Sub("dicom")));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    mount_ = std::make_unique<MountedArchive>(
        Archive(), open_.Sub("mnt"),
        std::vector<std::string>{"-o", "allow_other", "--identified-mode", "0750",
                                 "--identified-group", "root"});
    ASSERT_TRUE(mount_->ok()) << mount_->log();
  }
  void TearDown() override { mount_.reset(); }  // unmount before the folder goes
  std::string Archive() const { return dir_.Sub("archive"); }
  std::string Mnt() const { return mount_->path(); }
  // The first file below `folder` named *.dcm (found as root).
  std::string FirstDcm(const std::string& folder) const {
    for (const std::string& p : FilesBelow(folder)) {
      if (p.ends_with(".dcm")) return p;
    }
    return "";
  }

  TempDir dir_;
  OpenFolder open_;
  std::vector<SyntheticFile> files_;
  std::unique_ptr<MountedArchive> mount_;
};

void ExpectDenied(const std::string& command) {
  CommandResult r = Shell(kAsNobody + command);
  EXPECT_NE(r.exit_code, 0) << command << "\n" << r.output;
  EXPECT_NE(r.output.find("Permission denied"), std::string::npos) << command << "\n" << r.output;
}

TEST_F(PermissionsTest, NobodyReadsAnonymizedButNotTheIdentifiedTrees) {
  CommandResult ls = Shell(kAsNobody + std::string("ls ") + Q(Mnt() + "/anonymized"));
  ASSERT_EQ(ls.exit_code, 0) << ls.output;
  EXPECT_FALSE(ls.output.empty());
  std::string anon_file = FirstDcm(Mnt() + "/anonymized");
  ASSERT_FALSE(anon_file.empty());
  CommandResult cat = Shell(kAsNobody + std::string("cat ") + Q(anon_file) + " | wc -c");
  ASSERT_EQ(cat.exit_code, 0) << cat.output;
  EXPECT_EQ(std::stoull(cat.output), std::filesystem::file_size(anon_file));

  std::string identified = FirstDcm(Mnt() + "/patients");
  ASSERT_FALSE(identified.empty());
  ExpectDenied("ls " + Q(Mnt() + "/patients"));
  ExpectDenied("ls " + Q(Mnt() + "/studies"));
  ExpectDenied("cat " + Q(identified));
  ExpectDenied("cat " + Q(StudiesPath(Mnt(), files_[0])));
  ExpectDenied("getfattr -d " + Q(identified));
  ExpectDenied("getfattr -d " + Q(StudiesPath(Mnt(), files_[0])));
}

// IIIF files lead to identified images: refused in /patients and /studies by
// path (info.json, a tile, a request path that is not listed, manifests),
// by listing and through xattrs; their /anonymized twins are readable.
TEST_F(PermissionsTest, NobodyIsRefusedIiifOfTheIdentifiedTrees) {
  for (const char* view : {"/patients/*/*/*", "/studies/*/*"}) {
    CommandResult found = Shell("ls -d " + Mnt() + view + "/iiif/1.* | head -1");  // as root
    const std::string svc = found.output.substr(0, found.output.find('\n'));
    ASSERT_FALSE(svc.empty()) << view << "\n" << found.output;
    const std::string series = std::filesystem::path(svc).parent_path().parent_path().string();
    ASSERT_TRUE(std::filesystem::exists(svc + "/info.json"));  // root may
    ExpectDenied("cat " + Q(svc + "/info.json"));
    ExpectDenied("cat " + Q(svc + "/full/max/0/default.jpg"));
    ExpectDenied("cat " + Q(svc + "/pct:0,0,50,50/max/90/default.png"));
    ExpectDenied("cat " + Q(series + "/manifest.json"));
    ExpectDenied("cat " + Q(series + "/iiif/study-manifest.json"));
    ExpectDenied("ls " + Q(svc));
    ExpectDenied("getfattr -d " + Q(svc + "/info.json"));
    ExpectDenied("getfattr -d " + Q(series + "/manifest.json"));
  }
  CommandResult anon = Shell("ls -d " + Mnt() + "/anonymized/*/*/*/iiif/2.25.* | head -1");
  const std::string svc = anon.output.substr(0, anon.output.find('\n'));
  ASSERT_FALSE(svc.empty()) << anon.output;
  CommandResult info = Shell(kAsNobody + std::string("cat ") + Q(svc + "/info.json"));
  EXPECT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("ImageService3"), std::string::npos) << info.output;
  CommandResult tile = Shell(kAsNobody + std::string("cat ") + Q(svc + "/full/max/0/default.jpg") +
                             " | wc -c");
  EXPECT_EQ(tile.exit_code, 0) << tile.output;
  EXPECT_GT(std::stoull(tile.output), 0u);
}

TEST_F(PermissionsTest, TheIdentifiedGroupIsLetIn) {
  std::string identified = FirstDcm(Mnt() + "/patients");
  ASSERT_FALSE(identified.empty());
  CommandResult cat = Shell(kAsGroupMember + std::string("cat ") + Q(identified) + " | sha256sum");
  ASSERT_EQ(cat.exit_code, 0) << cat.output;
  EXPECT_EQ(cat.output.substr(0, 64), HexOfFile(identified));
  CommandResult attrs = Shell(kAsGroupMember + std::string("getfattr -d ") + Q(identified));
  EXPECT_EQ(attrs.exit_code, 0) << attrs.output;
  EXPECT_NE(attrs.output.find("user.dicom."), std::string::npos) << attrs.output;
  struct stat st{};
  ASSERT_EQ(stat((Mnt() + "/patients").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0550u) << "0750 without write bits (read-only)";
  EXPECT_EQ(st.st_gid, 0u);
}

TEST_F(PermissionsTest, SecretIsPrivateAndShowsInNoFile) {
  std::string secret_path = Archive() + "/secret";
  struct stat st{};
  ASSERT_EQ(stat(secret_path.c_str(), &st), 0) << "ARCHIVE/secret missing";
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  std::string secret = ReadFileOrEmpty(secret_path);
  ASSERT_GE(secret.size(), 16u);
  std::string hex;
  for (unsigned char c : secret) {
    hex += "0123456789abcdef"[c >> 4];
    hex += "0123456789abcdef"[c & 15];
  }
  std::vector<std::string> files = FilesBelow(Mnt());
  files.push_back(Mnt() + "/.dcmfs/stats.json");  // found by name only
  size_t scanned = 0;
  for (const std::string& p : files) {
    std::string bytes = ReadFileOrEmpty(p);
    EXPECT_EQ(bytes.find(secret), std::string::npos) << p;
    EXPECT_EQ(bytes.find(hex), std::string::npos) << p;
    ++scanned;
  }
  EXPECT_GT(scanned, 2 * files_.size());
}

}  // namespace
}  // namespace dcmfs::testing
