// Folder names when a series' instances disagree on SeriesNumber (or a
// study's on StudyDate): the name follows a rule over all members, so every
// ingest order gives the same tree (docs/semantics.md, "Names"), and a
// member that changes the name renames the folder keeping its inode.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "index/catalog.h"
#include "index/inode.h"
#include "index/naming.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

using testing::TempDir;

InstanceMeta Meta(const std::string& sop) {
  InstanceMeta m;
  m.patient_name = "Doe^Jane";
  m.patient_id = "77";
  m.study_uid = "1.2.3";
  m.study_date = "20240301";
  m.study_time = "080000";
  m.study_description = "Head";
  m.series_uid = "1.2.3.1";
  m.series_number = 5;
  m.modality = "CT";
  m.series_description = "Axial";
  m.sop_uid = sop;
  m.instance_number = std::stoll(sop.substr(sop.rfind('.') + 1));
  return m;
}

std::unique_ptr<Catalog> OpenWriter(const std::string& path) {
  CatalogOptions o;
  o.path = path;
  o.create_if_missing = true;
  auto c = Catalog::Open(o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

void Walk(const Catalog& c, InodeId ino, const std::string& path,
          std::map<std::string, std::string>* out) {
  ASSERT_TRUE(c.List(ino, "", [&](const DirEntry& e) {
                 (*out)[path + "/" + e.name] = std::to_string(e.ino) + " " + std::to_string(e.mtime);
                 if (e.kind != NodeKind::kInstance) Walk(c, e.ino, path + "/" + e.name, out);
                 return true;
               }).ok());
}

std::map<std::string, std::string> Tree(const Catalog& c) {
  std::map<std::string, std::string> out;
  Walk(c, kPatientsIno, "/patients", &out);
  Walk(c, kStudiesIno, "/studies", &out);
  return out;
}

// A series whose instances say 5, 3, nothing and 3 (with another
// description); a study whose instances say 2024-03-01, 2024-01-15 and
// nothing; a sibling series numbered 3 that clashes once the first is
// renamed; a second study of the patient.
std::vector<InstanceMeta> Disagreeing() {
  std::vector<InstanceMeta> v;
  InstanceMeta a = Meta("9.1");
  InstanceMeta b = Meta("9.2");
  b.series_number = 3;
  b.study_date = "20240115";
  b.study_time = "";
  InstanceMeta c = Meta("9.3");
  c.series_number.reset();
  c.study_date = "";
  InstanceMeta d = Meta("9.4");
  d.series_number = 3;
  d.series_description = "Bone";
  InstanceMeta sibling = Meta("9.5");
  sibling.series_uid = "1.2.3.2";
  sibling.series_number = 3;
  InstanceMeta other_study = Meta("9.6");
  other_study.study_uid = "1.2.4";
  other_study.series_uid = "1.2.4.1";
  other_study.study_date = "20231224";
  return {a, b, c, d, sibling, other_study};
}

TEST(FolderNaming, EveryIngestOrderGivesTheSameTree) {
  std::vector<InstanceMeta> metas = Disagreeing();
  std::vector<size_t> order(metas.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  TempDir tmp;
  std::map<std::string, std::string> first;
  int run = 0;
  do {
    // Every 7th of the 720 orders keeps the test quick yet varied.
    if (run++ % 7 != 0) continue;
    auto catalog = OpenWriter(tmp.Sub("db" + std::to_string(run)));
    for (size_t i : order) {
      ASSERT_TRUE(catalog->AddInstance(Sha256(metas[i].sop_uid), 1, metas[i]).ok());
    }
    auto tree = Tree(*catalog);
    if (first.empty()) {
      first = tree;
      continue;
    }
    ASSERT_EQ(tree, first) << "order starting with " << metas[order[0]].sop_uid;
  } while (std::next_permutation(order.begin(), order.end()));
  // The lowest SeriesNumber (then modality, description) and the earliest
  // StudyDate name the folders; the renamed series clashes with its sibling.
  const std::string study = "/patients/Doe Jane (77)/2024-01-15 Head";
  EXPECT_EQ(first.count(study), 1u);
  int clashing = 0;
  for (const auto& [path, _] : first) {
    clashing += path.starts_with(study + "/3 CT Axial ~") && path.find('/', study.size() + 1) == std::string::npos;
  }
  EXPECT_EQ(clashing, 2);
  EXPECT_EQ(first.count("/patients/Doe Jane (77)/2023-12-24 Head/5 CT Axial"), 1u);
}

TEST(FolderNaming, RenameKeepsTheInodeAndLeavesNoOldName) {
  TempDir tmp;
  auto catalog = OpenWriter(tmp.Sub("db"));
  std::vector<InstanceMeta> metas = Disagreeing();
  ASSERT_TRUE(catalog->AddInstance(Sha256("a"), 1, metas[0]).ok());
  const InodeId study_ino = InodeFor(NodeKind::kStudy, View::kPatients, "1.2.3");
  auto before = catalog->Lookup(study_ino, "5 CT Axial");
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_TRUE(catalog->AddInstance(Sha256("b"), 1, metas[1]).ok());
  EXPECT_TRUE(catalog->Lookup(study_ino, "5 CT Axial").status().IsNotFound());
  auto after = catalog->Lookup(study_ino, "3 CT Axial");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->ino, before->ino);
  auto series = catalog->GetSeries("1.2.3.1");
  ASSERT_TRUE(series.ok());
  EXPECT_EQ(series->number, 3);
  // The study took the earlier date, and the patient folder its mtime.
  const InodeId patient_ino = InodeFor(NodeKind::kPatient, View::kPatients, catalog->GetStudy("1.2.3")->patient_key);
  auto study = catalog->Lookup(patient_ino, "2024-01-15 Head");
  ASSERT_TRUE(study.ok()) << study.status().ToString();
  EXPECT_EQ(study->ino, study_ino);
  auto patient = catalog->Lookup(kPatientsIno, "Doe Jane (77)");
  ASSERT_TRUE(patient.ok());
  EXPECT_EQ(patient->mtime, study->mtime);
  // Its sibling numbered 3 arrives: both now carry a suffix.
  ASSERT_TRUE(catalog->AddInstance(Sha256("s"), 1, metas[4]).ok());
  EXPECT_TRUE(catalog->Lookup(study_ino, "3 CT Axial").status().IsNotFound());
  auto suffixed = catalog->Lookup(study_ino, WithClashSuffix("3 CT Axial", "1.2.3.1"));
  ASSERT_TRUE(suffixed.ok());
  EXPECT_EQ(suffixed->ino, before->ino);
}

TEST(FolderNaming, LeavingAClashGroupGivesTheOneLeftItsPlainName) {
  TempDir tmp;
  auto catalog = OpenWriter(tmp.Sub("db"));
  InstanceMeta a = Meta("9.1");  // series 1.2.3.1, number 5
  InstanceMeta sibling = Meta("9.5");
  sibling.series_uid = "1.2.3.2";  // also number 5
  ASSERT_TRUE(catalog->AddInstance(Sha256("a"), 1, a).ok());
  ASSERT_TRUE(catalog->AddInstance(Sha256("s"), 1, sibling).ok());
  const InodeId study_ino = InodeFor(NodeKind::kStudy, View::kPatients, "1.2.3");
  EXPECT_TRUE(catalog->Lookup(study_ino, WithClashSuffix("5 CT Axial", "1.2.3.2")).ok());
  InstanceMeta lower = Meta("9.2");
  lower.series_number = 2;
  ASSERT_TRUE(catalog->AddInstance(Sha256("l"), 1, lower).ok());
  auto left = catalog->Lookup(study_ino, "5 CT Axial");
  ASSERT_TRUE(left.ok()) << left.status().ToString();
  EXPECT_EQ(left->ref, "1.2.3.2");
  EXPECT_TRUE(catalog->Lookup(study_ino, "2 CT Axial").ok());
  EXPECT_TRUE(catalog->Lookup(study_ino, WithClashSuffix("5 CT Axial", "1.2.3.2")).status().IsNotFound());
  EXPECT_TRUE(catalog->Lookup(study_ino, WithClashSuffix("5 CT Axial", "1.2.3.1")).status().IsNotFound());
  size_t entries = 0;
  ASSERT_TRUE(catalog->List(study_ino, "", [&](const DirEntry&) { return ++entries, true; }).ok());
  EXPECT_EQ(entries, 2u);
}

}  // namespace
}  // namespace dcmfs
