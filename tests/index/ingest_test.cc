#include "index/ingest.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "codecs/synthetic.h"
#include "index/archive_layout.h"
#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

namespace fs = std::filesystem;
using testing::ReadFileOrEmpty;
using testing::ShellQuote;
using testing::TempDir;
using testing::WriteFileOrDie;

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    layout_.root = tmp_.Sub("archive");
    SyntheticOptions o;
    o.out_dir = tmp_.Sub("in/good");
    o.rows = o.columns = 16;
    o.ct_slices = 4;
    o.mr_slices = 3;
    auto files = WriteSyntheticSet(o);
    ASSERT_TRUE(files.ok()) << files.status().ToString();
    good_ = std::move(files).value();
    ASSERT_GT(good_.size(), 10u);

    CatalogOptions c;
    c.path = layout_.index();
    c.create_if_missing = true;
    auto catalog = Catalog::Open(c);
    ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
    catalog_ = std::move(catalog).value();
    LocalBlobStoreOptions b;
    b.dir = layout_.blobs();
    auto blobs = BlobStore::OpenLocal(b);
    ASSERT_TRUE(blobs.ok());
    blobs_ = std::move(blobs).value();
  }

  Result<IngestReport> Ingest(const std::vector<std::string>& paths, IngestProgress* last = nullptr) {
    Quarantine q(layout_.quarantine());
    IngestOptions options;
    options.threads = 3;
    options.stream_threshold_bytes = stream_threshold_;
    return IngestPaths(*catalog_, *blobs_, q, paths, options, [last](const IngestProgress& p) {
      if (last != nullptr) *last = p;
    });
  }

  // The digest as sha256sum computes it, not as our code does.
  static std::string Sha256Sum(const std::string& path) {
    return testing::Shell("sha256sum " + ShellQuote(path)).output.substr(0, 64);
  }

  TempDir tmp_;
  uint64_t stream_threshold_ = IngestOptions().stream_threshold_bytes;
  ArchiveLayout layout_;
  std::vector<SyntheticFile> good_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<BlobStore> blobs_;
};

// Both paths: in memory (small files) and streamed from disk (large files;
// the threshold is lowered so every file takes it).
class IngestPathsTest : public IngestTest, public ::testing::WithParamInterface<bool> {};

TEST_P(IngestPathsTest, GoodFilesStoredBadFilesQuarantinedWithReasons) {
  if (GetParam()) stream_threshold_ = 1;
  const std::string bad = tmp_.Sub("in/bad");
  WriteFileOrDie(bad + "/empty.dcm", "");
  WriteFileOrDie(bad + "/notes.txt", "this is not DICOM, just some text\n");
  const std::string sample = ReadFileOrEmpty(good_[0].path);
  WriteFileOrDie(bad + "/truncated.dcm", sample.substr(0, sample.size() / 3));
  WriteFileOrDie(bad + "/no_series_uid.dcm", sample);
  ASSERT_EQ(testing::Shell("dcmodify -nb -ea '(0020,000e)' " + ShellQuote(bad + "/no_series_uid.dcm")).exit_code, 0);
  fs::create_directory_symlink(tmp_.Sub("in"), tmp_.Sub("in/good/loop"));  // a symlink loop

  IngestProgress last;
  auto report = Ingest({tmp_.Sub("in"), tmp_.Sub("does-not-exist")}, &last);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->new_instances, good_.size());
  EXPECT_EQ(report->already_present, 0u);
  EXPECT_FALSE(report->complete());
  EXPECT_EQ(last.files_done, last.files_total);
  EXPECT_EQ(last.files_total, good_.size() + 4);

  std::map<std::string, QuarantineNote> notes;
  for (const auto& n : report->quarantined) notes[fs::path(n.source).filename().string()] = n;
  ASSERT_EQ(notes.size(), 5u);
  EXPECT_EQ(notes["empty.dcm"].reason, "empty file");
  EXPECT_EQ(notes["does-not-exist"].kept_as, "");
  EXPECT_NE(notes["does-not-exist"].reason.find("No such file"), std::string::npos);
  EXPECT_NE(notes["no_series_uid.dcm"].reason.find("Series"), std::string::npos)
      << notes["no_series_uid.dcm"].reason;
  for (const char* name : {"empty.dcm", "notes.txt", "truncated.dcm", "no_series_uid.dcm"}) {
    const QuarantineNote& n = notes[name];
    EXPECT_FALSE(n.reason.empty()) << name;
    ASSERT_FALSE(n.kept_as.empty()) << name;
    // Kept byte for byte, named by the content's SHA-256, with a note naming the source.
    const std::string kept = layout_.root + "/" + n.kept_as;
    EXPECT_EQ(ReadFileOrEmpty(kept), ReadFileOrEmpty(bad + "/" + name)) << name;
    EXPECT_EQ(fs::path(kept).stem().string(), Sha256Sum(bad + "/" + name));
    const std::string txt = ReadFileOrEmpty(fs::path(kept).replace_extension(".txt").string());
    EXPECT_NE(txt.find(n.source), std::string::npos);
    EXPECT_NE(txt.find(n.reason), std::string::npos);
  }

  // Every good file is indexed under the digest sha256sum gives and reads back bit-identical.
  for (const SyntheticFile& f : good_) {
    const auto digest = DigestFromHex(Sha256Sum(f.path));
    ASSERT_TRUE(digest.has_value());
    auto rec = catalog_->GetInstance(*digest);
    ASSERT_TRUE(rec.ok()) << f.path;
    EXPECT_EQ(rec->meta.sop_uid, f.sop_uid);
    auto bytes = blobs_->ReadAll(*digest);
    ASSERT_TRUE(bytes.ok());
    EXPECT_TRUE(*bytes == ReadFileOrEmpty(f.path)) << f.path;
  }
  EXPECT_EQ(catalog_->GetCounts()->instances, good_.size());
  EXPECT_FALSE(fs::exists(layout_.blobs() + "/tmp") && !fs::is_empty(layout_.blobs() + "/tmp"));
}

INSTANTIATE_TEST_SUITE_P(InMemoryAndStreamed, IngestPathsTest, ::testing::Bool());

TEST_F(IngestTest, ReingestIsAllAlreadyPresent) {
  auto first = Ingest({tmp_.Sub("in/good")});
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->complete());
  size_t blob_files = 0;
  for (const auto& e : fs::recursive_directory_iterator(layout_.blobs())) blob_files += e.is_regular_file();
  auto second = Ingest({tmp_.Sub("in/good"), good_[0].path});  // a file twice in one run, too
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->complete());
  EXPECT_EQ(second->new_instances, 0u);
  EXPECT_EQ(second->already_present, good_.size() + 1);
  size_t after = 0;
  for (const auto& e : fs::recursive_directory_iterator(layout_.blobs())) after += e.is_regular_file();
  EXPECT_EQ(after, blob_files);
  EXPECT_EQ(blob_files, good_.size());
}

TEST_F(IngestTest, SameSopUidDifferentBytesIsAConflictAndBothKept) {
  ASSERT_TRUE(Ingest({tmp_.Sub("in/good")}).ok());
  const std::string changed = tmp_.Sub("changed.dcm");
  WriteFileOrDie(changed, ReadFileOrEmpty(good_[0].path));
  ASSERT_EQ(testing::Shell("dcmodify -nb -m '(0008,103e)=Changed' " + ShellQuote(changed)).exit_code, 0);
  auto report = Ingest({changed});
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->complete());
  EXPECT_EQ(report->new_instances, 1u);
  ASSERT_EQ(report->conflicts.size(), 1u);
  const ConflictNote& c = report->conflicts[0];
  EXPECT_EQ(c.sop_uid, good_[0].sop_uid);
  EXPECT_EQ(c.digest_hex, Sha256Sum(changed));
  ASSERT_EQ(c.other_digests_hex.size(), 1u);
  EXPECT_EQ(c.other_digests_hex[0], Sha256Sum(good_[0].path));
  EXPECT_TRUE(catalog_->GetInstance(*DigestFromHex(c.other_digests_hex[0])).ok());
  EXPECT_TRUE(catalog_->GetInstance(*DigestFromHex(c.digest_hex)).ok());
}

}  // namespace
}  // namespace dcmfs
