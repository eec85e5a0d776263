// An archive whose blobs live in a real Ceph RADOS Gateway (one cluster for
// this binary, tests/support/ceph_cluster.h). The synthetic set and
// ../shared/corpus are ingested twice, into an S3-backed archive and into a
// local one; the mounts must agree byte for byte, a second archive folder
// that knows only the bucket rebuilds the same tree, a gateway that goes
// away gives EIO in bounded time and the mount recovers, and killed ingests
// never leave an indexed instance without its object.
#include <chrono>
#include <thread>

#include "tests/integration/fixture.h"
#include "tests/support/ceph_cluster.h"

namespace dcmfs::testing {
namespace {

constexpr const char* kBucket = "dcmfs-it";

class S3ArchiveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = CephCluster::Start(&error_).release();
    if (cluster_ == nullptr) return;
    dir_ = new TempDir();
    synth_ = MakeSynthetic(dir_->Sub("synth"));
    if (CorpusDir().empty()) {
      error_ = "../shared/corpus is missing";
      return;
    }
    // Exit 2 = some corpus files are quarantined (not DICOM): the same in both.
    const std::string inputs = Q(dir_->Sub("synth")) + " " + Q(CorpusDir());
    // One thread each: a series whose instances disagree on SeriesNumber
    // (in the corpus) is named after the instance indexed first, so both
    // archives must see the files in the same order to be comparable.
    CommandResult s3 = Dcmfs("ingest --no-progress --threads 1 " + S3Flags("a/") + " " +
                             Q(S3Archive()) + " " + inputs);
    CommandResult local =
        Dcmfs("ingest --no-progress --threads 1 " + Q(LocalArchive()) + " " + inputs);
    auto failed = [](int code) { return code != 0 && code != 2; };
    if (failed(s3.exit_code) || failed(local.exit_code)) {
      error_ = "ingest failed:\n" + s3.output + "\n" + local.output;
    }
    // Reads below must fail fast once the gateway is gone: a 3 s budget.
    const std::string conf = S3Archive() + "/store.conf";
    std::string text = ReadFileOrEmpty(conf);
    const size_t at = text.find("timeout_ms = 10000");
    if (at == std::string::npos) error_ = "store.conf has no default timeout_ms:\n" + text;
    else WriteFileOrDie(conf, text.replace(at, 18, "timeout_ms = 3000"));
    s3_ingest_output_ = s3.output;
    local_ingest_output_ = local.output;
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
    if (cluster_ == nullptr || !error_.empty()) {
      GTEST_FAIL() << error_;
    }
  }

  static std::string S3Flags(const std::string& prefix) {
    return "--s3-endpoint " + Q(cluster_->endpoint()) + " --s3-bucket " + kBucket +
           " --s3-region " + Q(cluster_->region()) + " --s3-prefix " + Q(prefix) +
           " --s3-credentials " + Q(cluster_->env_file());
  }
  static std::string S3Archive() { return dir_->Sub("s3-archive"); }
  static std::string LocalArchive() { return dir_->Sub("local-archive"); }

  // "[inode] size mtime path" of every folder and instance file in both
  // views, sorted. Derived files are left out: their sizes cost a
  // computation each.
  static std::string Tree(const std::string& mnt, bool inodes = false) {
    // Not below series folders: their virtual folders (iiif/, mpr/) are large.
    const std::string format = std::string("-printf '") + (inodes ? "%i " : "") + "%s %T@ %y %p\\n'";
    return Shell("cd " + Q(mnt) + " && { find patients -maxdepth 4 \\( -type d -o -name '*.dcm' \\) " +
                 format + "; find studies -maxdepth 3 \\( -type d -o -name '*.dcm' \\) " + format +
                 "; } | LC_ALL=C sort")
        .output;
  }
  // `diff` of two listings ("" when equal), so a failure shows what differs.
  static std::string Diff(const std::string& a, const std::string& b) {
    WriteFileOrDie(dir_->Sub("diff.a"), a);
    WriteFileOrDie(dir_->Sub("diff.b"), b);
    return Shell("diff " + Q(dir_->Sub("diff.a")) + " " + Q(dir_->Sub("diff.b")) + " | head -40").output;
  }
  // sha256sum of every file matching `pattern` below `mnt`, by path, sorted.
  static std::string Sums(const std::string& mnt, const std::string& pattern) {
    return Shell("cd " + Q(mnt) + " && find studies -mindepth 3 -maxdepth 3 -name " + Q(pattern) +
                 " -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum")
        .output;
  }

  static CephCluster* cluster_;
  static std::string error_, s3_ingest_output_, local_ingest_output_;
  static TempDir* dir_;
  static std::vector<SyntheticFile> synth_;
};

CephCluster* S3ArchiveTest::cluster_ = nullptr;
std::string S3ArchiveTest::error_;
std::string S3ArchiveTest::s3_ingest_output_;
std::string S3ArchiveTest::local_ingest_output_;
TempDir* S3ArchiveTest::dir_ = nullptr;
std::vector<SyntheticFile> S3ArchiveTest::synth_;

TEST_F(S3ArchiveTest, MountMatchesSourcesAndTheLocalBackend) {
  // The same input gives the same ingest counts either way.
  auto counts = [](const std::string& out) {
    return Shell("printf '%s' " + Q(out) + " | grep -E '^(files|new instances|already present|"
                 "conflicts|quarantined):'").output;
  };
  EXPECT_EQ(counts(s3_ingest_output_), counts(local_ingest_output_));
  EXPECT_NE(counts(s3_ingest_output_).find("new instances"), std::string::npos) << s3_ingest_output_;
  // No blob was written locally: they are all in the bucket.
  EXPECT_TRUE(FilesBelow(S3Archive() + "/blobs").empty());
  MountedArchive s3(S3Archive(), dir_->Sub("mnt-s3"));
  ASSERT_TRUE(s3.ok()) << s3.log();
  MountedArchive local(LocalArchive(), dir_->Sub("mnt-local"));
  ASSERT_TRUE(local.ok()) << local.log();
  for (const SyntheticFile& f : synth_) {
    EXPECT_EQ(HexOfFile(StudiesPath(s3.path(), f)), HexOfFile(f.path)) << f.path;
  }
  EXPECT_EQ(Diff(Tree(s3.path()), Tree(local.path())), "");
  const std::string dcm = Sums(s3.path(), "*.dcm");
  EXPECT_GT(std::count(dcm.begin(), dcm.end(), '\n'), 1000);  // synthetic set + corpus
  EXPECT_EQ(Diff(dcm, Sums(local.path(), "*.dcm")), "");
  // Every .dcm the S3 mount shows is, byte for byte, one of the input files.
  const std::string unknown = Shell(
      "cd " + Q(s3.path()) + " && find studies -mindepth 3 -maxdepth 3 -name '*.dcm' -print0 | xargs -0 sha256sum | "
      "cut -c1-64 | sort -u > " + Q(dir_->Sub("mounted.sums")) + " && find " +
      Q(dir_->Sub("synth")) + " " + Q(CorpusDir()) + " -type f -print0 | xargs -0 sha256sum | "
      "cut -c1-64 | sort -u > " + Q(dir_->Sub("source.sums")) + " && comm -23 " +
      Q(dir_->Sub("mounted.sums")) + " " + Q(dir_->Sub("source.sums"))).output;
  EXPECT_EQ(unknown, "");
  const std::string nii = Sums(s3.path(), "series*.nii");
  EXPECT_GT(std::count(nii.begin(), nii.end(), '\n'), 5) << nii;
  EXPECT_EQ(Diff(nii, Sums(local.path(), "series*.nii")), "");
  CommandResult v = Dcmfs("verify " + Q(S3Archive()));
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

// Only the synthetic set, under a prefix of its own: reindex fetches every
// object whole, one after another, and with the corpus this one test took
// seven minutes (the corpus is read through S3 by the test above).
TEST_F(S3ArchiveTest, ReindexFromTheBucketAloneGivesTheSameTree) {
  const std::string writer = dir_->Sub("r-archive");
  CommandResult in = Dcmfs("ingest --no-progress " + S3Flags("r/") + " " + Q(writer) + " " +
                           Q(dir_->Sub("synth")));
  ASSERT_EQ(in.exit_code, 0) << in.output;
  const std::string fresh = dir_->Sub("second-workstation");
  // Only what a second machine knows: the bucket, its prefix and the keys.
  CommandResult r = Dcmfs("reindex " + S3Flags("r/") + " " + Q(fresh));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("problems: 0"), std::string::npos) << r.output;
  const std::vector<std::string> local_files = FilesBelow(fresh);
  for (const std::string& f : local_files) {
    EXPECT_TRUE(f.find("/blobs/") == std::string::npos) << f;
  }
  // The reference: a local archive of the same input, reindexed too, so
  // both indexes were made the same way.
  const std::string reference = dir_->Sub("local-reindexed");
  ASSERT_EQ(Dcmfs("ingest --no-progress " + Q(reference) + " " + Q(dir_->Sub("synth"))).exit_code, 0);
  ASSERT_EQ(Dcmfs("reindex " + Q(reference)).exit_code, 0);
  MountedArchive a(writer, dir_->Sub("mnt-a"));
  ASSERT_TRUE(a.ok()) << a.log();
  MountedArchive b(fresh, dir_->Sub("mnt-b"));
  ASSERT_TRUE(b.ok()) << b.log();
  MountedArchive c(reference, dir_->Sub("mnt-c"));
  ASSERT_TRUE(c.ok()) << c.log();
  // The same tree, inode numbers included (they come from the index).
  const std::string tree = Tree(b.path(), true);
  EXPECT_GT(std::count(tree.begin(), tree.end(), '\n'), static_cast<long>(synth_.size()));
  EXPECT_EQ(Diff(tree, Tree(c.path(), true)), "");
  // Every instance the ingesting archive shows, byte for byte.
  auto hashes = [](const std::string& sums) {
    return Shell("printf '%s' " + Q(sums) + " | cut -c1-64 | LC_ALL=C sort").output;
  };
  EXPECT_EQ(Diff(hashes(Sums(b.path(), "*.dcm")), hashes(Sums(a.path(), "*.dcm"))), "");
  EXPECT_EQ(Dcmfs("verify " + Q(fresh)).exit_code, 0);
}

// radosgw killed in the middle of reads: what was not read yet fails with
// EIO within the budget, what was read is still served, the tree still
// lists, and after a restart the same reads succeed.
TEST_F(S3ArchiveTest, GatewayDownGivesEioThenRecovers) {
  // No disk cache of fetched frames: an earlier test's mount read every
  // instance, and the cache would serve them all (s3_read_test covers it).
  MountedArchive m(S3Archive(), dir_->Sub("mnt-down"),
                   std::vector<std::string>{"--blob-disk-cache-size", "0"});
  ASSERT_TRUE(m.ok()) << m.log();
  const std::string read_before = StudiesPath(m.path(), synth_.front());
  const std::string unread = StudiesPath(m.path(), synth_.back());
  ASSERT_EQ(HexOfFile(read_before), HexOfFile(synth_.front().path));
  const std::string listing = Tree(m.path());
  ASSERT_EQ(cluster_->StopGateway(), "");
  const auto start = std::chrono::steady_clock::now();
  CommandResult cat = Shell("timeout 30 cat " + Q(unread) + " > /dev/null");
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(cat.exit_code, 0);
  EXPECT_NE(cat.output.find("Input/output error"), std::string::npos) << cat.output;
  EXPECT_LT(secs, 3.0 + 2.0) << "bounded wait exceeded";
  // Cached data and the index keep working; the mount is still up.
  EXPECT_EQ(HexOfFile(read_before), HexOfFile(synth_.front().path));
  EXPECT_EQ(Diff(Tree(m.path()), listing), "");
  EXPECT_TRUE(IsMountPoint(m.path()));
  ASSERT_EQ(cluster_->StartGateway(), "");
  EXPECT_EQ(HexOfFile(unread), HexOfFile(synth_.back().path));
}

// kill -9 of ingests part-way through their uploads: after each, verify
// finds every indexed instance's object intact (nothing half-indexed); a
// rerun completes and every file reads back bit-identical.
TEST_F(S3ArchiveTest, KilledIngestsLoseNothingIndexed) {
  SyntheticOptions big;
  big.rows = big.columns = 256;
  big.ct_slices = 48;
  const std::vector<SyntheticFile> files = MakeSynthetic(dir_->Sub("big"), big);
  const std::string archive = dir_->Sub("killed");
  const std::string ingest = Q(DcmfsBinary()) + " ingest --no-progress --threads 2 " + S3Flags("k/") +
                             " " + Q(archive) + " " + Q(dir_->Sub("big"));
  bool interrupted = false;
  for (const char* delay : {"0.6", "1.2", "1.8"}) {
    Shell("(" + ingest + " >/dev/null 2>&1 & p=$!; sleep " + delay + "; kill -9 $p; wait $p)");
    CommandResult status = Dcmfs("status " + Q(archive));
    const size_t at = status.output.find("instances: ");
    const long indexed = at == std::string::npos ? 0 : std::atol(status.output.c_str() + at + 11);
    if (indexed < static_cast<long>(files.size())) interrupted = true;
    if (at == std::string::npos) continue;  // killed before the index existed
    CommandResult v = Dcmfs("verify " + Q(archive));
    EXPECT_EQ(v.exit_code, 0) << "after a kill at " << delay << " s:\n" << v.output;
  }
  EXPECT_TRUE(interrupted) << "every ingest finished before its kill: the test proved nothing";
  CommandResult rerun = Shell(ingest);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
  CommandResult v = Dcmfs("verify " + Q(archive));
  EXPECT_EQ(v.exit_code, 0) << v.output;
  EXPECT_NE(v.output.find("blobs checked: " + std::to_string(files.size())), std::string::npos)
      << v.output;
  MountedArchive m(archive, dir_->Sub("mnt-killed"));
  ASSERT_TRUE(m.ok()) << m.log();
  for (const SyntheticFile& f : files) {
    EXPECT_EQ(HexOfFile(StudiesPath(m.path(), f)), HexOfFile(f.path)) << f.path;
  }
}

}  // namespace
}  // namespace dcmfs::testing
