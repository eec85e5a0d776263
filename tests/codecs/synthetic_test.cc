#include "codecs/synthetic.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>

#include "codecs/dicom_parse.h"
#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {


using testing::ShellQuote;

InstanceMeta ParseFileOrDie(const std::string& path) {
  const std::string bytes = testing::ReadFileOrEmpty(path);
  auto r = ParseDicom({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  EXPECT_TRUE(r.ok()) << path << ": " << r.status().ToString();
  return r.ok() ? *r : InstanceMeta{};
}

// The value dcmdump prints for `tag`, "[...]" stripped; UIDs as numbers (-Un).
std::string Dcmdump(const std::string& path, const std::string& tag) {
  auto r = testing::Shell("dcmdump -q -Un +P " + tag + " " + ShellQuote(path));
  const size_t open = r.output.find('['), close = r.output.find(']');
  if (r.exit_code != 0 || open == std::string::npos || close < open) return "";
  return r.output.substr(open + 1, close - open - 1);
}

class SyntheticTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    SyntheticOptions o;
    o.out_dir = dir_->Sub("set");
    auto r = WriteSyntheticSet(o);
    files_ = new std::vector<SyntheticFile>();
    metas_ = new std::vector<InstanceMeta>();
    // Not an ASSERT: gtest would then skip every test, and ctest counts
    // skipped as passed. Each test fails in SetUp() instead.
    if (!r.ok()) {
      *setup_error_ = r.status().ToString();
      return;
    }
    *files_ = std::move(r).value();
    for (const auto& f : *files_) metas_->push_back(ParseFileOrDie(f.path));
  }
  void SetUp() override { ASSERT_EQ(*setup_error_, "") << "suite set-up failed"; }
  static inline std::string* setup_error_ = new std::string();
  static void TearDownTestSuite() {
    delete metas_;
    delete files_;
    delete dir_;
  }
  // Series UID -> indexes into files_/metas_, in file order.
  static std::map<std::string, std::vector<size_t>> BySeries() {
    std::map<std::string, std::vector<size_t>> out;
    for (size_t i = 0; i < files_->size(); ++i) out[(*files_)[i].series_uid].push_back(i);
    return out;
  }

  static testing::TempDir* dir_;
  static std::vector<SyntheticFile>* files_;
  static std::vector<InstanceMeta>* metas_;
};
testing::TempDir* SyntheticTest::dir_ = nullptr;
std::vector<SyntheticFile>* SyntheticTest::files_ = nullptr;
std::vector<InstanceMeta>* SyntheticTest::metas_ = nullptr;

TEST_F(SyntheticTest, DcmdumpReadsEveryFileAndAgreesOnUids) {
  ASSERT_GT(files_->size(), 100u);
  std::set<std::string> sops;
  for (size_t i = 0; i < files_->size(); ++i) {
    const SyntheticFile& f = (*files_)[i];
    auto dump = testing::Shell("dcmdump -q " + ShellQuote(f.path));
    EXPECT_EQ(dump.exit_code, 0) << f.path << "\n" << dump.output;
    EXPECT_EQ(dump.output.find("E: "), std::string::npos) << dump.output;
    EXPECT_EQ(Dcmdump(f.path, "0008,0018"), f.sop_uid);
    EXPECT_EQ((*metas_)[i].sop_uid, f.sop_uid);
    EXPECT_EQ((*metas_)[i].series_uid, f.series_uid);
    EXPECT_EQ((*metas_)[i].study_uid, f.study_uid);
    EXPECT_TRUE(sops.insert(f.sop_uid).second) << "duplicate SOP UID " << f.sop_uid;
  }
}

TEST_F(SyntheticTest, TwoRunsWriteIdenticalBytes) {
  SyntheticOptions o;
  o.out_dir = dir_->Sub("again");
  auto again = WriteSyntheticSet(o);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), files_->size());
  for (size_t i = 0; i < files_->size(); ++i) {
    EXPECT_EQ(testing::ReadFileOrEmpty((*again)[i].path),
              testing::ReadFileOrEmpty((*files_)[i].path))
        << (*files_)[i].path;
  }
  // A different seed changes the noise, not the structure.
  o.out_dir = dir_->Sub("seed2");
  o.seed = 2;
  auto other = WriteSyntheticSet(o);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(testing::ReadFileOrEmpty((*other)[0].path),
            testing::ReadFileOrEmpty((*files_)[0].path));
  EXPECT_EQ((*other)[0].sop_uid, (*files_)[0].sop_uid);
}

TEST_F(SyntheticTest, TransferSyntaxesAsDcmdumpSeesThem) {
  std::map<std::string, int> syntaxes;  // dcmdump's view, one file per series
  for (const auto& [series, idx] : BySeries()) {
    const std::string path = (*files_)[idx.front()].path;
    const std::string ts = Dcmdump(path, "0002,0010");
    ++syntaxes[ts];
    EXPECT_EQ(ts, (*metas_)[idx.front()].transfer_syntax_uid) << path;
  }
  EXPECT_GE(syntaxes["1.2.840.10008.1.2.5"], 1);       // RLE Lossless
  EXPECT_GE(syntaxes["1.2.840.10008.1.2.2"], 1);       // Explicit VR Big Endian
  EXPECT_GE(syntaxes["1.2.840.10008.1.2.1.99"], 1);    // Deflated Explicit VR LE
  EXPECT_GE(syntaxes["1.2.840.10008.1.2.1"], 1);       // Explicit VR LE
}

// PS3.3 C.7.6.2.1.1: slices of a volume sit along row x column.
TEST_F(SyntheticTest, PositionsLieAlongTheSliceNormal) {
  int oblique = 0;
  for (const auto& [series, idx] : BySeries()) {
    if (idx.size() < 2) continue;
    const InstanceMeta& first = (*metas_)[idx.front()];
    ASSERT_TRUE(first.image_orientation && first.image_position && first.pixel_spacing);
    const auto& o = *first.image_orientation;
    const double n[3] = {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5],
                         o[0] * o[4] - o[1] * o[3]};
    EXPECT_NEAR(n[0] * n[0] + n[1] * n[1] + n[2] * n[2], 1.0, 1e-6);
    if (std::fabs(n[2]) > 1e-6 && std::fabs(n[2]) < 0.999) ++oblique;
    for (size_t k = 1; k < idx.size(); ++k) {
      const InstanceMeta& m = (*metas_)[idx[k]];
      ASSERT_TRUE(m.image_position && m.image_orientation);
      EXPECT_EQ(*m.image_orientation, o);
      double d[3], along = 0;
      for (int i = 0; i < 3; ++i) {
        d[i] = (*m.image_position)[i] - (*first.image_position)[i];
        along += d[i] * n[i];
      }
      // The offset is k slice spacings along the normal and nothing across it.
      ASSERT_TRUE(m.spacing_between_slices.has_value());
      EXPECT_NEAR(along, k * *m.spacing_between_slices, 1e-6);
      for (int i = 0; i < 3; ++i) EXPECT_NEAR(d[i], along * n[i], 1e-6);
    }
  }
  EXPECT_GE(oblique, 1);
}

TEST_F(SyntheticTest, OddNamesArePresent) {
  std::set<std::string> descriptions, names;
  std::map<std::string, std::set<std::string>> ids_by_name;
  std::map<std::string, std::set<std::string>> series_keys;  // study|num|mod|desc -> series
  bool duplicate_instance_numbers = false, empty_study_description = false, long_study = false;
  std::map<std::string, std::map<int64_t, int>> numbers;
  for (const InstanceMeta& m : *metas_) {
    descriptions.insert(m.series_description);
    names.insert(m.patient_name);
    ids_by_name[m.patient_name].insert(m.patient_id);
    series_keys[m.study_uid + "|" + std::to_string(m.series_number.value_or(-1)) + "|" +
                m.modality + "|" + m.series_description]
        .insert(m.series_uid);
    if (++numbers[m.series_uid][m.instance_number.value_or(-1)] > 1) {
      duplicate_instance_numbers = true;
    }
    if (m.study_description.empty()) empty_study_description = true;
    EXPECT_LE(m.study_description.size(), 64u);
    long_study |= m.study_description.size() == 64;
  }
  EXPECT_TRUE(descriptions.count("Recon/Soft Tissue"));
  EXPECT_TRUE(names.count("M\xC3\xBCller^J\xC3\xBCrgen"));  // ISO_IR 100 decoded
  EXPECT_TRUE(names.count("山田^太郎"));                       // ISO_IR 192
  EXPECT_TRUE(names.count(""));
  EXPECT_EQ(ids_by_name["Doe^Jane"], (std::set<std::string>{"A/1", "A_1"}));
  bool long_name = false, long_description = false;
  for (const auto& n : names) long_name |= n.size() == 64;
  for (const auto& d : descriptions) long_description |= d.size() == 64;
  EXPECT_TRUE(long_name);
  EXPECT_TRUE(long_description);
  EXPECT_TRUE(long_study);
  EXPECT_TRUE(empty_study_description);
  EXPECT_TRUE(duplicate_instance_numbers);
  bool clash = false;
  for (const auto& [key, series] : series_keys) clash |= series.size() > 1;
  EXPECT_TRUE(clash) << "two series share number, modality and description";
}

// pydicom, an independent decoder, reads the RLE series and sees the phantom:
// the sphere's bone at the volume centre, air in the corner.
TEST_F(SyntheticTest, PydicomDecodesRleWithPlausibleHounsfieldUnits) {
  for (const auto& [series, idx] : BySeries()) {
    const InstanceMeta& m = (*metas_)[idx.front()];
    if (m.transfer_syntax_uid != "1.2.840.10008.1.2.5" || idx.size() < 10) continue;
    const std::string mid = (*files_)[idx[idx.size() / 2]].path;
    const std::string py =
        "import pydicom,sys; d=pydicom.dcmread(sys.argv[1]); a=d.pixel_array*float(d.RescaleSlope)"
        "+float(d.RescaleIntercept); r,c=a.shape; print(int(a[r//2,c//2]), int(a[0,0]))";
    auto r = testing::Shell("/usr/bin/python3 -c " + ShellQuote(py) + " " + ShellQuote(mid));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    int centre = 0, corner = 0;
    ASSERT_EQ(std::sscanf(r.output.c_str(), "%d %d", &centre, &corner), 2) << r.output;
    EXPECT_NEAR(centre, 700, 12);
    EXPECT_NEAR(corner, -1000, 12);
    return;
  }
  FAIL() << "no RLE series with a full volume";
}

TEST(SyntheticOptionsTest, RejectsZeroSize) {
  testing::TempDir dir;
  SyntheticOptions o;
  o.out_dir = dir.path();
  o.rows = 0;
  EXPECT_EQ(WriteSyntheticSet(o).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dcmfs
