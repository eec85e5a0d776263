// The read path of blobs on S3 against a real Ceph RADOS Gateway (one
// cluster for this binary): how many bytes the mount fetches to serve one
// IIIF tile of the corpus slide and one slice of a series.nii, measured by
// the mount's own counters (/.dcmfs/stats.json) against the size the tile
// or slice has in the original DICOM file (pydicom, not our code); the
// bytes served equal the local backend's; and the on-disk cache of fetched
// frames: bounded, kept across a remount, serving while the gateway is down.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <regex>
#include <thread>

#include "tests/integration/fixture.h"
#include "tests/support/ceph_cluster.h"

namespace dcmfs::testing {
namespace {

constexpr const char* kBucket = "dcmfs-read";
constexpr const char* kSlide = "wsi/dicom-wsi-sample/cmu-1-small-region";

class S3ReadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = CephCluster::Start(&error_).release();
    if (cluster_ == nullptr) return;
    dir_ = new TempDir();
    if (CorpusDir().empty()) {
      error_ = "../shared/corpus is missing";
      return;
    }
    SyntheticOptions o;
    o.rows = o.columns = 512;
    o.ct_slices = 12;
    o.mr_slices = 4;
    synth_ = MakeSynthetic(dir_->Sub("synth"), o);
    const std::string inputs = Q(dir_->Sub("synth")) + " " + Q(CorpusDir() + "/" + kSlide);
    CommandResult s3 =
        Dcmfs("ingest --no-progress " + S3Flags() + " " + Q(S3Archive()) + " " + inputs);
    CommandResult local = Dcmfs("ingest --no-progress " + Q(LocalArchive()) + " " + inputs);
    if (s3.exit_code != 0 || local.exit_code != 0) {
      error_ = "ingest failed:\n" + s3.output + "\n" + local.output;
    }
    // Reads must fail fast once the gateway is gone: a 3 s budget.
    const std::string conf = S3Archive() + "/store.conf";
    std::string text = ReadFileOrEmpty(conf);
    const size_t at = text.find("timeout_ms = 10000");
    if (at == std::string::npos)
      error_ = "store.conf has no default timeout_ms:\n" + text;
    else
      WriteFileOrDie(conf, text.replace(at, 18, "timeout_ms = 3000"));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
    if (cluster_ != nullptr) {
      EXPECT_EQ(cluster_->Stop(), "");
    }
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    if (cluster_ == nullptr || !error_.empty()) GTEST_FAIL() << error_;
  }

  static std::string S3Flags() {
    return "--s3-endpoint " + Q(cluster_->endpoint()) + " --s3-bucket " + kBucket +
           " --s3-region " + Q(cluster_->region()) + " --s3-prefix r/ --s3-credentials " +
           Q(cluster_->env_file());
  }
  static std::string S3Archive() { return dir_->Sub("s3-archive"); }
  static std::string LocalArchive() { return dir_->Sub("local-archive"); }

  // A counter of the mount's blob store (the stats file is a snapshot of up to 1 s ago).
  static uint64_t BlobCounter(const std::string& mnt, const std::string& name) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    const std::string json = ReadFileOrEmpty(mnt + "/.dcmfs/stats.json");
    std::smatch m;
    const std::regex re("\"blob_store\":\\s*\\{[^}]*\"" + name + "\":\\s*([0-9]+)");
    EXPECT_TRUE(std::regex_search(json, m, re)) << json;
    return m.empty() ? 0 : std::stoull(m[1]);
  }
  static uint64_t Fetched(const std::string& mnt) { return BlobCounter(mnt, "bytes_fetched"); }

  // `length` bytes at `offset` of a file (one pread, as a viewer would).
  static std::string Pread(const std::string& path, uint64_t offset, size_t length) {
    std::string out(length, '\0');
    const int fd = ::open(path.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0) << path;
    if (fd < 0) return "";
    const ssize_t n = ::pread(fd, out.data(), length, static_cast<off_t>(offset));
    ::close(fd);
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return out;
  }

  // pydicom's answer for a file: a Python expression over `ds`.
  static std::string Pydicom(const std::string& file, const std::string& expr) {
    CommandResult r = Shell(
        "/usr/bin/python3 -c " +
        Q("import sys, pydicom\nfrom pydicom.encaps import generate_pixel_data_frame as frames\n"
          "ds = pydicom.dcmread(sys.argv[1])\nprint(" +
          expr + ")") +
        " " + Q(file));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    while (!r.output.empty() && r.output.back() == '\n') r.output.pop_back();
    return r.output;
  }

  // The CT series of the synthetic set in explicit VR little endian (native pixels).
  static const SyntheticFile* NativeCt() {
    for (const SyntheticFile& f : synth_) {
      if (Pydicom(f.path, "ds.Modality + ' ' + str(ds.file_meta.TransferSyntaxUID)") ==
          "CT 1.2.840.10008.1.2.1") {
        return &f;
      }
    }
    return nullptr;
  }

  static CephCluster* cluster_;
  static std::string error_;
  static TempDir* dir_;
  static std::vector<SyntheticFile> synth_;
};

CephCluster* S3ReadTest::cluster_ = nullptr;
std::string S3ReadTest::error_;
TempDir* S3ReadTest::dir_ = nullptr;
std::vector<SyntheticFile> S3ReadTest::synth_;

// One 256-pixel IIIF tile of level 0 (500 x 500 JPEG tiles, no Basic Offset
// Table) costs at most twice the stored tile it is cut from, not the level;
// the whole stored tile, passed through, is exactly pydicom's frame bytes.
// Both equal what the local backend serves.
TEST_F(S3ReadTest, OneIiifTileFetchesAboutItsStoredTile) {
  const std::string level0 = CorpusDir() + "/" + kSlide + "/level-0-frames-0-30.dcm";
  const std::string study = Pydicom(level0, "ds.StudyInstanceUID");
  const std::string series = Pydicom(level0, "ds.SeriesInstanceUID");
  // An interior stored tile (5 x 6 tiles of 500 px) lying past the first
  // 128 KiB: the mount reads a header prefix of each level when it lists
  // the slide, which already holds the first tiles.
  const std::string pick =
      Pydicom(level0,
              "next(f'{i} {len(f)}' for i, f in enumerate(frames(ds.PixelData, 30)) "
              "if open(sys.argv[1], 'rb').read().find(f) > 131072 and i % 5 < 4 and i < 25)");
  const uint32_t index = static_cast<uint32_t>(std::stoul(pick));
  const uint64_t stored = std::stoull(pick.substr(pick.find(' ') + 1));
  const std::string at = std::to_string(index % 5 * 500) + "," + std::to_string(index / 5 * 500);
  const std::string frame = dir_->Sub("frame.jpg");
  // PS3.5 A.4: a JPEG ending on an odd byte carries one 00 pad, not part of the stream.
  Pydicom(level0, "open('" + frame + "', 'wb').write(list(frames(ds.PixelData, 30))[" +
                      std::to_string(index) + "].rstrip(b'\\0'))");
  MountedArchive s3(S3Archive(), dir_->Sub("mnt-s3"),
                    std::vector<std::string>{"--no-persistent-cache"});
  ASSERT_TRUE(s3.ok()) << s3.log();
  MountedArchive local(LocalArchive(), dir_->Sub("mnt-local"),
                       std::vector<std::string>{"--no-persistent-cache"});
  ASSERT_TRUE(local.ok()) << local.log();
  const std::string svc = "/studies/" + study + "/" + series + "/iiif/" + series;
  ASSERT_FALSE(ReadFileOrEmpty(s3.path() + svc + "/info.json").empty()) << s3.log();
  const uint64_t before = Fetched(s3.path());
  const std::string tile =
      ReadFileOrEmpty(s3.path() + svc + "/" + at + ",256,256/256,/0/default.jpg");
  const uint64_t fetched = Fetched(s3.path()) - before;
  ASSERT_FALSE(tile.empty()) << s3.log();
  EXPECT_GT(fetched, stored / 2);  // it was fetched now (it compresses little)
  EXPECT_LE(fetched, 2 * stored) << "stored tile " << index << ": " << stored << " B";
  EXPECT_EQ(tile, ReadFileOrEmpty(local.path() + svc + "/" + at + ",256,256/256,/0/default.jpg"));
  // The stored tile itself (a pass-through), then a region over four tiles.
  const uint64_t before_whole = Fetched(s3.path());
  EXPECT_EQ(ReadFileOrEmpty(s3.path() + svc + "/" + at + ",500,500/500,/0/default.jpg"),
            ReadFileOrEmpty(frame));
  EXPECT_EQ(Fetched(s3.path()), before_whole);  // that tile is already here
  EXPECT_EQ(ReadFileOrEmpty(s3.path() + svc + "/400,100,300,300/300,/0/default.png"),
            ReadFileOrEmpty(local.path() + svc + "/400,100,300,300/300,/0/default.png"));
}

// One slice's worth of series.nii, from a mount whose series plan is cached
// on disk (the usual case after a first look), fetches at most twice the
// slice's bytes in the original file (Rows x Columns x BitsAllocated / 8).
TEST_F(S3ReadTest, OneNiftiSliceFetchesAtMostTwiceItsBytes) {
  const SyntheticFile* ct = NativeCt();
  ASSERT_NE(ct, nullptr);
  const uint64_t slice =
      std::stoull(Pydicom(ct->path, "ds.Rows * ds.Columns * ds.BitsAllocated // 8"));
  const std::string rel = "/studies/" + ct->study_uid + "/" + ct->series_uid + "/series.nii";
  {
    MountedArchive first(S3Archive(), dir_->Sub("mnt-s3"),
                         std::vector<std::string>{"--blob-disk-cache-size", "0"});
    ASSERT_TRUE(first.ok()) << first.log();
    ASSERT_EQ(Pread(first.path() + rel, 0, 352).size(), 352u);  // builds and keeps the plan
  }
  MountedArchive s3(S3Archive(), dir_->Sub("mnt-s3"),
                    std::vector<std::string>{"--blob-disk-cache-size", "0"});
  ASSERT_TRUE(s3.ok()) << s3.log();
  MountedArchive local(LocalArchive(), dir_->Sub("mnt-local"),
                       std::vector<std::string>{"--no-persistent-cache"});
  ASSERT_TRUE(local.ok()) << local.log();
  const std::string path = s3.path() + rel;
  const uint64_t before = Fetched(s3.path());
  const std::string header = Pread(path, 0, 352);
  ASSERT_EQ(header.size(), 352u);
  float vox_offset = 0;
  std::memcpy(&vox_offset, header.data() + 108, 4);
  const uint64_t at = static_cast<uint64_t>(vox_offset) + 5 * slice;
  const std::string got = Pread(path, at, slice);
  const uint64_t fetched = Fetched(s3.path()) - before;
  EXPECT_EQ(got.size(), slice);
  EXPECT_LE(fetched, 2 * slice) << "slice " << slice << " B";
  EXPECT_TRUE(got == Pread(local.path() + rel, at, slice))
      << "slice bytes differ from the local mount's";
}

// Frames fetched by one mount are on disk for the next: a remount reads the
// same files without fetching, the cache stays within its bound, and with
// the gateway stopped what is cached still reads (what is not: EIO).
TEST_F(S3ReadTest, DiskCacheKeepsFetchedFramesAcrossARemount) {
  const SyntheticFile* ct = NativeCt();
  ASSERT_NE(ct, nullptr);
  std::vector<const SyntheticFile*> series;
  for (const SyntheticFile& f : synth_) {
    if (f.series_uid == ct->series_uid) series.push_back(&f);
  }
  ASSERT_GE(series.size(), 6u);
  const std::string cache = S3Archive() + "/blob-cache";
  std::filesystem::remove_all(cache);
  const uint64_t bound = 4ull << 20;
  // The memory cache smaller than the disk one, as in real use (64M vs 1G):
  // a frame hot in memory is then also among the most recent on disk.
  const std::vector<std::string> args = {"--blob-disk-cache-size", "4M", "--blob-cache-size", "1M"};
  auto dcm = [&](const MountedArchive& m, const SyntheticFile* f) {
    return ReadFileOrEmpty(StudiesPath(m.path(), *f));
  };
  {
    MountedArchive first(S3Archive(), dir_->Sub("mnt-s3"), args);
    ASSERT_TRUE(first.ok()) << first.log();
    // More than the bound (the oldest frames are evicted), then the three
    // files a remount will read: the most recent on disk. (Read once each:
    // a second read in the same mount comes from the kernel's page cache,
    // which the blob caches never see.)
    for (const SyntheticFile& f : synth_) {
      if (f.path == series[0]->path || f.path == series[1]->path || f.path == series[2]->path)
        continue;
      EXPECT_EQ(dcm(first, &f), ReadFileOrEmpty(f.path)) << f.path;
    }
    for (size_t i = 0; i < 3; ++i)
      EXPECT_EQ(dcm(first, series[i]), ReadFileOrEmpty(series[i]->path));
    EXPECT_GT(Fetched(first.path()), 0u);
    EXPECT_GT(BlobCounter(first.path(), "disk_evictions"), 0u);
  }
  uint64_t on_disk = 0;
  size_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(cache)) {
    if (e.is_regular_file()) on_disk += e.file_size(), ++files;
  }
  EXPECT_LE(on_disk, bound + 40 * files);  // payloads + 40-byte headers
  EXPECT_GT(on_disk, bound / 2);
  MountedArchive second(S3Archive(), dir_->Sub("mnt-s3"), args);
  ASSERT_TRUE(second.ok()) << second.log();
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(dcm(second, series[i]), ReadFileOrEmpty(series[i]->path));
  EXPECT_EQ(Fetched(second.path()), 0u);
  EXPECT_GT(BlobCounter(second.path(), "disk_hits"), 0u);
  ASSERT_EQ(cluster_->StopGateway(), "");
  MountedArchive third(S3Archive(), dir_->Sub("mnt-s3b"), args);
  ASSERT_TRUE(third.ok()) << third.log();
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(dcm(third, series[i]), ReadFileOrEmpty(series[i]->path));
  // A slide instance was never read through a disk-cached mount: EIO, not a
  // hang. Named, not listed: a listing of its folder would size the derived
  // files, which needs the store too.
  const std::string smallest = CorpusDir() + "/" + kSlide + "/level-11-frames-0-1.dcm";
  const std::string unread = third.path() + "/studies/" + Pydicom(smallest, "ds.StudyInstanceUID") +
                             "/" + Pydicom(smallest, "ds.SeriesInstanceUID") + "/" +
                             Pydicom(smallest, "ds.SOPInstanceUID") + ".dcm";
  const auto t0 = std::chrono::steady_clock::now();
  CommandResult r = Shell("cat " + Q(unread) + " > /dev/null");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("Input/output error"), std::string::npos) << r.output;
  EXPECT_LT(std::chrono::steady_clock::now() - t0,
            std::chrono::seconds(3 + 2));  // store.conf budget 3 s
  // A listing of the slide's folder sizes derived files that each need the
  // store: one budget in all, not one per file (it was 28 s), since the
  // store is probed, not waited for, once it stopped answering.
  const std::string folder = std::filesystem::path(unread).parent_path().string();
  const auto t1 = std::chrono::steady_clock::now();
  CommandResult listing = Shell("ls -l " + Q(folder) + " 2>&1");
  EXPECT_NE(listing.output.find(Pydicom(smallest, "ds.SOPInstanceUID") + ".dcm"), std::string::npos)
      << listing.output;
  EXPECT_LT(std::chrono::steady_clock::now() - t1, std::chrono::seconds(3 + 3)) << listing.output;
  ASSERT_EQ(cluster_->StartGateway(), "");
  // Any answer ends the hold: the same instance reads again within seconds
  // (a probe gets 1 s; a gateway just restarted may miss the first one).
  const auto t2 = std::chrono::steady_clock::now();
  CommandResult again;
  for (int i = 0; i < 6; ++i) {
    again = Shell("cat " + Q(unread) + " > /dev/null 2>&1");
    if (again.exit_code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_LT(std::chrono::steady_clock::now() - t2, std::chrono::seconds(10));
}

}  // namespace
}  // namespace dcmfs::testing
