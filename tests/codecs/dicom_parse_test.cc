#include "codecs/dicom_parse.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

namespace fs = std::filesystem;

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Result<InstanceMeta> ParseString(const std::string& s) { return ParseDicom(AsBytes(s)); }

// Inputs are written by pydicom (tests/codecs/data/make_parse_cases.py), an
// encoder independent of the DCMTK reader under test.
class DicomParseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const std::string script =
        testing::SourceDir() + "/tests/codecs/data/make_parse_cases.py";
    auto r = testing::Shell("/usr/bin/python3 " + testing::ShellQuote(script) + " " +
                          testing::ShellQuote(dir_->path()));
    // Not an ASSERT: gtest would then skip every test, and ctest counts
    // skipped as passed. Each test fails in SetUp() instead.
    if (r.exit_code != 0) *setup_error_ = r.output;
  }
  void SetUp() override { ASSERT_EQ(*setup_error_, "") << "suite set-up failed"; }
  static inline std::string* setup_error_ = new std::string();
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string Case(const std::string& name) {
    return testing::ReadFileOrEmpty(dir_->Sub(name));
  }
  static Result<InstanceMeta> ParseCase(const std::string& name) {
    const std::string bytes = Case(name);
    EXPECT_FALSE(bytes.empty()) << name;
    return ParseString(bytes);
  }

  static testing::TempDir* dir_;
};
testing::TempDir* DicomParseTest::dir_ = nullptr;

TEST_F(DicomParseTest, FillsEveryField) {
  auto r = ParseCase("basic.dcm");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const InstanceMeta& m = *r;
  EXPECT_EQ(m.patient_name, "Doe^John");
  EXPECT_EQ(m.patient_id, "PID7");  // padding trimmed
  EXPECT_EQ(m.issuer_of_patient_id, "HOSP");
  EXPECT_EQ(m.patient_birth_date, "19700101");
  EXPECT_EQ(m.patient_sex, "M");
  EXPECT_EQ(m.study_uid, "1.2.3.4.5.6.1");
  EXPECT_EQ(m.study_date, "20240102");
  EXPECT_EQ(m.study_time, "101112.5");
  EXPECT_EQ(m.study_description, "Head/Neck");
  EXPECT_EQ(m.accession_number, "ACC42");
  EXPECT_EQ(m.study_id, "S1");
  EXPECT_EQ(m.series_uid, "1.2.3.4.5.6.2");
  EXPECT_EQ(m.series_number, 12);
  EXPECT_EQ(m.modality, "CT");
  EXPECT_EQ(m.series_description, "Axial 1.0");
  EXPECT_EQ(m.series_date, "20240103");
  EXPECT_EQ(m.series_time, "101213");
  EXPECT_EQ(m.frame_of_reference_uid, "1.2.3.4.5.6.3");
  EXPECT_EQ(m.sop_uid, "1.2.3.4.5.6.7.1");
  EXPECT_EQ(m.sop_class_uid, "1.2.840.10008.5.1.4.1.1.2");
  EXPECT_EQ(m.transfer_syntax_uid, "1.2.840.10008.1.2.1");
  EXPECT_EQ(m.instance_number, -3);
  EXPECT_EQ(m.content_date, "20240105");
  EXPECT_EQ(m.content_time, "101415");
  EXPECT_EQ(m.acquisition_date, "20240104");
  EXPECT_EQ(m.acquisition_time, "101314");
  EXPECT_EQ(m.image_type, "ORIGINAL\\PRIMARY\\AXIAL");
  EXPECT_EQ(m.specific_character_set, "");
  EXPECT_EQ(m.burned_in_annotation, "NO");
  ASSERT_TRUE(m.image_position.has_value());
  EXPECT_EQ(*m.image_position, (std::array<double, 3>{-100.5, -120, 33.25}));
  ASSERT_TRUE(m.image_orientation.has_value());
  EXPECT_EQ(*m.image_orientation, (std::array<double, 6>{1, 0, 0, 0, 1, 0}));
  ASSERT_TRUE(m.pixel_spacing.has_value());
  EXPECT_EQ(*m.pixel_spacing, (std::array<double, 2>{0.5, 0.75}));
  EXPECT_EQ(m.slice_thickness, 1.25);
  EXPECT_EQ(m.spacing_between_slices, 1.5);
  EXPECT_EQ(m.rows, 16u);
  EXPECT_EQ(m.columns, 8u);
  EXPECT_EQ(m.number_of_frames, 1u);
  EXPECT_EQ(m.samples_per_pixel, 1);
  EXPECT_EQ(m.bits_allocated, 16);
  EXPECT_EQ(m.bits_stored, 12);
  EXPECT_EQ(m.high_bit, 11);
  EXPECT_EQ(m.pixel_representation, 1);
  EXPECT_EQ(m.planar_configuration, 0);
  EXPECT_EQ(m.photometric_interpretation, "MONOCHROME2");
  EXPECT_TRUE(m.has_pixel_data);
  EXPECT_EQ(m.rescale_slope, 1.0);
  EXPECT_EQ(m.rescale_intercept, -1024.0);
  EXPECT_EQ(m.window_center, "40\\400");
  EXPECT_EQ(m.window_width, "80\\2000");
}

TEST_F(DicomParseTest, BigEndianAndRawImplicitDatasets) {
  auto be = ParseCase("big_endian.dcm");
  ASSERT_TRUE(be.ok()) << be.status().ToString();
  EXPECT_EQ(be->transfer_syntax_uid, "1.2.840.10008.1.2.2");
  EXPECT_EQ(be->rows, 16u);
  EXPECT_EQ(be->instance_number, -3);
  EXPECT_EQ(be->patient_name, "Doe^John");

  auto raw = ParseCase("raw_implicit.dcm");
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  EXPECT_EQ(raw->sop_uid, "1.2.3.4.5.6.7.3");
  EXPECT_EQ(raw->transfer_syntax_uid, "1.2.840.10008.1.2");  // detected, no meta header
  EXPECT_EQ(raw->columns, 8u);
  EXPECT_TRUE(raw->has_pixel_data);
}

TEST_F(DicomParseTest, ConvertsLatin1ToUtf8) {
  auto r = ParseCase("latin1.dcm");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->specific_character_set, "ISO_IR 100");
  EXPECT_EQ(r->patient_name, "M\xC3\xBCller^J\xC3\xBCrgen");  // Müller^Jürgen
  EXPECT_EQ(r->study_description, "Sch\xC3\xA4" "del");
}

TEST_F(DicomParseTest, KeepsUtf8) {
  auto r = ParseCase("utf8.dcm");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->specific_character_set, "ISO_IR 192");
  EXPECT_EQ(r->patient_name, "山田^太郎=やまだ^たろう");
  EXPECT_EQ(r->series_description, "Ærøskøbing ✓");
}

TEST_F(DicomParseTest, InvalidUtf8BecomesReplacementCharacter) {
  auto r = ParseCase("bad_utf8.dcm");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->patient_name, "D\xEF\xBF\xBD" "e^John");
}

TEST_F(DicomParseTest, FramesAndOptionalFields) {
  auto multi = ParseCase("multiframe.dcm");
  ASSERT_TRUE(multi.ok()) << multi.status().ToString();
  EXPECT_EQ(multi->number_of_frames, 2u);

  auto none = ParseCase("no_pixels.dcm");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(none->has_pixel_data);
  EXPECT_EQ(none->number_of_frames, 0u);
  EXPECT_FALSE(none->image_position.has_value());
  EXPECT_FALSE(none->series_number.has_value());
  EXPECT_EQ(none->rescale_slope, 1.0);
  EXPECT_EQ(none->rescale_intercept, 0.0);

  auto large = ParseCase("large.dcm");
  ASSERT_TRUE(large.ok()) << large.status().ToString();
  EXPECT_EQ(large->rows, 512u);
  EXPECT_TRUE(large->has_pixel_data);
}

TEST_F(DicomParseTest, MissingUidsAreNamed) {
  auto no_sop = ParseCase("no_sop.dcm");
  ASSERT_FALSE(no_sop.ok());
  EXPECT_EQ(no_sop.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_sop.status().message().find("SOPInstanceUID"), std::string::npos);
  EXPECT_EQ(no_sop.status().message().find("StudyInstanceUID"), std::string::npos);

  auto two = ParseCase("no_study_series.dcm");
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(two.status().message().find("StudyInstanceUID"), std::string::npos);
  EXPECT_NE(two.status().message().find("SeriesInstanceUID"), std::string::npos);
}

TEST_F(DicomParseTest, RefusesDicomdir) {
  auto r = ParseCase("DICOMDIR");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "DICOMDIR media directory, not an instance");
}

TEST_F(DicomParseTest, EmptyAndGarbageAreDataLoss) {
  EXPECT_EQ(ParseString("").status().code(), StatusCode::kDataLoss);
  auto text = ParseString("hello, this is a text file and certainly not DICOM\n");
  EXPECT_EQ(text.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(text.status().message().find("not DICOM"), std::string::npos);
  EXPECT_EQ(ParseString("\x89PNG\r\n\x1a\n0000000000000000").status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(ParseString(std::string(128, '\0') + "DICM").status().code(),
            StatusCode::kDataLoss);
  std::mt19937 rng(1);
  for (int i = 0; i < 500; ++i) {
    std::string junk(rng() % 4000, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    if (i % 2 == 0 && junk.size() > 132) junk.replace(128, 4, "DICM");
    auto r = ParseString(junk);
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_TRUE(r.status().code() == StatusCode::kDataLoss ||
                r.status().code() == StatusCode::kInvalidArgument)
        << r.status().ToString();
  }
}

// Cutting a file anywhere never crashes. A cut inside a value is DataLoss;
// a cut that happens to fall between elements leaves a shorter but
// well-formed dataset, which is either complete enough (OK) or lacks UIDs.
TEST_F(DicomParseTest, TruncationAtEveryOffset) {
  for (const char* name : {"basic.dcm", "big_endian.dcm", "raw_implicit.dcm", "latin1.dcm"}) {
    const std::string full = Case(name);
    int data_loss = 0;
    for (size_t cut = 0; cut < full.size(); ++cut) {
      auto r = ParseString(full.substr(0, cut));
      if (r.ok()) {
        EXPECT_FALSE(r->sop_uid.empty());
        continue;
      }
      if (r.status().code() == StatusCode::kDataLoss) {
        ++data_loss;
        continue;
      }
      ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument) << name << " cut " << cut;
      EXPECT_EQ(r.status().message().rfind("missing ", 0), 0u) << r.status().message();
    }
    EXPECT_GT(data_loss, static_cast<int>(full.size()) / 2) << name;
  }
  // A cut inside Pixel Data (which the parser skips, not reads) is detected.
  const std::string large = Case("large.dcm");
  auto r = ParseString(large.substr(0, large.size() - 1000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(r.status().message().rfind("truncated", 0), 0u) << r.status().message();
}

TEST_F(DicomParseTest, RandomByteFlipsNeverCrash) {
  const std::string full = Case("basic.dcm");
  std::mt19937 rng(7);
  int ok = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bad = full;
    for (int k = 0; k < 1 + i % 4; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
    auto r = ParseString(bad);
    if (r.ok()) {
      ++ok;
      EXPECT_FALSE(r->sop_uid.empty());
    }
  }
  EXPECT_GT(ok, 0);
}

// dcmdump prints "(0008,0018) UI [uid]  # ..." for the element.
std::string DcmdumpSopUid(const std::string& path) {
  auto r = testing::Shell("dcmdump -q +P 0008,0018 " + testing::ShellQuote(path));
  const size_t open = r.output.find('['), close = r.output.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return "";
  return r.output.substr(open + 1, close - open - 1);
}

TEST_F(DicomParseTest, DeflatedDatasetParsesAndADeflateBombIsRefused) {
  auto blank = ParseCase("deflated_blank.dcm");
  ASSERT_TRUE(blank.ok()) << blank.status().ToString();
  EXPECT_EQ(blank->sop_uid, "1.2.3.4.5.6.7.10");
  EXPECT_EQ(blank->transfer_syntax_uid, "1.2.840.10008.1.2.1.99");
  EXPECT_EQ(blank->rows, 1024u);

  const std::string bomb = Case("deflate_bomb.dcm");
  ASSERT_LT(bomb.size(), 200000u) << "48 MB of zeros should deflate to well under 200 KB";
  auto r = ParseString(bomb);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("work budget"), std::string::npos) << r.status().message();
  // The same from disk (the large-file path).
  auto from_file = ParseDicomFile(dir_->Sub("deflate_bomb.dcm"));
  ASSERT_FALSE(from_file.ok());
  EXPECT_NE(from_file.status().message().find("work budget"), std::string::npos);
}

// Attributes stored with VR UN (PS3.5 6.2.2) are read with their dictionary
// VR: a UID must come out as the UID pydicom reads, not as hex bytes.
TEST(DicomParseCorpusTest, UnknownVrAttributesReadWithDictionaryVr) {
  const std::string corpus = testing::CorpusDir();
  if (corpus.empty()) GTEST_FAIL() << "no ../shared/corpus";
  const std::string path = corpus + "/pydicom/pydicom-data/explicit_VR-UN.dcm";
  if (!fs::exists(path)) GTEST_FAIL() << "no explicit_VR-UN.dcm";
  auto r = ParseDicomFile(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto py = testing::Shell("/usr/bin/python3 -c \"import pydicom,sys; d=pydicom.dcmread(sys.argv[1]); "
                           "print(d.SOPInstanceUID, d.SeriesInstanceUID, d.StudyInstanceUID)\" " +
                           testing::ShellQuote(path));
  ASSERT_EQ(py.exit_code, 0) << py.output;
  EXPECT_EQ(r->sop_uid + " " + r->series_uid + " " + r->study_uid + "\n", py.output);
}

TEST(DicomParseCorpusTest, ParsesSharedCorpus) {
  const std::string corpus = testing::CorpusDir();
  if (corpus.empty()) GTEST_FAIL() << "no ../shared/corpus";
  int ok = 0, refused = 0, compared = 0;
  for (const auto& entry : fs::recursive_directory_iterator(corpus)) {
    if (!entry.is_regular_file()) continue;
    const std::string path = entry.path().string();
    const std::string bytes = testing::ReadFileOrEmpty(path);
    auto r = ParseString(bytes);
    // Reading from disk (the large-file path) gives the same answer.
    auto from_file = ParseDicomFile(path);
    EXPECT_EQ(r.ok(), from_file.ok()) << path;
    if (r.ok() && from_file.ok()) {
      EXPECT_EQ(r->sop_uid, from_file->sop_uid) << path;
      EXPECT_EQ(r->patient_name, from_file->patient_name) << path;
      EXPECT_EQ(r->transfer_syntax_uid, from_file->transfer_syntax_uid) << path;
      EXPECT_EQ(r->rows, from_file->rows) << path;
      EXPECT_EQ(r->number_of_frames, from_file->number_of_frames) << path;
    } else if (!r.ok() && !from_file.ok()) {
      EXPECT_EQ(r.status().code(), from_file.status().code()) << path;
    }
    if (!r.ok()) {
      ++refused;
      continue;
    }
    ++ok;
    if (ok % 50 == 1 && compared < 12) {
      ++compared;
      EXPECT_EQ(r->sop_uid, DcmdumpSopUid(path)) << path;
    }
  }
  std::printf("corpus: %d parsed, %d refused\n", ok, refused);
  EXPECT_GT(ok, 100);
  EXPECT_EQ(compared, 12);
}

}  // namespace
}  // namespace dcmfs
