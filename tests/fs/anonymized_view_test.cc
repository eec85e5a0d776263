// /anonymized without a kernel: names, contents, attributes and permissions
// of the de-identified twin, checked against the identifiers put in.
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <cstring>

#include <gtest/gtest.h>

#include "codecs/deidentify.h"
#include "codecs/dicom_parse.h"
#include "codecs/sha256.h"
#include "codecs/synthetic.h"
#include "fs/anonymized/secret.h"
#include "fs/filesystem.h"
#include "index/archive_layout.h"
#include "tests/fs/test_archive.h"

namespace dcmfs {
namespace {

using testing::TestArchive;

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// One node met while walking a tree.
struct Walked {
  std::string path;  // names joined by '/'
  Entry entry;
};

class AnonymizedViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SyntheticOptions synth;
    synth.out_dir = archive_.dir().Sub("synthetic");
    synth.rows = synth.columns = 16;
    synth.ct_slices = 3;
    synth.mr_slices = 2;
    Result<std::vector<SyntheticFile>> files = WriteSyntheticSet(synth);
    ASSERT_TRUE(files.ok()) << files.status().ToString();
    for (const SyntheticFile& f : *files) {
      std::string bytes = ::dcmfs::testing::ReadFileOrEmpty(f.path);
      Result<InstanceMeta> meta = ParseDicom(Bytes(bytes));
      ASSERT_TRUE(meta.ok()) << meta.status().ToString();
      if (f.path == files->front().path) {
        // A secondary capture without BurnedInAnnotation, in a series of its
        // own: real DICOM bytes catalogued as SC (the fs never parses them).
        meta->series_uid += ".99";
        meta->series_number = 99;
        meta->modality = "SC";
        meta->burned_in_annotation = "";
        meta->instance_number = 1;
      }
      archive_.Add(*meta, bytes);
      metas_.push_back(*meta);
    }
    // A fixed secret, so that shifts and mapped UIDs are the same on every
    // run. With a random one, a patient's shifted study date equals another
    // study's original date (its "YYYY-MM-DD" is an identifier below) in
    // about 0.7 % of runs: a failure by chance, not a leak. The secret the
    // filesystem creates itself is checked in SecretIsPrivateAndNeverShown.
    const std::string secret = ArchiveLayout{archive_.root()}.secret();
    ::dcmfs::testing::WriteFileOrDie(secret, std::string(kArchiveSecretBytes, '\x5c'));
    std::filesystem::permissions(secret, std::filesystem::perms::owner_read |
                                             std::filesystem::perms::owner_write);
    OpenFs();
  }

  void OpenFs(bool include_burned_in = false) {
    fs_.reset();
    FilesystemOptions options;
    options.archive_root = archive_.root();
    options.uid = 1234;
    options.gid = 99;
    options.identified_gid = 77;
    options.identified_mode = 0750;
    options.anon_include_burned_in = include_burned_in;
    options.catch_up_interval = std::chrono::milliseconds(0);
    Result<std::unique_ptr<Filesystem>> fs = Filesystem::Open(options);
    ASSERT_TRUE(fs.ok()) << fs.status().ToString();
    fs_ = std::move(fs).value();
  }

  std::vector<std::string> Names(InodeId ino) {
    std::vector<std::string> names;
    Result<std::unique_ptr<DirHandle>> dir = fs_->OpenDir(ino);
    EXPECT_TRUE(dir.ok()) << dir.status().ToString();
    if (!dir.ok()) return names;
    EXPECT_TRUE(fs_->ReadDir(**dir, 0, false, [&](const DirItem& item) {
      if (item.name != "." && item.name != "..") names.emplace_back(item.name);
      return true;
    }).ok());
    return names;
  }

  // Every node below `ino` (looked up by name, as the kernel would).
  void WalkTree(InodeId ino, const std::string& path, std::vector<Walked>& out) {
    for (const std::string& name : Names(ino)) {
      Result<Entry> e = fs_->Lookup(ino, name);
      ASSERT_TRUE(e.ok()) << path << "/" << name << ": " << e.status().ToString();
      out.push_back(Walked{path + "/" + name, *e});
      if (S_ISDIR(e->attr.mode)) WalkTree(e->attr.ino, path + "/" + name, out);
    }
  }

  std::vector<Walked> WalkAnonymized() {
    std::vector<Walked> out;
    WalkTree(kAnonymizedIno, "anonymized", out);
    return out;
  }

  std::string ReadAll(InodeId ino) {
    Result<std::unique_ptr<OpenFile>> f = fs_->Open(ino);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    if (!f.ok()) return "";
    std::string out;
    std::vector<uint8_t> buf(4096);
    while (true) {
      Result<size_t> n = fs_->Read(**f, out.size(), buf);
      EXPECT_TRUE(n.ok());
      if (!n.ok() || *n == 0) break;
      out.append(reinterpret_cast<char*>(buf.data()), *n);
    }
    return out;
  }

  std::string Xattr(InodeId ino, const std::string& name) {
    Result<std::optional<std::string>> v = fs_->GetXattr(ino, "user.dicom." + name);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? v->value_or("") : "";
  }

  // Identifying strings of the originals, long enough to be meaningful.
  std::set<std::string> Identifiers() const {
    std::set<std::string> out;
    auto add = [&](const std::string& s) {
      if (s.size() >= 4) out.insert(s);
    };
    for (const InstanceMeta& m : metas_) {
      std::string part;
      for (char c : m.patient_name + "^") {
        if (c == '^' || c == '=') {
          add(part);
          part.clear();
        } else {
          part.push_back(c);
        }
      }
      for (const std::string* s : {&m.patient_id, &m.study_description, &m.series_description,
                                   &m.accession_number, &m.study_uid, &m.series_uid, &m.sop_uid,
                                   &m.study_date, &m.patient_birth_date}) {
        add(*s);
      }
      if (m.study_date.size() == 8) {
        add(m.study_date.substr(0, 4) + "-" + m.study_date.substr(4, 2) + "-" +
            m.study_date.substr(6, 2));
      }
    }
    return out;
  }

  TestArchive archive_;
  std::vector<InstanceMeta> metas_;
  std::unique_ptr<Filesystem> fs_;
};

TEST_F(AnonymizedViewTest, RootListsAnonymizedAfterTheIdentifiedViews) {
  EXPECT_EQ(Names(kRootIno), (std::vector<std::string>{"patients", "studies", "anonymized",
                                                       "bagit", "incoming"}));
  Result<Entry> anon = fs_->Lookup(kRootIno, "anonymized");
  ASSERT_TRUE(anon.ok());
  EXPECT_EQ(anon->attr.ino, kAnonymizedIno);
}

TEST_F(AnonymizedViewTest, NamesAndAttributesCarryNoIdentifiers) {
  std::vector<Walked> walked = WalkAnonymized();
  ASSERT_GT(walked.size(), 10u);
  const std::set<std::string> identifiers = Identifiers();
  for (const Walked& w : walked) {
    for (const std::string& id : identifiers) {
      EXPECT_EQ(w.path.find(id), std::string::npos) << w.path << " shows " << id;
    }
    Result<std::vector<std::string>> names = fs_->ListXattr(w.entry.attr.ino);
    ASSERT_TRUE(names.ok()) << names.status().ToString();
    for (const std::string& name : *names) {
      std::string value = Xattr(w.entry.attr.ino, name.substr(std::strlen("user.dicom.")));
      for (const std::string& id : identifiers) {
        EXPECT_EQ(value.find(id), std::string::npos) << w.path << " " << name << " shows " << id;
      }
    }
  }
}

TEST_F(AnonymizedViewTest, OnePseudonymPerPatientWithAllTheirStudies) {
  std::vector<std::string> patients = Names(kPatientsIno);
  std::vector<std::string> pseudonyms = Names(kAnonymizedIno);
  ASSERT_EQ(pseudonyms.size(), patients.size());
  size_t identified_studies = 0, anonymized_studies = 0;
  for (const std::string& p : patients) {
    identified_studies += Names(fs_->Lookup(kPatientsIno, p)->attr.ino).size();
  }
  for (const std::string& p : pseudonyms) {
    EXPECT_EQ(p.rfind("ANON", 0), 0u) << p;
    Result<Entry> e = fs_->Lookup(kAnonymizedIno, p);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(Xattr(e->attr.ino, "PatientID"), p);
    anonymized_studies += Names(e->attr.ino).size();
  }
  EXPECT_EQ(anonymized_studies, identified_studies);
}

TEST_F(AnonymizedViewTest, FilesAreDeidentifiedWithExactSizes) {
  const std::set<std::string> identifiers = Identifiers();
  size_t files = 0;
  for (const Walked& w : WalkAnonymized()) {
    if (!w.path.ends_with(".dcm")) continue;
    ++files;
    std::string bytes = ReadAll(w.entry.attr.ino);
    EXPECT_EQ(bytes.size(), w.entry.attr.size) << w.path;
    EXPECT_EQ(fs_->GetAttr(w.entry.attr.ino)->attr.size, bytes.size());
    Result<InstanceMeta> meta = ParseDicom(Bytes(bytes));
    ASSERT_TRUE(meta.ok()) << w.path << ": " << meta.status().ToString();
    EXPECT_EQ(meta->sop_uid.rfind("2.25.", 0), 0u) << meta->sop_uid;
    EXPECT_EQ(meta->sop_uid, Xattr(w.entry.attr.ino, "SOPInstanceUID"));
    EXPECT_EQ(meta->study_uid, Xattr(w.entry.attr.ino, "StudyInstanceUID"));
    EXPECT_EQ(meta->patient_id, Xattr(w.entry.attr.ino, "PatientID"));
    EXPECT_FALSE(identifiers.contains(meta->patient_name)) << meta->patient_name;
    EXPECT_TRUE(meta->accession_number.empty() || !identifiers.contains(meta->accession_number));
  }
  EXPECT_EQ(files, metas_.size() - 1);  // all but the secondary capture
}

TEST_F(AnonymizedViewTest, Sha256SumsOfTheDeidentifiedFiles) {
  std::map<std::string, InodeId> by_path;
  std::vector<Walked> walked = WalkAnonymized();
  for (const Walked& w : walked) by_path[w.path] = w.entry.attr.ino;
  size_t checked = 0;
  for (const Walked& w : walked) {
    if (!w.path.ends_with("/SHA256SUMS")) continue;
    const std::string folder = w.path.substr(0, w.path.size() - std::strlen("SHA256SUMS"));
    std::string sums = ReadAll(w.entry.attr.ino);
    EXPECT_EQ(sums.size(), w.entry.attr.size);
    size_t pos = 0;
    while (pos < sums.size()) {
      size_t end = sums.find('\n', pos);
      ASSERT_NE(end, std::string::npos);
      std::string line = sums.substr(pos, end - pos);
      pos = end + 1;
      ASSERT_GT(line.size(), 66u);
      InodeId file = by_path[folder + line.substr(66)];
      ASSERT_NE(file, 0u) << line;
      EXPECT_EQ(line.substr(0, 64), ToHex(Sha256(ReadAll(file))));
      ++checked;
    }
  }
  EXPECT_EQ(checked, metas_.size() - 1);
}

TEST_F(AnonymizedViewTest, BurnedInImagesAreLeftOutAndListed) {
  std::vector<std::string> excluded;
  for (const Walked& w : WalkAnonymized()) {
    if (w.path.find("/99 SC") == std::string::npos) continue;
    EXPECT_FALSE(w.path.ends_with(".dcm")) << w.path;
    if (w.path.ends_with("/EXCLUDED.txt")) excluded.push_back(ReadAll(w.entry.attr.ino));
  }
  ASSERT_EQ(excluded.size(), 1u) << [&] {
    std::string all;
    for (const Walked& w : WalkAnonymized()) all += w.path + "\n";
    return all;
  }();
  EXPECT_EQ(excluded[0],
            "0001.dcm: modality SC without BurnedInAnnotation may show text in the image\n");

  OpenFs(/*include_burned_in=*/true);
  size_t sc_files = 0;
  for (const Walked& w : WalkAnonymized()) {
    if (w.path.find("/99 SC") == std::string::npos) continue;
    EXPECT_FALSE(w.path.ends_with("EXCLUDED.txt"));
    sc_files += w.path.ends_with("/0001.dcm");
  }
  EXPECT_EQ(sc_files, 1u);
}

TEST_F(AnonymizedViewTest, InodesAndMtimesStableAcrossMounts) {
  std::map<std::string, std::pair<InodeId, int64_t>> before;
  for (const Walked& w : WalkAnonymized()) before[w.path] = {w.entry.attr.ino, w.entry.attr.mtime};
  OpenFs();
  std::map<std::string, std::pair<InodeId, int64_t>> after;
  for (const Walked& w : WalkAnonymized()) after[w.path] = {w.entry.attr.ino, w.entry.attr.mtime};
  EXPECT_EQ(before, after);
  // And distinct from the identified inodes.
  std::set<InodeId> identified;
  std::vector<Walked> walked;
  WalkTree(kPatientsIno, "patients", walked);
  for (const Walked& w : walked) identified.insert(w.entry.attr.ino);
  for (const auto& [path, v] : after) EXPECT_FALSE(identified.contains(v.first)) << path;
}

TEST_F(AnonymizedViewTest, IdentifiedTreesAreRestrictedAnonymizedIsOpen) {
  Result<Entry> patients = fs_->GetAttr(kPatientsIno);
  ASSERT_TRUE(patients.ok());
  EXPECT_EQ(patients->attr.mode, static_cast<uint32_t>(S_IFDIR | 0750));
  EXPECT_EQ(patients->attr.gid, 77u);
  std::vector<Walked> identified;
  WalkTree(kPatientsIno, "patients", identified);
  WalkTree(kStudiesIno, "studies", identified);
  for (const Walked& w : identified) {
    const uint32_t want = S_ISDIR(w.entry.attr.mode) ? S_IFDIR | 0750 : S_IFREG | 0440;
    EXPECT_EQ(w.entry.attr.mode, want) << w.path;
    EXPECT_EQ(w.entry.attr.gid, 77u) << w.path;
    EXPECT_EQ(fs_->GetAttr(w.entry.attr.ino)->attr.mode, want) << w.path;
  }
  for (const Walked& w : WalkAnonymized()) {
    const uint32_t want = S_ISDIR(w.entry.attr.mode) ? S_IFDIR | 0555 : S_IFREG | 0444;
    EXPECT_EQ(w.entry.attr.mode, want) << w.path;
    EXPECT_EQ(w.entry.attr.gid, 99u) << w.path;
    EXPECT_EQ(w.entry.attr.uid, 1234u) << w.path;
  }
  EXPECT_EQ(fs_->GetAttr(kRootIno)->attr.mode, static_cast<uint32_t>(S_IFDIR | 0555));
  EXPECT_EQ(fs_->GetAttr(kAnonymizedIno)->attr.mode, static_cast<uint32_t>(S_IFDIR | 0555));
}

TEST_F(AnonymizedViewTest, SecretIsPrivateAndNeverShown) {
  // The filesystem's own secret this time, not the fixture's fixed one.
  const std::string path = ArchiveLayout{archive_.root()}.secret();
  fs_.reset();
  std::filesystem::remove(path);
  OpenFs();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string secret = ::dcmfs::testing::ReadFileOrEmpty(path);
  ASSERT_EQ(secret.size(), kArchiveSecretBytes);
  // The same secret on the next load (and so the same pseudonyms).
  EXPECT_EQ(LoadOrCreateArchiveSecret(archive_.root()).value(), secret);
  std::string hex;
  for (unsigned char c : secret) {
    hex.push_back("0123456789abcdef"[c >> 4]);
    hex.push_back("0123456789abcdef"[c & 15]);
  }
  std::vector<Walked> all = WalkAnonymized();
  WalkTree(kPatientsIno, "patients", all);
  for (const Walked& w : all) {
    EXPECT_EQ(w.path.find("secret"), std::string::npos) << w.path;
    if (S_ISDIR(w.entry.attr.mode)) continue;
    std::string bytes = ReadAll(w.entry.attr.ino);
    EXPECT_EQ(bytes.find(secret), std::string::npos) << w.path;
    EXPECT_EQ(bytes.find(hex), std::string::npos) << w.path;
  }
  std::string stats = ReadAll(fs_->Lookup(fs_->Lookup(kRootIno, ".dcmfs")->attr.ino,
                                          "stats.json")->attr.ino);
  EXPECT_EQ(stats.find(hex), std::string::npos);
}

TEST_F(AnonymizedViewTest, WithoutASecretTheViewIsOff) {
  // A secret that cannot be read (here a folder in its place; in practice a
  // read-only archive without one) leaves the identified views mounted.
  const std::string root = archive_.root();
  fs_.reset();
  const std::string secret = ArchiveLayout{root}.secret();
  std::filesystem::remove(secret);
  std::filesystem::create_directory(secret);
  FilesystemOptions options;
  options.archive_root = root;
  options.catch_up_interval = std::chrono::milliseconds(0);
  Result<std::unique_ptr<Filesystem>> fs = Filesystem::Open(options);
  ASSERT_TRUE(fs.ok()) << fs.status().ToString();
  EXPECT_FALSE((*fs)->anonymized_view());
  EXPECT_FALSE((*fs)->Lookup(kRootIno, "anonymized").ok());
  EXPECT_TRUE((*fs)->Lookup(kRootIno, "patients").ok());
}

TEST(ArchiveSecretTest, CreatedOnceThenRead) {
  ::dcmfs::testing::TempDir dir;
  Result<std::string> first = LoadOrCreateArchiveSecret(dir.path());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->size(), kArchiveSecretBytes);
  EXPECT_EQ(LoadOrCreateArchiveSecret(dir.path()).value(), *first);
  // No temp files left behind.
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) entries += !e.path().empty();
  EXPECT_EQ(entries, 1u);
  EXPECT_FALSE(LoadOrCreateArchiveSecret(dir.Sub("missing/folder")).ok());
}

}  // namespace
}  // namespace dcmfs
