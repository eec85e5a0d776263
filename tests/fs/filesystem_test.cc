// Filesystem without a kernel: the calls FUSE would make, checked against
// what was put into the archive.
#include "fs/filesystem.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "codecs/sha256.h"
#include "tests/fs/test_archive.h"

namespace dcmfs {
namespace {

using testing::TestArchive;

constexpr char kSeries[] = "1.2.3.4";

struct Listed {
  std::string name;
  Entry entry;
};

class FilesystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 1; i <= 3; ++i) {
      archive_.Add(TestArchive::Meta(kSeries, i), "bytes of instance " + std::to_string(i) +
                                                     std::string(1000 * i, 'x'));
    }
    OpenFs();
  }

  void OpenFs() {
    fs_.reset();
    FilesystemOptions options;
    options.archive_root = archive_.root();
    options.uid = 1234;
    options.gid = 99;
    options.catch_up_interval = std::chrono::milliseconds(0);
    Result<std::unique_ptr<Filesystem>> fs = Filesystem::Open(options);
    ASSERT_TRUE(fs.ok()) << fs.status().ToString();
    fs_ = std::move(fs).value();
  }

  std::vector<Listed> List(InodeId ino, bool plus = false) {
    std::vector<Listed> out;
    Result<std::unique_ptr<DirHandle>> dir = fs_->OpenDir(ino);
    EXPECT_TRUE(dir.ok()) << dir.status().ToString();
    if (!dir.ok()) return out;
    Status s = fs_->ReadDir(**dir, 0, plus, [&](const DirItem& item) {
      out.push_back(Listed{std::string(item.name), item.entry});
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  std::vector<std::string> Names(InodeId ino) {
    std::vector<std::string> names;
    for (const Listed& l : List(ino)) names.push_back(l.name);
    return names;
  }

  Entry MustLookup(InodeId parent, const std::string& name) {
    Result<Entry> e = fs_->Lookup(parent, name);
    EXPECT_TRUE(e.ok()) << name << ": " << e.status().ToString();
    return e.ok() ? *e : Entry{};
  }

  // Walks a path of names from the root.
  Entry Walk(const std::vector<std::string>& path) {
    Entry e;
    e.attr.ino = kRootIno;
    for (const std::string& name : path) e = MustLookup(e.attr.ino, name);
    return e;
  }

  std::string ReadAll(InodeId ino, size_t chunk = 7) {
    Result<std::unique_ptr<OpenFile>> f = fs_->Open(ino);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    if (!f.ok()) return "";
    std::string out;
    std::vector<uint8_t> buf(chunk);
    while (true) {
      Result<size_t> n = fs_->Read(**f, out.size(), buf);
      EXPECT_TRUE(n.ok());
      if (!n.ok() || *n == 0) break;
      out.append(reinterpret_cast<char*>(buf.data()), *n);
    }
    return out;
  }

  std::vector<std::string> PatientsSeriesPath() {
    return {"patients", "Doe John (12)", "2024-01-02 Chest (A7)", "3 CT Axial"};
  }

  TestArchive archive_;
  std::unique_ptr<Filesystem> fs_;
};

TEST_F(FilesystemTest, RootListsFixedFolders) {
  // .dcmfs is looked up by name, never listed (backup tools would copy live figures).
  // incoming/ is the writable folder of a mount that is not read-only.
  EXPECT_EQ(Names(kRootIno), (std::vector<std::string>{".", "..", "patients", "studies",
                                                       "anonymized", "bagit", "incoming"}));
  Result<Entry> root = fs_->GetAttr(kRootIno);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->attr.mode, static_cast<uint32_t>(S_IFDIR | 0555));
  EXPECT_EQ(root->attr.uid, 1234u);
  EXPECT_EQ(MustLookup(kRootIno, "patients").attr.ino, kPatientsIno);
  EXPECT_FALSE(fs_->Lookup(kRootIno, "nope").ok());
}

TEST_F(FilesystemTest, TreeShapeInBothViews) {
  Entry series = Walk(PatientsSeriesPath());
  EXPECT_EQ(series.attr.mode, static_cast<uint32_t>(S_IFDIR | 0555));
  EXPECT_EQ(series.attr.nlink, 1u);
  EXPECT_EQ(Names(series.attr.ino),
            (std::vector<std::string>{".", "..", "0001.dcm", "0002.dcm", "0003.dcm", "SHA256SUMS"}));
  Entry by_uid = Walk({"studies", "1.2.3", kSeries});
  EXPECT_NE(by_uid.attr.ino, series.attr.ino);  // folders are distinct per view
  EXPECT_EQ(Names(by_uid.attr.ino),
            (std::vector<std::string>{".", "..", "1.2.3.4.1.dcm", "1.2.3.4.2.dcm", "1.2.3.4.3.dcm",
                                      "SHA256SUMS"}));
}

TEST_F(FilesystemTest, InstanceIsOneInodeWithExactSizeAndBytes) {
  Entry series = Walk(PatientsSeriesPath());
  Entry a = MustLookup(series.attr.ino, "0002.dcm");
  Entry b = Walk({"studies", "1.2.3", kSeries, "1.2.3.4.2.dcm"});
  EXPECT_EQ(a.attr.ino, b.attr.ino);
  EXPECT_EQ(a.attr.nlink, 2u);
  EXPECT_EQ(a.attr.mode, static_cast<uint32_t>(S_IFREG | 0444));
  EXPECT_GE(a.attr_timeout_s, 60.0);
  const std::string& bytes = archive_.by_sop().at("1.2.3.4.2");
  EXPECT_EQ(a.attr.size, bytes.size());
  EXPECT_EQ(ReadAll(a.attr.ino), bytes);
  EXPECT_EQ(ReadAll(a.attr.ino, 1 << 20), bytes);
  // Reads at and past the end return nothing.
  Result<std::unique_ptr<OpenFile>> f = fs_->Open(a.attr.ino);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)->keep_cache);
  std::vector<uint8_t> buf(16);
  EXPECT_EQ(*fs_->Read(**f, bytes.size(), buf), 0u);
  EXPECT_EQ(*fs_->Read(**f, bytes.size() + 100, buf), 0u);
}

TEST_F(FilesystemTest, Sha256SumsVerifiesTheFolderInEachView) {
  for (bool patients : {true, false}) {
    std::vector<std::string> path =
        patients ? PatientsSeriesPath() : std::vector<std::string>{"studies", "1.2.3", kSeries};
    Entry series = Walk(path);
    Entry sums = MustLookup(series.attr.ino, "SHA256SUMS");
    std::string text = ReadAll(sums.attr.ino);
    EXPECT_EQ(sums.attr.size, text.size());
    std::string expected;
    for (int i = 1; i <= 3; ++i) {
      const std::string& bytes = archive_.by_sop().at(std::string(kSeries) + "." + std::to_string(i));
      std::string name = patients ? "000" + std::to_string(i) + ".dcm"
                                  : std::string(kSeries) + "." + std::to_string(i) + ".dcm";
      expected += ToHex(Sha256(bytes)) + "  " + name + "\n";
    }
    EXPECT_EQ(text, expected);
  }
  Entry p = Walk(PatientsSeriesPath());
  Entry s = Walk({"studies", "1.2.3", kSeries});
  // View-dependent content: one inode per view.
  EXPECT_NE(MustLookup(p.attr.ino, "SHA256SUMS").attr.ino,
            MustLookup(s.attr.ino, "SHA256SUMS").attr.ino);
}

TEST_F(FilesystemTest, ReaddirPlusMatchesLookupAndCountsLookups) {
  Entry series = Walk(PatientsSeriesPath());
  std::vector<Listed> plus = List(series.attr.ino, /*plus=*/true);
  ASSERT_EQ(plus.size(), 6u);
  for (const Listed& l : plus) {
    if (l.name == "." || l.name == "..") continue;
    Result<Entry> looked = fs_->Lookup(series.attr.ino, l.name);
    ASSERT_TRUE(looked.ok());
    EXPECT_EQ(looked->attr.ino, l.entry.attr.ino) << l.name;
    EXPECT_EQ(looked->attr.size, l.entry.attr.size) << l.name;
    EXPECT_EQ(looked->attr.mtime, l.entry.attr.mtime) << l.name;
    // One lookup from readdirplus, one from Lookup.
    EXPECT_EQ(fs_->inodes().LookupCount(l.entry.attr.ino), 2u) << l.name;
  }
}

TEST_F(FilesystemTest, ForgetErasesAtZero) {
  Entry series = Walk(PatientsSeriesPath());
  InodeId ino = MustLookup(series.attr.ino, "0001.dcm").attr.ino;
  MustLookup(series.attr.ino, "0001.dcm");
  EXPECT_EQ(fs_->inodes().LookupCount(ino), 2u);
  fs_->Forget(ino, 1);
  EXPECT_TRUE(fs_->GetAttr(ino).ok());
  fs_->Forget(ino, 1);
  EXPECT_EQ(fs_->inodes().LookupCount(ino), 0u);
  EXPECT_TRUE(fs_->GetAttr(ino).status().IsNotFound());
}

TEST_F(FilesystemTest, ReaddirResumesFromAnyOffset) {
  Entry series = Walk(PatientsSeriesPath());
  std::vector<std::string> all = Names(series.attr.ino);
  // One entry per reply, as with a tiny buffer.
  Result<std::unique_ptr<DirHandle>> dir = fs_->OpenDir(series.attr.ino);
  ASSERT_TRUE(dir.ok());
  std::vector<std::string> paged;
  std::vector<uint64_t> offsets;
  uint64_t offset = 0;
  while (true) {
    bool got = false;
    ASSERT_TRUE(fs_->ReadDir(**dir, offset, false, [&](const DirItem& item) {
      if (got) return false;
      got = true;
      paged.emplace_back(item.name);
      offsets.push_back(offset);
      offset = item.next_offset;
      return true;
    }).ok());
    if (!got) break;
  }
  EXPECT_EQ(paged, all);
  // seekdir to offsets seen before, on a fresh stream (no cursor cached).
  for (size_t i = 0; i < offsets.size(); ++i) {
    Result<std::unique_ptr<DirHandle>> fresh = fs_->OpenDir(series.attr.ino);
    ASSERT_TRUE(fresh.ok());
    std::string first;
    ASSERT_TRUE(fs_->ReadDir(**fresh, offsets[i], false, [&](const DirItem& item) {
      first = std::string(item.name);
      return false;
    }).ok());
    EXPECT_EQ(first, all[i]) << "offset " << offsets[i];
  }
}

TEST_F(FilesystemTest, Xattrs) {
  Entry series = Walk(PatientsSeriesPath());
  InodeId file = MustLookup(series.attr.ino, "0003.dcm").attr.ino;
  Result<std::optional<std::string>> sop = fs_->GetXattr(file, "user.dicom.SOPInstanceUID");
  ASSERT_TRUE(sop.ok());
  EXPECT_EQ(sop->value_or(""), "1.2.3.4.3");
  EXPECT_EQ(fs_->GetXattr(file, "user.dicom.Rows")->value_or(""), "64");
  EXPECT_FALSE(fs_->GetXattr(file, "user.dicom.Nope")->has_value());
  EXPECT_FALSE(fs_->GetXattr(file, "security.selinux")->has_value());
  Result<std::vector<std::string>> names = fs_->ListXattr(series.attr.ino);
  ASSERT_TRUE(names.ok());
  for (const char* want : {"user.dicom.Modality", "user.dicom.SeriesInstanceUID",
                           "user.dicom.StudyInstanceUID", "user.dicom.PatientID"}) {
    EXPECT_NE(std::find(names->begin(), names->end(), want), names->end()) << want;
  }
  EXPECT_EQ(fs_->GetXattr(series.attr.ino, "user.dicom.Modality")->value_or(""), "CT");
  EXPECT_TRUE(fs_->ListXattr(kRootIno)->empty());
}

TEST_F(FilesystemTest, NewIngestAppearsAfterCatchUpAndChangesSums) {
  Entry series = Walk(PatientsSeriesPath());
  InodeId sums = MustLookup(series.attr.ino, "SHA256SUMS").attr.ino;
  std::string before = ReadAll(sums);
  archive_.Add(TestArchive::Meta(kSeries, 4), "a fourth instance");
  ASSERT_TRUE(fs_->CatchUp().ok());
  EXPECT_TRUE(fs_->Lookup(series.attr.ino, "0004.dcm").ok());
  std::string after = ReadAll(sums);
  EXPECT_NE(before, after);
  EXPECT_NE(after.find("  0004.dcm\n"), std::string::npos);
  EXPECT_EQ(fs_->GetAttr(sums)->attr.size, after.size());
}

TEST_F(FilesystemTest, StatsJson) {
  Entry stats = Walk({".dcmfs", "stats.json"});
  EXPECT_EQ(stats.attr.ino, kStatsJsonIno);
  std::string text = ReadAll(stats.attr.ino);
  EXPECT_EQ(stats.attr.size, text.size());
  // Stable size and mtime so that a second rsync copies nothing.
  EXPECT_EQ(stats.attr.mtime, 0);
  nlohmann::json j = nlohmann::json::parse(text);
  EXPECT_EQ(j["archive"]["instances"], 3);
  EXPECT_TRUE(j.contains("derived"));
  EXPECT_TRUE(j.contains("uptime_s"));
  EXPECT_EQ(j["anonymized_view"], true);
}

TEST_F(FilesystemTest, NotAnArchive) {
  FilesystemOptions options;
  options.archive_root = archive_.dir().Sub("nothing-here");
  EXPECT_TRUE(Filesystem::Open(options).status().IsNotFound());
}

}  // namespace
}  // namespace dcmfs

namespace dcmfs {
namespace {

// Nested virtual folders, an unlisted request folder and a costly size.
class NestedProvider final : public DerivedProvider {
 public:
  std::string kind() const override { return "nested"; }
  bool view_dependent() const override { return false; }
  bool persist() const override { return false; }
  bool size_is_cheap() const override { return false; }
  std::vector<std::string> Names(const SeriesContext&) const override {
    return {"deep/a/y.txt", "deep/x.txt"};
  }
  bool IsFolder(const SeriesContext& ctx, std::string_view path) const override {
    // "deep/q,<n>" exists on lookup only, like an IIIF region.
    if (path.starts_with("deep/q,")) return path.find('/', 5) == std::string_view::npos;
    return DerivedProvider::IsFolder(ctx, path);
  }
  std::optional<std::string> Match(const SeriesContext&, std::string_view name) const override {
    if (name == "deep/a/y.txt" || name == "deep/x.txt") return std::string(name);
    if (name.starts_with("deep/q,") && name.ends_with("/z.txt")) return std::string(name);
    return std::nullopt;
  }
  Result<std::shared_ptr<DerivedContent>> Produce(const SeriesContext&,
                                                  std::string_view params) const override {
    ++calls;
    return std::shared_ptr<DerivedContent>(
        std::make_shared<StringContent>("content of " + std::string(params)));
  }
  mutable std::atomic<int> calls{0};
};

TEST_F(FilesystemTest, NestedVirtualFoldersListWithoutProducingCostlyFiles) {
  auto owned = std::make_unique<NestedProvider>();
  NestedProvider* provider = owned.get();
  fs_->derived().Register(std::move(owned));
  Entry series = Walk(PatientsSeriesPath());
  std::vector<std::string> top = Names(series.attr.ino);
  EXPECT_NE(std::find(top.begin(), top.end(), "deep"), top.end());

  Entry deep = MustLookup(series.attr.ino, "deep");
  EXPECT_TRUE(S_ISDIR(deep.attr.mode));
  std::vector<Listed> plus = List(deep.attr.ino, /*plus=*/true);
  ASSERT_EQ(plus.size(), 4u);  // . .. a x.txt
  EXPECT_EQ(plus[2].name, "a");
  EXPECT_TRUE(S_ISDIR(plus[2].entry.attr.mode));
  EXPECT_TRUE(plus[2].entry.has_attributes);
  EXPECT_EQ(plus[3].name, "x.txt");
  EXPECT_FALSE(plus[3].entry.has_attributes);
  EXPECT_EQ(provider->calls.load(), 0) << "readdirplus produced a costly file";

  // Lookup (stat) produces it, with the same inode the listing gave.
  Entry x = MustLookup(deep.attr.ino, "x.txt");
  EXPECT_EQ(x.attr.ino, plus[3].entry.attr.ino);
  EXPECT_EQ(x.attr.size, std::string("content of deep/x.txt").size());
  EXPECT_EQ(ReadAll(x.attr.ino), "content of deep/x.txt");

  Entry a = MustLookup(deep.attr.ino, "a");
  EXPECT_EQ(ReadAll(MustLookup(a.attr.ino, "y.txt").attr.ino), "content of deep/a/y.txt");
  // Unlisted folders resolve on lookup; unknown names do not.
  Entry q = MustLookup(deep.attr.ino, "q,7");
  EXPECT_TRUE(S_ISDIR(q.attr.mode));
  EXPECT_EQ(ReadAll(MustLookup(q.attr.ino, "z.txt").attr.ino), "content of deep/q,7/z.txt");
  EXPECT_TRUE(fs_->Lookup(deep.attr.ino, "nope").status().IsNotFound());
  EXPECT_TRUE(fs_->Lookup(q.attr.ino, "nope.txt").status().IsNotFound());
  // Folder inodes are stable and distinct per path.
  EXPECT_EQ(MustLookup(series.attr.ino, "deep").attr.ino, deep.attr.ino);
  EXPECT_NE(q.attr.ino, deep.attr.ino);
}

}  // namespace
}  // namespace dcmfs
