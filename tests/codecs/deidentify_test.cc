#include "codecs/deidentify.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "codecs/dicom_parse.h"
#include "codecs/internal/safe_private_table.h"
#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

namespace fs = std::filesystem;

constexpr char kSecret[] = "test-archive-secret";
constexpr char kPatientKey[] = "patient-key-1";

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// From the source tree, not __FILE__ (relative when ccache rewrites paths).
std::string DataDir() { return testing::SourceDir() + "/tests/codecs/data"; }

// Inputs are written by pydicom (tests/codecs/data/make_deid_cases.py) and
// outputs checked by pydicom (check_deid.py): both independent of DCMTK.
class DeidentifyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    auto r = testing::Shell("/usr/bin/python3 " +
                            testing::ShellQuote(DataDir() + "/make_deid_cases.py") + " " +
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
  static std::string In(const std::string& name) {
    return testing::ReadFileOrEmpty(dir_->Sub(name));
  }
  // De-identifies case `name` and writes the result beside it as `out`.
  static std::string Deid(const std::string& name, const DeidOptions& options = {},
                          const std::string& out = "") {
    const std::string input = In(name);
    EXPECT_FALSE(input.empty()) << name;
    auto r = DeidentifyDicom(AsBytes(input), options, DeidKeys(kSecret), kPatientKey);
    EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    if (!r.ok()) return {};
    testing::WriteFileOrDie(dir_->Sub(out.empty() ? "out_" + name : out), *r);
    return *r;
  }
  static std::vector<std::string> Phi() {
    std::vector<std::string> out;
    std::istringstream in(In("phi.txt"));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) out.push_back(line);
    }
    return out;
  }
  // The value of `tag` ("gggg,eeee") as dcmdump prints it, "" if absent.
  static std::string Dump(const std::string& file, const std::string& tag) {
    auto r = testing::Shell("dcmdump -q +P " + tag + " " + testing::ShellQuote(dir_->Sub(file)));
    return r.output;
  }

  static testing::TempDir* dir_;
};
testing::TempDir* DeidentifyTest::dir_ = nullptr;

TEST_F(DeidentifyTest, MeetsTheTableAttributeByAttribute) {
  for (const char* name : {"a.dcm", "b.dcm", "c.dcm"}) Deid(name);
  std::string cmd = "/usr/bin/python3 " + testing::ShellQuote(DataDir() + "/check_deid.py") + " " +
                    testing::ShellQuote(testing::SourceDir() + "/codecs/data/annexE.json") +
                    " " + kSecret + " " + kPatientKey;
  for (const char* name : {"a.dcm", "b.dcm", "c.dcm"}) {
    cmd += " " + testing::ShellQuote(dir_->Sub(name)) + " " +
           testing::ShellQuote(dir_->Sub(std::string("out_") + name));
  }
  auto r = testing::Shell(cmd);
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(DeidentifyTest, NoOriginalIdentifierInTheBytes) {
  const std::vector<std::string> phi = Phi();
  ASSERT_GT(phi.size(), 30u);
  for (const char* name : {"a.dcm", "b.dcm", "c.dcm"}) {
    const std::string out = Deid(name);
    ASSERT_FALSE(out.empty());
    for (const std::string& s : phi) {
      EXPECT_EQ(out.find(s), std::string::npos) << name << " still holds \"" << s << "\"";
    }
  }
}

TEST_F(DeidentifyTest, DcmdumpReadsTheResult) {
  for (const char* name : {"a.dcm", "c.dcm"}) {
    Deid(name);
    auto r = testing::Shell("dcmdump -q " + testing::ShellQuote(dir_->Sub(std::string("out_") + name)));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output.find("E:"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("(0012,0062) CS [YES]"), std::string::npos) << r.output;
  }
}

TEST_F(DeidentifyTest, Deterministic) {
  const std::string first = Deid("b.dcm");
  const std::string second = Deid("b.dcm");
  EXPECT_EQ(first, second);
  DeidKeys other("another-secret");
  auto r = DeidentifyDicom(AsBytes(In("b.dcm")), {}, other, kPatientKey);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(*r, first);
}

TEST_F(DeidentifyTest, DateIntervalsArePreserved) {
  Deid("a.dcm");
  Deid("b.dcm");
  // a was acquired 2024-02-01, b 2024-02-03: two days apart after the shift.
  const std::string a = Dump("out_a.dcm", "0008,0022");
  const std::string b = Dump("out_b.dcm", "0008,0022");
  const int shift = DeidKeys(kSecret).DateShiftDays(kPatientKey);
  const auto date_of = [](const std::string& dump) {
    const size_t open = dump.find('[');
    return open == std::string::npos ? std::string() : dump.substr(open + 1, 8);
  };
  const std::chrono::sys_days base{std::chrono::year(2024) / 2 / 1};
  const auto fmt = [](std::chrono::sys_days d) {
    const std::chrono::year_month_day ymd(d);
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%04d%02u%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    return std::string(buf);
  };
  EXPECT_EQ(date_of(a), fmt(base + std::chrono::days(shift)));
  EXPECT_EQ(date_of(b), fmt(base + std::chrono::days(shift + 2)));
  EXPECT_NE(Dump("out_a.dcm", "0028,0303").find("MODIFIED"), std::string::npos);
}

TEST_F(DeidentifyTest, OptionsChangeTheResult) {
  DeidOptions chars;
  chars.retain_patient_characteristics = true;
  Deid("a.dcm", chars, "chars.dcm");
  Deid("a.dcm", {}, "basic.dcm");
  EXPECT_NE(Dump("chars.dcm", "0010,1010").find("062Y"), std::string::npos);  // PatientAge
  EXPECT_NE(Dump("chars.dcm", "0010,0040").find("[F]"), std::string::npos);   // PatientSex
  EXPECT_EQ(Dump("basic.dcm", "0010,1010").find("062Y"), std::string::npos);
  EXPECT_EQ(Dump("basic.dcm", "0010,0040").find("[F]"), std::string::npos);

  DeidOptions device;
  device.retain_device_identity = true;
  Deid("a.dcm", device, "device.dcm");
  EXPECT_NE(Dump("device.dcm", "0018,1000").find("SN-8842291"), std::string::npos);

  DeidOptions clean;
  clean.clean_descriptors = true;
  const std::string cleaned = Deid("a.dcm", clean, "clean.dcm");
  const std::string comments = Dump("clean.dcm", "0020,4000");  // ImageComments
  EXPECT_NE(comments.find("fell at home"), std::string::npos) << comments;
  EXPECT_EQ(cleaned.find("Margaret"), std::string::npos);
  EXPECT_EQ(cleaned.find("Smithson"), std::string::npos);

  DeidOptions no_dates;
  no_dates.retain_modified_dates = false;
  const std::string undated = Deid("a.dcm", no_dates, "undated.dcm");
  EXPECT_EQ(Dump("undated.dcm", "0028,0303").find("MODIFIED"), std::string::npos);
  EXPECT_EQ(undated.find("093015"), std::string::npos);  // StudyTime emptied too
}

TEST_F(DeidentifyTest, MethodDescriptionNamesTheOptions) {
  DeidOptions o;
  EXPECT_EQ(o.MethodDescription(),
            "Basic Application Confidentiality Profile\\"
            "Retain Longitudinal Temporal Information Modified Dates Option");
  o.retain_modified_dates = false;
  EXPECT_EQ(o.MethodDescription(), "Basic Application Confidentiality Profile");
}

// PS3.15 E.3.10: with the option, the private attributes of Table E.3.10-1
// stay with their creators; the rest go, including an attribute in a safe
// creator's block that the table does not list and one whose element byte
// is safe under another creator. Without it, no private attribute stays.
TEST_F(DeidentifyTest, RetainSafePrivateKeepsOnlyTheTablesAttributes) {
  const std::string basic = Deid("p.dcm", {}, "p_basic.dcm");
  DeidOptions safe;
  safe.retain_safe_private = true;
  const std::string kept = Deid("p.dcm", safe, "p_safe.dcm");
  ASSERT_FALSE(basic.empty());
  ASSERT_FALSE(kept.empty());
  auto dump = [](const std::string& file) {
    return testing::Shell("dcmdump -q " + testing::ShellQuote(dir_->Sub(file))).output;
  };
  const std::string with = dump("p_safe.dcm");
  const std::string without = dump("p_basic.dcm");
  for (const char* tag : {"(0019,0010)", "(0019,100c)", "(0019,100e)", "(0043,0010)",
                          "(0043,1027)"}) {
    EXPECT_NE(with.find(tag), std::string::npos) << tag << "\n" << with;
  }
  EXPECT_NE(with.find("[SIEMENS MR HEADER]"), std::string::npos) << with;
  EXPECT_NE(with.find("[1000]"), std::string::npos) << with;
  EXPECT_NE(with.find("[1.375:1]"), std::string::npos) << with;
  for (const char* tag : {"(0019,1008)", "(0019,0011)", "(0019,110c)"}) {
    EXPECT_EQ(with.find(tag), std::string::npos) << tag << "\n" << with;
  }
  EXPECT_EQ(without.find("(0019,"), std::string::npos) << without;
  EXPECT_EQ(without.find("(0043,"), std::string::npos) << without;
  for (const std::string& phi : Phi()) {
    EXPECT_EQ(kept.find(phi), std::string::npos) << phi;
    EXPECT_EQ(basic.find(phi), std::string::npos) << phi;
  }
  // DeidentificationMethodCodeSequence (0012,0064) names the option only when on.
  EXPECT_NE(Dump("p_safe.dcm", "0012,0064/0008,0100").find("113111"), std::string::npos);
  EXPECT_EQ(Dump("p_basic.dcm", "0012,0064/0008,0100").find("113111"), std::string::npos);
  EXPECT_NE(kept.find("Retain Safe Private Option"), std::string::npos);
  EXPECT_EQ(basic.find("Retain Safe Private Option"), std::string::npos);
}

TEST(SafePrivateTableTest, MatchesByCreatorGroupAndElementByte) {
  EXPECT_GE(codecs_internal::SafePrivateAttributes().size(), 130u);
  EXPECT_TRUE(codecs_internal::IsSafePrivate("SIEMENS MR HEADER", 0x0019, 0x0C));
  EXPECT_TRUE(codecs_internal::IsSafePrivate("SIEMENS MR HEADER ", 0x0019, 0x0C));  // LO padding
  EXPECT_TRUE(codecs_internal::IsSafePrivate("GEMS_ACQU_01", 0x0019, 0x9E));
  EXPECT_FALSE(codecs_internal::IsSafePrivate("SIEMENS MR HEADER", 0x0019, 0x08));
  EXPECT_FALSE(codecs_internal::IsSafePrivate("SIEMENS MR HEADER", 0x0021, 0x0C));
  EXPECT_FALSE(codecs_internal::IsSafePrivate("ACME PHI", 0x0019, 0x0C));
  for (const auto& a : codecs_internal::SafePrivateAttributes()) {
    EXPECT_EQ(a.group % 2, 1) << a.creator;
    EXPECT_FALSE(a.creator.empty());
  }
}

TEST(DeidKeysTest, Formats) {
  const DeidKeys keys(kSecret);
  const std::string uid = keys.MapUid("1.2.3.4");
  ASSERT_EQ(uid.rfind("2.25.", 0), 0u);
  EXPECT_LE(uid.size(), 64u);  // PS3.5 9.1
  EXPECT_NE(uid[5], '0');
  EXPECT_EQ(uid.find_first_not_of("0123456789.", 0), std::string::npos);
  EXPECT_EQ(uid, keys.MapUid("1.2.3.4"));
  EXPECT_NE(uid, keys.MapUid("1.2.3.5"));
  EXPECT_NE(uid, DeidKeys("x").MapUid("1.2.3.4"));

  const std::string p = keys.PatientPseudonym("k");
  EXPECT_EQ(p.size(), 14u);
  EXPECT_EQ(p.rfind("ANON", 0), 0u);
  EXPECT_EQ(p.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), std::string::npos);
  EXPECT_NE(p, keys.PatientPseudonym("k2"));

  std::set<int> shifts;
  for (int i = 0; i < 200; ++i) {
    const int d = keys.DateShiftDays("patient" + std::to_string(i));
    EXPECT_GE(d, -3650);
    EXPECT_LE(d, -365);
    shifts.insert(d);
  }
  EXPECT_GT(shifts.size(), 150u);
}

TEST(DeidentifyBadInputTest, DataLossNeverACrash) {
  const DeidKeys keys(kSecret);
  for (const std::string& bad :
       {std::string(), std::string("hello, not DICOM"), std::string(128, '\0') + "DICM",
        std::string(128, '\0') + "DICM" + std::string("\x02\x00\x10\x00UI\x40\x00", 8)}) {
    auto r = DeidentifyDicom(AsBytes(bad), {}, keys, "k");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
  }
}

TEST_F(DeidentifyTest, TruncatedInputIsRefused) {
  const std::string a = In("a.dcm");
  for (size_t cut : {size_t{140}, a.size() / 2}) {
    auto r = DeidentifyDicom(AsBytes(a.substr(0, cut)), {}, DeidKeys(kSecret), kPatientKey);
    EXPECT_FALSE(r.ok()) << cut;
  }
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// InstitutionName and ReferringPhysicianName of every corpus file, read by
// pydicom (InstanceMeta does not carry them): path -> values.
std::map<std::string, std::vector<std::string>> CorpusNames(const std::string& corpus) {
  auto r = testing::Shell("/usr/bin/python3 " +
                          testing::ShellQuote(DataDir() + "/corpus_names.py") + " " +
                          testing::ShellQuote(corpus) + " 2>/dev/null");
  std::map<std::string, std::vector<std::string>> out;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields;
    std::istringstream row(line);
    for (std::string f; std::getline(row, f, '\t');) fields.push_back(f);
    if (fields.size() > 1) {
      out[fields[0]] = std::vector<std::string>(fields.begin() + 1, fields.end());
    }
  }
  return out;
}

// The identifying values of one corpus file worth searching for: at least 3
// characters and not something our own output says (dummies, markers).
std::vector<std::string> Identifiers(const InstanceMeta& m, std::vector<std::string> extra) {
  for (const std::string* s : {&m.patient_name, &m.patient_id, &m.accession_number, &m.study_uid,
                               &m.series_uid, &m.sop_uid}) {
    extra.push_back(*s);
  }
  const std::string ours = DeidOptions().MethodDescription() + " ANONYMOUS MODIFIED YES";
  std::vector<std::string> out;
  for (std::string& s : extra) {
    if (s.size() >= 3 && ours.find(s) == std::string::npos) out.push_back(std::move(s));
  }
  return out;
}

// Every parseable file of the shared corpus de-identifies into a file that
// parses, describes the same pixels and no longer names its patient. A value
// shorter than 8 characters may recur by chance in the (unchanged) pixel
// data, so for those the output must hold it fewer times than the input
// did; otherwise never.
TEST(DeidentifyCorpusTest, EveryCorpusFile) {
  const std::string corpus = testing::CorpusDir();
  if (corpus.empty()) GTEST_FAIL() << "no shared corpus";
  const DeidKeys keys(kSecret);
  const DeidOptions options;
  const auto names = CorpusNames(corpus);
  int done = 0;
  for (const auto& entry : fs::recursive_directory_iterator(corpus)) {
    if (!entry.is_regular_file() || entry.file_size() > (64u << 20)) continue;
    const std::string where = entry.path().string();
    const std::string bytes = testing::ReadFileOrEmpty(where);
    auto meta = ParseDicom(AsBytes(bytes));
    if (!meta.ok()) continue;
    auto out = DeidentifyDicom(AsBytes(bytes), options, keys, "corpus");
    if (out.status().code() == StatusCode::kUnsupported) continue;  // TS unknown to DCMTK
    ASSERT_TRUE(out.ok()) << where << ": " << out.status().ToString();
    auto after = ParseDicom(AsBytes(*out));
    ASSERT_TRUE(after.ok()) << where << ": " << after.status().ToString();
    EXPECT_EQ(after->rows, meta->rows) << where;
    EXPECT_EQ(after->columns, meta->columns) << where;
    EXPECT_EQ(after->number_of_frames, meta->number_of_frames) << where;
    EXPECT_EQ(after->transfer_syntax_uid, meta->transfer_syntax_uid) << where;
    // (ParseDicom reads a UID stored with VR UN as hex; we remap its text.)
    if (meta->sop_uid.find_first_not_of("0123456789.") == std::string::npos) {
      EXPECT_EQ(after->sop_uid, keys.MapUid(meta->sop_uid)) << where;
    }
    const auto it = names.find(where);
    for (const std::string& s :
         Identifiers(*meta, it == names.end() ? std::vector<std::string>() : it->second)) {
      const size_t before = Count(bytes, s);
      const size_t now = Count(*out, s);
      EXPECT_TRUE(now == 0 || (before > 1 && s.size() < 8 && now < before))
          << where << " still holds \"" << s << "\" " << now << " times (input " << before << ")";
    }
    ++done;
  }
  EXPECT_GT(done, 0);
}

// Folder names of the anonymized view under Clean Descriptors: the
// patient's and the study's identifiers never survive in a description.
TEST(CleanDescriptorTextTest, RemovesNamesWordByWordAndWholeValues) {
  EXPECT_EQ(CleanDescriptorText("CT head for DOE, johnathan (MRN 5550123) acc A77", {"Doe^Johnathan"},
                                {"5550123", "A77"}),
            "CT head for ***, *** (MRN ***) acc ***");
  EXPECT_EQ(CleanDescriptorText("T1 axial", {"Doe^Johnathan"}, {"5550123"}), "T1 axial");
}

}  // namespace
}  // namespace dcmfs
