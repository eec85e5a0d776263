#include "index/maintenance.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "codecs/synthetic.h"
#include "index/archive_layout.h"
#include "index/ingest.h"
#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

namespace fs = std::filesystem;
using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::WriteFileOrDie;

std::unique_ptr<Catalog> OpenCatalog(const std::string& path, bool create) {
  CatalogOptions o;
  o.path = path;
  o.create_if_missing = create;
  auto c = Catalog::Open(o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

void Walk(const Catalog& c, InodeId ino, const std::string& path,
          std::map<std::string, std::string>* out) {
  EXPECT_TRUE(c.List(ino, "", [&](const DirEntry& e) {
                 (*out)[path + "/" + e.name] = std::to_string(e.ino) + " " + e.ref + " " +
                                               std::to_string(e.size) + " " +
                                               std::to_string(e.mtime);
                 if (e.kind != NodeKind::kInstance) Walk(c, e.ino, path + "/" + e.name, out);
                 return true;
               }).ok());
}

std::map<std::string, std::string> Tree(const std::string& index_path) {
  auto c = OpenCatalog(index_path, false);
  std::map<std::string, std::string> out;
  if (c == nullptr) return out;
  Walk(*c, kPatientsIno, "/patients", &out);
  Walk(*c, kStudiesIno, "/studies", &out);
  return out;
}

class MaintenanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    layout_.root = tmp_.Sub("archive");
    SyntheticOptions o;
    o.out_dir = tmp_.Sub("in");
    o.rows = o.columns = 16;
    o.ct_slices = 3;
    o.mr_slices = 2;
    auto files = WriteSyntheticSet(o);
    ASSERT_TRUE(files.ok()) << files.status().ToString();
    files_ = std::move(files).value();
    auto catalog = OpenCatalog(layout_.index(), true);
    LocalBlobStoreOptions b;
    b.dir = layout_.blobs();
    auto blobs = BlobStore::OpenLocal(b);
    ASSERT_TRUE(blobs.ok());
    blobs_ = std::move(blobs).value();
    auto report = IngestPaths(*catalog, *blobs_, Quarantine(layout_.quarantine()), {o.out_dir}, {});
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    ASSERT_TRUE(report->complete());
    ASSERT_EQ(report->new_instances, files_.size());
  }

  std::string BlobPath(const SyntheticFile& f) {
    return layout_.root + "/" + blobs_->Locate(Sha256(ReadFileOrEmpty(f.path)));
  }

  TempDir tmp_;
  ArchiveLayout layout_;
  std::vector<SyntheticFile> files_;
  std::unique_ptr<BlobStore> blobs_;
};

TEST_F(MaintenanceTest, ReindexRebuildsTheSameTree) {
  const auto before = Tree(layout_.index());
  ASSERT_GT(before.size(), files_.size() * 2);
  fs::remove_all(layout_.index());
  auto report = Reindex(layout_.root);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->blobs, files_.size());
  EXPECT_EQ(report->instances, files_.size());
  EXPECT_TRUE(report->problems.empty());
  EXPECT_EQ(Tree(layout_.index()), before);
  EXPECT_FALSE(fs::exists(layout_.index() + ".rebuild"));
  EXPECT_FALSE(fs::exists(layout_.index() + ".old"));

  // Reindexing over a live index works too, and a crash between the two renames
  // (index gone, index.old present) is undone by the next open.
  ASSERT_TRUE(Reindex(layout_.root).ok());
  fs::rename(layout_.index(), layout_.index() + ".old");
  EXPECT_EQ(Tree(layout_.index()), before);
}

TEST_F(MaintenanceTest, ReindexIsBusyWhileAWriterRuns) {
  auto writer = OpenCatalog(layout_.index(), false);
  ASSERT_NE(writer, nullptr);
  EXPECT_EQ(Reindex(layout_.root).status().code(), StatusCode::kBusy);
}

TEST_F(MaintenanceTest, ReindexReportsACorruptBlobAndIndexesTheRest) {
  const std::string path = BlobPath(files_[1]);
  std::string stored = ReadFileOrEmpty(path);
  stored[stored.size() / 2] ^= 0x20;
  WriteFileOrDie(path, stored);
  auto report = Reindex(layout_.root);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->instances, files_.size() - 1);
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_NE(report->problems[0].find(blobs_->Locate(Sha256(ReadFileOrEmpty(files_[1].path)))),
            std::string::npos);
}

TEST_F(MaintenanceTest, VerifyFindsFlippedByteAndMissingBlob) {
  auto clean = Verify(layout_.root);
  ASSERT_TRUE(clean.ok()) << clean.status().ToString();
  EXPECT_TRUE(clean->ok());
  EXPECT_EQ(clean->blobs_checked, files_.size());
  uint64_t total = 0;
  for (const auto& f : files_) total += fs::file_size(f.path);
  EXPECT_EQ(clean->bytes_checked, total);

  const SyntheticFile& flipped = files_[2];
  const std::string path = BlobPath(flipped);
  std::string stored = ReadFileOrEmpty(path);
  stored[stored.size() / 3] ^= 0x01;
  WriteFileOrDie(path, stored);
  fs::remove(BlobPath(files_[3]));

  auto report = Verify(layout_.root);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok());
  ASSERT_EQ(report->problems.size(), 2u);
  std::map<std::string, VerifyProblem> by_location;
  for (const auto& p : report->problems) by_location[p.location] = p;
  const VerifyProblem& bad = by_location[blobs_->Locate(Sha256(ReadFileOrEmpty(flipped.path)))];
  EXPECT_FALSE(bad.reason.empty());
  EXPECT_NE(bad.instance.find(flipped.sop_uid), std::string::npos);
  EXPECT_NE(bad.instance.find("/studies/" + flipped.study_uid + "/" + flipped.series_uid + "/"),
            std::string::npos)
      << bad.instance;
  const VerifyProblem& missing = by_location[blobs_->Locate(Sha256(ReadFileOrEmpty(files_[3].path)))];
  EXPECT_EQ(missing.reason, "missing blob");
  EXPECT_NE(missing.instance.find(files_[3].sop_uid), std::string::npos);
}

}  // namespace
}  // namespace dcmfs
