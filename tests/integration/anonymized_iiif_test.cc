// IIIF in /anonymized, served by nginx like the identified view
// (iiif_test.cc): the synthetic IIIF set (tests/integration/iiif_data.py: a
// CT series, a multi-frame instance, a whole-slide pyramid) plus a copy of a
// CT slice turned into an ultrasound image that may show burned-in text, in
// a series of its own. tests/integration/anon_iiif_check.py checks every
// anonymized service with iiif_check.py's checks, that ids are the UIDs of
// the de-identified files, that tiles equal the identified ones byte for
// byte, the manifests, that the burned-in series has no IIIF, and that no
// original UID, name, ID, date or description is in any IIIF byte. The PHI
// scan of anonymized_test.cc then reads every file of the view too.
#include "tests/integration/fixture.h"
#include "tests/integration/nginx.h"
#include "tests/integration/phi_check.h"

namespace dcmfs::testing {
namespace {

// A copy of `source` as an ultrasound image with no BurnedInAnnotation, in a
// new series: the anonymized view leaves that series' images out.
void WriteBurnedInSeries(const std::string& source, const std::string& dest) {
  std::filesystem::create_directories(std::filesystem::path(dest).parent_path());
  std::filesystem::copy_file(source, dest);
  CommandResult r = Shell(std::string("dcmodify -nb -imt -i '(0008,0060)=US' ") +
                          "-i '(0008,0016)=1.2.840.10008.5.1.4.1.1.6.1' " +
                          "-i '(0008,0018)=1.2.826.0.1.3680043.10.1234.998.1' " +
                          "-i '(0020,000e)=1.2.826.0.1.3680043.10.1234.998' " +
                          "-i '(0020,0011)=9' -i '(0020,0013)=9999' -e '(0028,0301)' " + Q(dest));
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

class AnonymizedIiifTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.Sub("data");
    auto made = Shell("/usr/bin/python3 " + Q(SourceDir() + "/tests/integration/iiif_data.py") +
                      " " + Q(data_) + " --mf-no-burned-in");
    ASSERT_EQ(made.exit_code, 0) << made.output;
    std::string first_ct;
    for (const std::string& p : FilesBelow(data_ + "/ct")) first_ct = p;
    ASSERT_FALSE(first_ct.empty());
    WriteBurnedInSeries(first_ct, data_ + "/burned/us.dcm");
    auto ingest = Dcmfs("ingest " + Q(dir_.Sub("archive")) + " " + Q(data_) + " --no-progress");
    ASSERT_EQ(ingest.exit_code, 0) << ingest.output;
  }

  TempDir dir_;
  std::string data_;
};

TEST_F(AnonymizedIiifTest, SameServicesUnderPseudonymousIdsWithoutPhi) {
  if (Shell("command -v nginx").exit_code != 0) GTEST_FAIL() << "nginx is not installed";
  const int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  MountedArchive mount(dir_.Sub("archive"), dir_.Sub("mnt"), "iiif_base=" + base);
  ASSERT_TRUE(mount.ok()) << mount.log();
  Nginx nginx(dir_, mount.path(), port, dir_.Sub("viewer"));
  ASSERT_TRUE(nginx.ok()) << nginx.log();

  auto checked =
      Shell("/usr/bin/python3 " + Q(SourceDir() + "/tests/integration/anon_iiif_check.py") + " " +
            Q(base) + " " + Q(mount.path()) + " " + Q(data_) + " 2>&1");
  EXPECT_EQ(checked.exit_code, 0) << checked.output;
  EXPECT_NE(checked.output.find(" 0 failures"), std::string::npos) << checked.output;

  // The view-wide PHI scan (names, IDs, UIDs harvested by pydicom) over the
  // same tree, every tile included.
  Checker checker(dir_);
  CommandResult h = checker.Harvest(data_);
  ASSERT_EQ(h.exit_code, 0) << h.output;
  ScanResult scan = checker.Scan(mount.path() + "/anonymized");
  EXPECT_TRUE(scan.findings.empty()) << Joined(scan.findings);
  EXPECT_GT(scan.totals["IIIF"], 30u) << scan.output;
  EXPECT_TRUE(mount.Unmount()) << mount.log();
}

// Request paths that are not listed resolve as in /patients; bad ones are
// ENOENT, and an id that is an original UID is not found in /anonymized.
TEST_F(AnonymizedIiifTest, UnlistedRequestsResolveAndOriginalIdsDoNot) {
  MountedArchive mount(dir_.Sub("archive"), dir_.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  auto found = Shell("ls -d " + Q(mount.path()) + "/anonymized/*/*/*/iiif/2.25.* | head -1");
  const std::string svc = found.output.substr(0, found.output.find('\n'));
  ASSERT_FALSE(svc.empty()) << found.output;
  struct stat st;
  ASSERT_EQ(stat((svc + "/full/^pct:150/!90/bitonal.webp").c_str(), &st), 0);
  EXPECT_GT(st.st_size, 0);
  EXPECT_EQ(ReadFileOrEmpty(svc + "/full/^pct:150/!90/bitonal.webp").size(), size_t(st.st_size));
  for (const char* bad :
       {"full/max/45/default.jpg", "full/max/0/grey.jpg", "99999,0,1,1/max/0/default.jpg"}) {
    errno = 0;
    EXPECT_NE(stat((svc + "/" + bad).c_str(), &st), 0) << bad;
    EXPECT_EQ(errno, ENOENT) << bad;
  }
  // The identified id of the same image is no name in the anonymized folder.
  auto original = Shell("ls -d " + Q(mount.path()) + "/studies/*/*/iiif/1.* | head -1");
  const std::string original_id =
      std::filesystem::path(original.output.substr(0, original.output.find('\n')))
          .filename()
          .string();
  ASSERT_FALSE(original_id.empty());
  const std::string iiif_dir = std::filesystem::path(svc).parent_path().string();
  errno = 0;
  EXPECT_NE(stat((iiif_dir + "/" + original_id + "/info.json").c_str(), &st), 0);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_TRUE(mount.Unmount()) << mount.log();
}

}  // namespace
}  // namespace dcmfs::testing
