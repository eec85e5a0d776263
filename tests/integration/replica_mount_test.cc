// Two workstations, one archive, against real Ceph (tests/support/ceph_cluster.h):
// a writer archive keeps its blobs and its index log in an RGW bucket; a
// second archive folder that knows only the bucket (`dcmfs attach --s3-*`)
// mounts it read-only. Everything it shows must equal what the writer's own
// mount shows (originals, series.nii, /anonymized), a new study must reach
// it within the poll interval, and it must refuse ingest.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/integration/fixture.h"
#include "tests/support/ceph_cluster.h"

namespace dcmfs::testing {
namespace {

std::unique_ptr<CephCluster> g_cluster;
std::string g_cluster_error;

class ReplicaMountTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { g_cluster = CephCluster::Start(&g_cluster_error); }
  static void TearDownTestSuite() {
    if (g_cluster) {
      EXPECT_EQ(g_cluster->Stop(), "");
    }
    g_cluster.reset();
  }
  void SetUp() override {
    if (!g_cluster) GTEST_FAIL() << "no Ceph cluster: " << g_cluster_error;
    s3_ = " --s3-endpoint " + Q(g_cluster->endpoint()) + " --s3-bucket replica-" +
          std::to_string(::getpid()) + " --s3-region " + Q(g_cluster->region()) +
          " --s3-credentials " + Q(g_cluster->env_file());
  }
  std::string s3_;
};

// The study folders of a synthetic set (<patient>/<study>), sorted.
std::vector<std::string> StudyDirs(const std::string& dicom) {
  std::vector<std::string> out;
  for (const auto& p : std::filesystem::directory_iterator(dicom)) {
    for (const auto& s : std::filesystem::directory_iterator(p.path())) out.push_back(s.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Sha(const std::string& path) { return HexOfFile(path); }

// Names, inodes, sizes and mtimes of folders and originals in both views
// (derived files are left out: a `find -printf %s` would make every mesh).
std::string TreeListing(const std::string& mnt) {
  return Shell("cd " + Q(mnt) + " && find patients studies \\( -name '*.dcm' -o -type d \\) "
               "-printf '%i %s %T@ %y %p\\n' | LC_ALL=C sort")
      .output;
}

TEST_F(ReplicaMountTest, ASecondWorkstationKnowingOnlyTheBucketSeesTheSameArchive) {
  TempDir tmp;
  SyntheticOptions synth;
  synth.rows = synth.columns = 32;
  synth.ct_slices = 10;
  synth.mr_slices = 6;
  const std::vector<SyntheticFile> files = MakeSynthetic(tmp.Sub("dicom"), synth);
  ASSERT_FALSE(files.empty());
  std::vector<std::string> studies = StudyDirs(tmp.Sub("dicom"));
  ASSERT_GE(studies.size(), 2u);
  const std::string held_back = studies.back();  // ingested later, while both are mounted
  studies.pop_back();
  std::string first_paths;
  for (const std::string& s : studies) first_paths += " " + Q(s);

  const std::string writer = tmp.Sub("writer"), replica = tmp.Sub("replica");
  CommandResult ingest = Dcmfs("ingest --no-progress " + Q(writer) + first_paths + s3_);
  ASSERT_EQ(ingest.exit_code, 0) << ingest.output;
  CommandResult attach = Dcmfs("attach " + Q(replica) + s3_);
  ASSERT_EQ(attach.exit_code, 0) << attach.output;
  // The replica folder holds no blob: everything it reads comes from the bucket.
  EXPECT_FALSE(std::filesystem::exists(replica + "/blobs/"));

  MountedArchive wmnt(writer, tmp.Sub("wmnt"), std::vector<std::string>{"--no-incoming"});
  ASSERT_TRUE(wmnt.ok()) << wmnt.log();
  MountedArchive rmnt(replica, tmp.Sub("rmnt"));  // default --poll-interval (2 s)
  ASSERT_TRUE(rmnt.ok()) << rmnt.log();
  EXPECT_FALSE(std::filesystem::exists(rmnt.path() + "/incoming"));

  // Originals: bit-identical to the files ingested (sha256 of each).
  size_t checked = 0;
  for (const SyntheticFile& f : files) {
    if (f.path.rfind(held_back, 0) == 0) continue;
    ASSERT_EQ(Sha(StudiesPath(rmnt.path(), f)), Sha(f.path)) << f.path;
    ++checked;
  }
  EXPECT_GT(checked, 0u);
  EXPECT_EQ(TreeListing(rmnt.path()), TreeListing(wmnt.path()));

  // Derived files: every series.nii byte-equal to the writer-side mount's.
  size_t volumes = 0;
  for (const std::string& series : SeriesFolders(wmnt.path())) {
    const std::string rel = series.substr(wmnt.path().size());
    if (!std::filesystem::exists(series + "/series.nii")) continue;
    CommandResult cmp = Shell("cmp " + Q(series + "/series.nii") + " " +
                              Q(rmnt.path() + rel + "/series.nii"));
    EXPECT_EQ(cmp.exit_code, 0) << rel << ": " << cmp.output;
    ++volumes;
  }
  EXPECT_GT(volumes, 0u);

  // /anonymized: the same names and the same de-identified bytes (one secret).
  const std::string anon_sums = "cd %s/anonymized && find . -type f -name '*.dcm' -print0 | "
                                "LC_ALL=C sort -z | xargs -0 sha256sum";
  auto sums = [&](const std::string& mnt) {
    std::string cmd = anon_sums;
    cmd.replace(cmd.find("%s"), 2, Q(mnt));
    return Shell(cmd).output;
  };
  const std::string writer_anon = sums(wmnt.path());
  EXPECT_NE(writer_anon.find(".dcm"), std::string::npos) << writer_anon;
  EXPECT_EQ(sums(rmnt.path()), writer_anon);

  // The replica refuses to be written.
  CommandResult refused = Dcmfs("ingest --no-progress " + Q(replica) + " " + Q(held_back));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("read-only"), std::string::npos) << refused.output;

  // A new study on the writer reaches the replica's mount within the poll interval.
  CommandResult more = Dcmfs("ingest --no-progress " + Q(writer) + " " + Q(held_back));
  ASSERT_EQ(more.exit_code, 0) << more.output;
  const auto published = std::chrono::steady_clock::now();
  const SyntheticFile* late = nullptr;
  for (const SyntheticFile& f : files) {
    if (f.path.rfind(held_back, 0) == 0) late = &f;
  }
  ASSERT_NE(late, nullptr);
  const std::string late_path = StudiesPath(rmnt.path(), *late);
  while (!std::filesystem::exists(late_path) &&
         std::chrono::steady_clock::now() - published < std::chrono::seconds(15)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - published).count();
  std::cout << "new study visible on the replica mount after " << seconds << " s\n";
  ASSERT_TRUE(std::filesystem::exists(late_path));
  EXPECT_LT(seconds, 5.0);  // the bound; poll 2 s + the 1 s entry timeout
  EXPECT_EQ(Sha(late_path), Sha(late->path));

  // The store away: what is indexed keeps answering; the mount recovers by itself.
  ASSERT_EQ(g_cluster->StopGateway(), "");
  const auto t0 = std::chrono::steady_clock::now();
  CommandResult listing = Shell("ls -R " + Q(rmnt.path() + "/studies") + " | wc -l");
  EXPECT_EQ(listing.exit_code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  std::this_thread::sleep_for(std::chrono::seconds(3));  // a few failed polls
  ASSERT_EQ(g_cluster->StartGateway(), "");
  EXPECT_EQ(TreeListing(rmnt.path()), TreeListing(wmnt.path()));

  // Derived files are cached on this workstation, in the replica's own cache.
  ASSERT_TRUE(rmnt.Unmount()) << rmnt.log();
  CommandResult cache = Dcmfs("cache-stats " + Q(replica));
  ASSERT_EQ(cache.exit_code, 0) << cache.output;
  EXPECT_EQ(cache.output.find("entries:   0\n"), std::string::npos) << cache.output;
}

}  // namespace
}  // namespace dcmfs::testing
