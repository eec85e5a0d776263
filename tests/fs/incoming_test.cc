// fs/incoming/ without a kernel: when a staged file becomes due
// (IngestQueue, fake clock) and the staging tree's POSIX behaviour, inodes
// and completeness marker (StagingTree over a temp folder).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "fs/incoming/ingest_queue.h"
#include "fs/incoming/staging.h"
#include "index/inode.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

using std::chrono::milliseconds;
using Clock = IngestQueue::Clock;

IngestDelays Delays() {
  IngestDelays d;
  d.regular = milliseconds(500);
  d.temporary = milliseconds(5000);
  return d;
}

TEST(IngestQueueTest, DueAfterTheLastWriterReleasesAWrittenFile) {
  IngestQueue q(Delays());
  const Clock::time_point t0{};
  q.OpenedForWrite(7);
  q.OpenedForWrite(7);
  EXPECT_FALSE(q.Released(7, true));  // another writer still open
  EXPECT_TRUE(q.Released(7, false));  // last one: the file was written
  q.Ready(7, "0001.dcm", t0);
  EXPECT_TRUE(q.TakeDue(t0 + milliseconds(499)).empty());
  EXPECT_EQ(q.TakeDue(t0 + milliseconds(500)), std::vector<InodeId>{7});
  EXPECT_TRUE(q.TakeDue(t0 + milliseconds(10000)).empty());  // taken once
  EXPECT_EQ(q.waiting(), 0u);
}

TEST(IngestQueueTest, ReadOnlyOrUnwrittenHandlesQueueNothing) {
  IngestQueue q(Delays());
  q.OpenedForWrite(7);
  EXPECT_FALSE(q.Released(7, false));
  EXPECT_FALSE(q.NextDue().has_value());
}

TEST(IngestQueueTest, RsyncTemporaryWaitsForTheRename) {
  IngestQueue q(Delays());
  const Clock::time_point t0{};
  q.OpenedForWrite(9);
  ASSERT_TRUE(q.Released(9, true));
  q.Ready(9, ".0001.dcm.Xy12Ab", t0);
  EXPECT_TRUE(q.TakeDue(t0 + milliseconds(1000)).empty());
  q.Renamed(9, "0001.dcm", t0 + milliseconds(1000));
  EXPECT_EQ(q.TakeDue(t0 + milliseconds(1500)), std::vector<InodeId>{9});
}

TEST(IngestQueueTest, AnIdleDotFileIsDueInTheEnd) {
  IngestQueue q(Delays());
  const Clock::time_point t0{};
  q.Ready(3, ".hidden.dcm", t0);
  EXPECT_TRUE(q.TakeDue(t0 + milliseconds(4999)).empty());
  EXPECT_EQ(q.TakeDue(t0 + milliseconds(5000)), std::vector<InodeId>{3});
}

TEST(IngestQueueTest, ReopeningForWriteOrTouchingPostpones) {
  IngestQueue q(Delays());
  const Clock::time_point t0{};
  q.Ready(4, "a.dcm", t0);
  q.Touched(4, t0 + milliseconds(400));  // cp -p sets times after close
  EXPECT_TRUE(q.TakeDue(t0 + milliseconds(600)).empty());
  EXPECT_EQ(q.TakeDue(t0 + milliseconds(900)), std::vector<InodeId>{4});
  q.Ready(5, "b.dcm", t0);
  q.OpenedForWrite(5);
  EXPECT_TRUE(q.TakeDue(t0 + milliseconds(10000)).empty());
  q.Ready(5, "b.dcm", t0);  // ignored while a writer is open
  EXPECT_TRUE(q.TakeDue(t0 + milliseconds(10000)).empty());
  q.Removed(5);
  EXPECT_FALSE(q.HasWriters(5));
}

class StagingTreeTest : public ::testing::Test {
 protected:
  StagingTreeTest() : tree_({dir_.Sub("staged"), 1000, 1000, 0640, 0750}) {}
  testing::TempDir dir_;
  StagingTree tree_;
};

TEST_F(StagingTreeTest, InodesAreOutsideTheCatalogsRange) {
  StagedReply d = tree_.Mkdir(kIncomingIno, "study", 0755, 1, 2);
  ASSERT_EQ(d.err, 0);
  EXPECT_TRUE(IsStagedIno(d.attr.ino));
  EXPECT_TRUE(tree_.IsFolder(d.attr.ino));
  // Catalog inodes are 63-bit hashes (index/inode.h).
  EXPECT_FALSE(IsStagedIno(InodeFor(NodeKind::kSeries, View::kPatients, "1.2.3")));
  EXPECT_EQ(d.attr.uid, 1u);
  EXPECT_EQ(d.attr.perm, 0755u);
}

TEST_F(StagingTreeTest, CompleteMarkerRenameAndClaim) {
  ASSERT_EQ(tree_.Mkdir(kIncomingIno, "s", 0755, 1, 2).err, 0);
  InodeId folder = tree_.Lookup(kIncomingIno, "s").attr.ino;
  StagedReply f = tree_.Create(folder, ".x.tmp", O_EXCL, 0600, 1, 2);
  ASSERT_EQ(f.err, 0);
  ASSERT_EQ(write(f.fd, "abc", 3), 3);
  EXPECT_FALSE(tree_.GetAttr(f.attr.ino).attr.complete);
  // Incomplete files are never claimed.
  EXPECT_FALSE(tree_.Claim(f.attr.ino, dir_.Sub("claimed-early")).has_value());
  ASSERT_EQ(tree_.MarkComplete(f.fd), 0);
  close(f.fd);
  auto [err, replaced] = tree_.Rename(folder, ".x.tmp", folder, "x.dcm", 0);
  ASSERT_EQ(err, 0);
  EXPECT_EQ(replaced, 0u);
  StagedReply renamed = tree_.Lookup(folder, "x.dcm");
  ASSERT_EQ(renamed.err, 0);
  EXPECT_EQ(renamed.attr.ino, f.attr.ino);  // a rename keeps the inode
  EXPECT_TRUE(renamed.attr.complete);
  EXPECT_EQ(renamed.attr.size, 3u);
  EXPECT_EQ(tree_.Rmdir(kIncomingIno, "s"), ENOTEMPTY);
  std::optional<std::string> rel = tree_.Claim(f.attr.ino, dir_.Sub("claimed"));
  ASSERT_TRUE(rel.has_value());
  EXPECT_EQ(*rel, "s/x.dcm");
  EXPECT_EQ(tree_.Lookup(folder, "x.dcm").err, ENOENT);
  // The folder is empty but recent: kept for a `cp -r` still under way.
  EXPECT_EQ(tree_.SweepEmptyFolders(3600), 1u);
  EXPECT_EQ(tree_.SweepEmptyFolders(0), 0u);
  EXPECT_EQ(tree_.Lookup(kIncomingIno, "s").err, ENOENT);
}

TEST_F(StagingTreeTest, LeftoversReportCompleteness) {
  StagedReply a = tree_.Create(kIncomingIno, "a.dcm", 0, 0644, 1, 2);
  StagedReply b = tree_.Create(kIncomingIno, "b.dcm", 0, 0644, 1, 2);
  ASSERT_EQ(tree_.MarkComplete(a.fd), 0);
  close(a.fd);
  close(b.fd);  // as after a kill -9 mid-copy: never marked
  StagingTree next({dir_.Sub("staged"), 1000, 1000, 0640, 0750});  // the next mount
  std::vector<StagedLeftover> left = next.Leftovers();
  ASSERT_EQ(left.size(), 2u);
  for (const StagedLeftover& l : left) EXPECT_EQ(l.complete, l.rel == "a.dcm") << l.rel;
}

TEST_F(StagingTreeTest, UnlinkAndRenameReportTheRemovedInode) {
  StagedReply a = tree_.Create(kIncomingIno, "a", 0, 0644, 1, 2);
  StagedReply b = tree_.Create(kIncomingIno, "b", 0, 0644, 1, 2);
  close(a.fd);
  close(b.fd);
  EXPECT_EQ(tree_.Rename(kIncomingIno, "a", kIncomingIno, "b", RENAME_NOREPLACE).first, EEXIST);
  auto [err, replaced] = tree_.Rename(kIncomingIno, "a", kIncomingIno, "b", 0);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(replaced, b.attr.ino);
  EXPECT_EQ(tree_.Unlink(kIncomingIno, "b"), std::make_pair(0, a.attr.ino));
  EXPECT_EQ(tree_.Unlink(kIncomingIno, "b").first, ENOENT);
}

}  // namespace
}  // namespace dcmfs
