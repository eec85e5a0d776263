// The IIIF publication of a mount, over HTTP: nginx on 127.0.0.1 (a free
// port, a temporary config made from packaging/nginx-dcmfs.conf, paths a
// non-root user may write) serves a mount of synthetic data written by
// pydicom (tests/integration/iiif_data.py: a CT series, a multi-frame
// instance, a JPEG whole-slide pyramid) and the IIIF validator's test image.
// tests/integration/iiif_check.py then checks, with expectations computed on
// its own (pydicom, numpy, PIL): info.json's required properties and id,
// that readdir lists exactly the spec's canonical tile set and that every
// advertised tile exists with the advertised size, level-1/2 requests
// (regions, pct:, sizes, ^, !w,h, rotation, mirroring, bitonal) against the
// DICOM window formulas applied to pydicom's decode, stored whole-slide
// JPEG frames passed through byte for byte, composed whole-slide regions,
// the manifests (spatial order, services and thumbnails that resolve), CORS,
// JSON-LD on request, and 400/404 for bad requests.
#include "tests/integration/fixture.h"
#include "tests/integration/nginx.h"

namespace dcmfs::testing {
namespace {

TEST(IiifTest, NginxServesALevel2ServiceFromTheMount) {
  if (Shell("command -v nginx").exit_code != 0) GTEST_FAIL() << "nginx is not installed";
  TempDir dir;
  const std::string data = dir.Sub("data");
  auto made = Shell("/usr/bin/python3 " + Q(SourceDir() + "/tests/integration/iiif_data.py") + " " +
                    Q(data));
  ASSERT_EQ(made.exit_code, 0) << made.output;
  std::string inputs = Q(data);
  const std::string validator_image = SourceDir() + "/../shared/iiif/validator-testimage.dcm";
  if (std::filesystem::exists(validator_image)) inputs += " " + Q(validator_image);
  auto ingest = Dcmfs("ingest " + Q(dir.Sub("archive")) + " " + inputs + " --no-progress");
  ASSERT_EQ(ingest.exit_code, 0) << ingest.output;

  const int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  MountedArchive mount(dir.Sub("archive"), dir.Sub("mnt"), "iiif_base=" + base);
  ASSERT_TRUE(mount.ok()) << mount.log();
  Nginx nginx(dir, mount.path(), port, dir.Sub("viewer"));
  ASSERT_TRUE(nginx.ok()) << nginx.log();

  auto checked = Shell("/usr/bin/python3 " + Q(SourceDir() + "/tests/integration/iiif_check.py") +
                       " " + Q(base) + " " + Q(mount.path()) + " " + Q(data) + " 2>&1");
  EXPECT_EQ(checked.exit_code, 0) << checked.output;
  EXPECT_NE(checked.output.find(" 0 failures"), std::string::npos) << checked.output;

  // A real viewer: OpenSeadragon from npm in headless Chromium (exit 77 when
  // either is unavailable: reported, not failed).
  auto viewer = Shell("/usr/bin/python3 " + Q(SourceDir() + "/tests/integration/iiif_viewer.py") +
                      " " + Q(base) + " " + Q(mount.path()) + " " + Q(data) + " " +
                      Q(dir.Sub("viewer")) + " 2>&1");
  if (viewer.exit_code == 77) {
    std::cerr << "[ NOTE ] " << viewer.output;
  } else {
    EXPECT_EQ(viewer.exit_code, 0) << viewer.output;
    EXPECT_NE(viewer.output.find("viewer ok"), std::string::npos) << viewer.output;
  }
}

// The shared corpus' real whole-slide pyramid (cmu-1-small-region, 12
// levels of JPEG frames written by another tool): one service, scale
// factors from its levels, stored frames passed through byte for byte, a
// composed region against PIL's decode of the frames.
TEST(IiifTest, CorpusWholeSlidePyramidIsOneServiceWithItsFramesPassedThrough) {
  const std::string corpus = CorpusDir();
  if (corpus.empty()) GTEST_FAIL() << "../shared/corpus is missing";
  if (Shell("command -v nginx").exit_code != 0) GTEST_FAIL() << "nginx is not installed";
  TempDir dir;
  const std::string slide = corpus + "/wsi/dicom-wsi-sample/cmu-1-small-region";
  std::filesystem::create_directories(dir.Sub("data"));
  std::filesystem::create_directory_symlink(slide, dir.Sub("data/wsi"));
  auto ingest = Dcmfs("ingest " + Q(dir.Sub("archive")) + " " + Q(slide) + " --no-progress");
  ASSERT_EQ(ingest.exit_code, 0) << ingest.output;
  const int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  MountedArchive mount(dir.Sub("archive"), dir.Sub("mnt"), "iiif_base=" + base);
  ASSERT_TRUE(mount.ok()) << mount.log();
  Nginx nginx(dir, mount.path(), port, dir.Sub("viewer"));
  ASSERT_TRUE(nginx.ok()) << nginx.log();
  auto checked = Shell("/usr/bin/python3 " + Q(SourceDir() + "/tests/integration/iiif_check.py") +
                       " " + Q(base) + " " + Q(mount.path()) + " " + Q(dir.Sub("data")) +
                       " --wsi-only 2>&1");
  EXPECT_EQ(checked.exit_code, 0) << checked.output;
  EXPECT_NE(checked.output.find(" 0 failures"), std::string::npos) << checked.output;
}

TEST(IiifTest, InvalidRequestPathsAreENOENTNotACrash) {
  TempDir dir;
  const std::string data = dir.Sub("data");
  auto made = Shell("/usr/bin/python3 " + Q(SourceDir() + "/tests/integration/iiif_data.py") + " " +
                    Q(data) + " --wsi-size 0x0");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  ASSERT_EQ(Dcmfs("ingest " + Q(dir.Sub("archive")) + " " + Q(data) + " --no-progress").exit_code, 0);
  MountedArchive mount(dir.Sub("archive"), dir.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  // One image service: the first folder under some series' iiif/.
  auto found = Shell("ls -d " + Q(mount.path()) + "/studies/*/*/iiif/1* | head -1");
  std::string svc = found.output.substr(0, found.output.find('\n'));
  ASSERT_FALSE(svc.empty());
  for (const char* bad :
       {"full/max/0/default.gif", "full/max/45/default.jpg", "full/0,/0/default.jpg",
        "99999,0,10,10/max/0/default.jpg", "full/max/0/grey.jpg", "pct:,,,/max/0/default.jpg",
        "full/99999,/0/default.jpg", "full/max/-90/default.jpg",
        "%zz/max/0/default.jpg", "full/max/0/.jpg", "full/^pct:0/0/default.jpg"}) {
    struct stat st;
    errno = 0;
    EXPECT_NE(stat((svc + "/" + bad).c_str(), &st), 0) << bad;
    EXPECT_EQ(errno, ENOENT) << bad;
  }
  struct stat below_file;
  errno = 0;
  EXPECT_NE(stat((svc + "/full/max/0/default.jpg/x").c_str(), &below_file), 0);
  EXPECT_EQ(errno, ENOTDIR);  // a tile is a file
  struct stat st;
  EXPECT_EQ(stat((svc + "/full/^pct:150/!90/bitonal.webp").c_str(), &st), 0);
  EXPECT_GT(st.st_size, 0);
  EXPECT_EQ(ReadFileOrEmpty(svc + "/full/^pct:150/!90/bitonal.webp").size(), size_t(st.st_size));
  EXPECT_TRUE(mount.Unmount()) << mount.log();
}

}  // namespace
}  // namespace dcmfs::testing
