#include "index/catalog.h"

#include <gtest/gtest.h>

#include <ctime>
#include <map>
#include <set>

#include "index/naming.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

using testing::TempDir;

InstanceMeta Meta(const std::string& sop, std::optional<int64_t> number) {
  InstanceMeta m;
  m.patient_name = "Doe^John^^^";
  m.patient_id = "12";
  m.study_uid = "1.2.840.1";
  m.study_date = "20240131";
  m.study_time = "120000";
  m.study_description = "CT Chest";
  m.accession_number = "A1";
  m.series_uid = "1.2.840.1.1";
  m.series_number = 3;
  m.modality = "CT";
  m.series_description = "Axial";
  m.sop_uid = sop;
  m.instance_number = number;
  return m;
}

Digest D(const std::string& s) { return Sha256(s); }

std::unique_ptr<Catalog> OpenWriter(const std::string& path) {
  CatalogOptions o;
  o.path = path;
  o.create_if_missing = true;
  auto c = Catalog::Open(o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

std::unique_ptr<Catalog> OpenReader(const std::string& path) {
  CatalogOptions o;
  o.path = path;
  o.read_only_follower = true;
  auto c = Catalog::Open(o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

std::vector<DirEntry> ListAll(const Catalog& c, InodeId parent) {
  std::vector<DirEntry> out;
  EXPECT_TRUE(c.List(parent, "", [&](const DirEntry& e) {
                 out.push_back(e);
                 return true;
               }).ok());
  return out;
}

DirEntry MustLookup(const Catalog& c, InodeId parent, const std::string& name) {
  auto e = c.Lookup(parent, name);
  EXPECT_TRUE(e.ok()) << name << ": " << e.status().ToString();
  return e.ok() ? *e : DirEntry{};
}

// Every path in both views with the entry's inode, kind and ref: a tree snapshot to compare.
void Walk(const Catalog& c, InodeId ino, const std::string& path,
          std::map<std::string, std::string>* out) {
  for (const DirEntry& e : ListAll(c, ino)) {
    (*out)[path + "/" + e.name] = std::to_string(e.ino) + " " + e.ref + " " +
                                  std::to_string(e.size) + " " + std::to_string(e.mtime);
    if (e.kind != NodeKind::kInstance) Walk(c, e.ino, path + "/" + e.name, out);
  }
}
std::map<std::string, std::string> Tree(const Catalog& c) {
  std::map<std::string, std::string> out;
  Walk(c, kPatientsIno, "/patients", &out);
  Walk(c, kStudiesIno, "/studies", &out);
  return out;
}

int64_t Utc(int y, int mo, int d, int h, int mi, int s) {
  std::tm tm{};
  tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
  tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm));
}

TEST(CatalogTest, TreeInBothViews) {
  TempDir tmp;
  auto c = OpenWriter(tmp.Sub("index"));
  ASSERT_NE(c, nullptr);
  InstanceMeta m1 = Meta("1.2.840.1.1.1", 1);
  m1.content_date = "20240131", m1.content_time = "121314.5";
  ASSERT_TRUE(c->AddInstance(D("a"), 1000, m1).ok());
  ASSERT_TRUE(c->AddInstance(D("b"), 2000, Meta("1.2.840.1.1.2", 2)).ok());

  const DirEntry patient = MustLookup(*c, kPatientsIno, "Doe John (12)");
  EXPECT_EQ(patient.kind, NodeKind::kPatient);
  const DirEntry study = MustLookup(*c, patient.ino, "2024-01-31 CT Chest (A1)");
  EXPECT_EQ(study.mtime, Utc(2024, 1, 31, 12, 0, 0));
  EXPECT_EQ(patient.mtime, study.mtime);
  const DirEntry series = MustLookup(*c, study.ino, "3 CT Axial");
  EXPECT_EQ(series.ref, "1.2.840.1.1");
  const DirEntry f1 = MustLookup(*c, series.ino, "0001.dcm");
  EXPECT_EQ(f1.size, 1000u);
  EXPECT_EQ(f1.ref, ToHex(D("a")));
  EXPECT_EQ(f1.mtime, Utc(2024, 1, 31, 12, 13, 14));
  EXPECT_EQ(f1.ino, InodeFor(NodeKind::kInstance, View::kPatients, ToHex(D("a"))));
  EXPECT_EQ(MustLookup(*c, series.ino, "0002.dcm").mtime, study.mtime);  // falls back to study

  const DirEntry sstudy = MustLookup(*c, kStudiesIno, "1.2.840.1");
  EXPECT_NE(sstudy.ino, study.ino);  // one folder per view
  const DirEntry sseries = MustLookup(*c, sstudy.ino, "1.2.840.1.1");
  const DirEntry s1 = MustLookup(*c, sseries.ino, "1.2.840.1.1.1.dcm");
  EXPECT_EQ(s1.ino, f1.ino);  // one inode, two links
  EXPECT_EQ(ListAll(*c, sseries.ino).size(), 2u);
  EXPECT_EQ(c->Lookup(sseries.ino, "nope.dcm").status().code(), StatusCode::kNotFound);

  auto counts = c->GetCounts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->patients, 1u);
  EXPECT_EQ(counts->studies, 1u);
  EXPECT_EQ(counts->series, 1u);
  EXPECT_EQ(counts->instances, 2u);
  EXPECT_EQ(counts->bytes, 3000u);

  auto inst = c->GetInstance(D("a"));
  ASSERT_TRUE(inst.ok());
  EXPECT_EQ(inst->meta.sop_uid, "1.2.840.1.1.1");
  EXPECT_EQ(inst->meta.content_time, "121314.5");
  EXPECT_EQ(inst->size, 1000u);
  EXPECT_EQ(c->GetInstance(D("zzz")).status().code(), StatusCode::kNotFound);
  auto rec = c->GetSeries("1.2.840.1.1");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->instance_count, 2u);
  Digest x = D("a");
  for (size_t i = 0; i < x.size(); ++i) x[i] ^= D("b")[i];
  EXPECT_EQ(rec->generation, ToHex(x) + ":2");
  int n = 0;
  ASSERT_TRUE(c->ForEachInstanceInSeries("1.2.840.1.1", [&](const InstanceRecord&) {
                 ++n;
                 return true;
               }).ok());
  EXPECT_EQ(n, 2);
  EXPECT_TRUE(c->GetStudy("1.2.840.1").ok());
  EXPECT_EQ(c->GetPatient(patient.ref)->id, "12");
}

TEST(CatalogTest, ListIsAnUncappedPrefixScan) {
  TempDir tmp;
  auto c = OpenWriter(tmp.Sub("index"));
  constexpr int kN = 5000;
  for (int i = 1; i <= kN; ++i) {
    ASSERT_TRUE(c->AddInstance(D("x" + std::to_string(i)), 10, Meta("9." + std::to_string(i), i)).ok());
  }
  const DirEntry series = MustLookup(*c, kStudiesIno, "1.2.840.1");
  const InodeId series_ino = MustLookup(*c, series.ino, "1.2.840.1.1").ino;
  std::vector<DirEntry> all = ListAll(*c, series_ino);
  ASSERT_EQ(all.size(), static_cast<size_t>(kN));
  for (size_t i = 1; i < all.size(); ++i) ASSERT_LT(all[i - 1].name, all[i].name);
  // Paging with `after` resumes exactly after the given name.
  std::vector<std::string> paged;
  std::string after;
  while (true) {
    int page = 0;
    ASSERT_TRUE(c->List(series_ino, after, [&](const DirEntry& e) {
                   paged.push_back(e.name);
                   return ++page < 700;
                 }).ok());
    if (page < 700) break;
    after = paged.back();
  }
  ASSERT_EQ(paged.size(), static_cast<size_t>(kN));
  EXPECT_EQ(paged.front(), all.front().name);
  EXPECT_EQ(paged.back(), all.back().name);
  // Neighbouring folders do not leak into the scan.
  EXPECT_EQ(ListAll(*c, series.ino).size(), 1u);
}

TEST(CatalogTest, ClashNamesIndependentOfOrder) {
  // Two patients with the same name and ID from different issuers; two instances sharing a number.
  InstanceMeta a = Meta("1.1", 1), b = Meta("2.2", 1);
  b.issuer_of_patient_id = "OTHER";
  b.study_uid = "1.2.840.2";
  b.series_uid = "1.2.840.2.1";
  InstanceMeta c1 = Meta("3.3", 7), c2 = Meta("4.4", 7);
  TempDir tmp;
  auto x = OpenWriter(tmp.Sub("x"));
  auto y = OpenWriter(tmp.Sub("y"));
  ASSERT_TRUE(x->AddInstance(D("a"), 1, a).ok());
  ASSERT_TRUE(x->AddInstance(D("b"), 1, b).ok());
  ASSERT_TRUE(x->AddInstance(D("c1"), 1, c1).ok());
  ASSERT_TRUE(x->AddInstance(D("c2"), 1, c2).ok());
  ASSERT_TRUE(y->AddInstance(D("c2"), 1, c2).ok());
  ASSERT_TRUE(y->AddInstance(D("b"), 1, b).ok());
  ASSERT_TRUE(y->AddInstance(D("c1"), 1, c1).ok());
  ASSERT_TRUE(y->AddInstance(D("a"), 1, a).ok());
  EXPECT_EQ(Tree(*x), Tree(*y));

  std::vector<DirEntry> patients = ListAll(*x, kPatientsIno);
  ASSERT_EQ(patients.size(), 2u);
  for (const DirEntry& p : patients) {
    EXPECT_EQ(p.name, WithClashSuffix("Doe John (12)", p.ref));
    EXPECT_TRUE(p.name.starts_with("Doe John (12) ~"));
  }
  const auto tree = Tree(*x);
  int clashed_files = 0;
  for (const auto& [path, _] : tree) clashed_files += path.ends_with(".dcm") && path.find("/0007 ~") != std::string::npos;
  EXPECT_EQ(clashed_files, 2);
  EXPECT_EQ(tree.count("/patients/" + patients[0].name + "/2024-01-31 CT Chest (A1)/3 CT Axial/0001.dcm") +
                tree.count("/patients/" + patients[1].name + "/2024-01-31 CT Chest (A1)/3 CT Axial/0001.dcm"),
            2u);
}

TEST(CatalogTest, DuplicateSopUidDifferentBytesBothKept) {
  TempDir tmp;
  auto c = OpenWriter(tmp.Sub("index"));
  auto first = c->AddInstance(D("old"), 5, Meta("7.7", 1));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->outcome, AddOutcome::kNew);
  auto second = c->AddInstance(D("new"), 6, Meta("7.7", 1));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->outcome, AddOutcome::kNewConflicting);
  ASSERT_EQ(second->conflicts_with.size(), 1u);
  EXPECT_EQ(second->conflicts_with[0], D("old"));
  auto again = c->AddInstance(D("old"), 5, Meta("7.7", 1));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->outcome, AddOutcome::kAlreadyPresent);

  const InodeId study = MustLookup(*c, kStudiesIno, "1.2.840.1").ino;
  const InodeId series = MustLookup(*c, study, "1.2.840.1.1").ino;
  std::set<std::string> names;
  for (const DirEntry& e : ListAll(*c, series)) names.insert(e.name);
  EXPECT_EQ(names, (std::set<std::string>{WithClashSuffix("7.7.dcm", ToHex(D("old"))),
                                           WithClashSuffix("7.7.dcm", ToHex(D("new")))}));
  EXPECT_EQ(MustLookup(*c, series, WithClashSuffix("7.7.dcm", ToHex(D("old")))).size, 5u);
  EXPECT_TRUE(c->GetInstance(D("old")).ok());
  EXPECT_TRUE(c->GetInstance(D("new")).ok());
  EXPECT_EQ(c->GetCounts()->instances, 2u);
}

TEST(CatalogTest, FollowerSeesWritesAfterCatchUp) {
  TempDir tmp;
  auto w = OpenWriter(tmp.Sub("index"));
  ASSERT_TRUE(w->AddInstance(D("1"), 1, Meta("1.1", 1)).ok());
  ASSERT_TRUE(w->Flush().ok());
  auto r = OpenReader(tmp.Sub("index"));
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->GetInstance(D("1")).ok());
  ASSERT_TRUE(w->AddInstance(D("2"), 1, Meta("2.2", 2)).ok());
  ASSERT_TRUE(w->Flush().ok());
  ASSERT_TRUE(r->CatchUp().ok());
  EXPECT_TRUE(r->GetInstance(D("2")).ok());
  EXPECT_EQ(r->GetCounts()->instances, 2u);
  EXPECT_EQ(Tree(*r), Tree(*w));
  EXPECT_EQ(r->AddInstance(D("3"), 1, Meta("3.3", 3)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(CatalogTest, ReopenKeepsEverythingWithSameInodes) {
  TempDir tmp;
  std::map<std::string, std::string> before;
  {
    auto c = OpenWriter(tmp.Sub("index"));
    for (int i = 0; i < 20; ++i) {
      InstanceMeta m = Meta("5." + std::to_string(i), i % 7);
      if (i % 2) m.series_uid = "1.2.840.1.2", m.series_number = 4;
      ASSERT_TRUE(c->AddInstance(D("r" + std::to_string(i)), i, m).ok());
    }
    before = Tree(*c);
  }
  auto c = OpenWriter(tmp.Sub("index"));
  EXPECT_EQ(Tree(*c), before);
  EXPECT_EQ(c->GetCounts()->instances, 20u);
  EXPECT_GT(before.size(), 40u);
}

TEST(CatalogTest, OpenErrors) {
  TempDir tmp;
  CatalogOptions o;
  o.path = tmp.Sub("missing");
  EXPECT_EQ(Catalog::Open(o).status().code(), StatusCode::kNotFound);
  o.read_only_follower = true;
  EXPECT_EQ(Catalog::Open(o).status().code(), StatusCode::kNotFound);
  auto w = OpenWriter(tmp.Sub("index"));
  CatalogOptions second;
  second.path = tmp.Sub("index");
  second.create_if_missing = true;
  EXPECT_EQ(Catalog::Open(second).status().code(), StatusCode::kBusy);
  InstanceMeta no_uid = Meta("", 1);
  EXPECT_EQ(w->AddInstance(D("q"), 1, no_uid).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dcmfs
