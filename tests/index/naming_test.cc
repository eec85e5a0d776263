#include "index/naming.h"

#include <gtest/gtest.h>

#include <string>

namespace dcmfs {
namespace {

// True if `s` is well-formed UTF-8 (checked independently of naming.cc with mbrtowc-free logic:
// every lead byte announces how many continuation bytes follow).
bool LooksLikeUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

TEST(SafeNameTest, SlashBecomesUnderscore) {
  EXPECT_EQ(SafeName("CT/Chest", "x"), "CT_Chest");
  EXPECT_EQ(SafeName("/", "x"), "_");
}

TEST(SafeNameTest, ControlCharactersDropped) {
  EXPECT_EQ(SafeName(std::string("a\0b\tc\n\x7f" "d", 8), "x"), "abcd");
  EXPECT_EQ(SafeName("\x01\x02", "fallback"), "fallback");
}

TEST(SafeNameTest, InvalidUtf8Replaced) {
  const std::string out = SafeName("ab\xff" "cd", "x");
  EXPECT_EQ(out, "ab\xEF\xBF\xBD" "cd");
  EXPECT_TRUE(LooksLikeUtf8(SafeName("\xc3\x28 \xe2\x82 \xf0\x9f\x98", "x")));
  // An overlong encoding of '/' must not sneak a slash through.
  EXPECT_EQ(SafeName("\xc0\xaf", "x").find('/'), std::string::npos);
}

TEST(SafeNameTest, NonAsciiKept) {
  EXPECT_EQ(SafeName("Müller^Jürgen 山田", "x"), "Müller^Jürgen 山田");
}

TEST(SafeNameTest, BlanksTrimmedAndDotNamesReplaced) {
  EXPECT_EQ(SafeName("  name  ", "x"), "name");
  EXPECT_EQ(SafeName(".", "fb"), "fb");
  EXPECT_EQ(SafeName(" .. ", "fb"), "fb");
  EXPECT_EQ(SafeName("   ", "fb"), "fb");
  EXPECT_EQ(SafeName("...", "fb"), "...");
}

TEST(SafeNameTest, LongNamesCutOnCharacterBoundary) {
  std::string raw;
  for (int i = 0; i < 150; ++i) raw += "é";  // 2 bytes each, 300 bytes
  const std::string out = SafeName("x" + raw, "f");  // odd offset: 200 falls inside a character
  EXPECT_LE(out.size(), kMaxNameBytes);
  EXPECT_GE(out.size(), kMaxNameBytes - 1);
  EXPECT_TRUE(LooksLikeUtf8(out));
}

TEST(FolderNameTest, Patient) {
  EXPECT_EQ(PatientFolderName("Doe^John^^^", "12"), "Doe John (12)");
  EXPECT_EQ(PatientFolderName("Doe^John", ""), "Doe John");
  EXPECT_EQ(PatientFolderName("", "12"), "Unknown (12)");
  EXPECT_EQ(PatientFolderName("", ""), "Unknown");
  EXPECT_EQ(PatientFolderName("=Yamada^Taro", "7"), "Yamada Taro (7)");
  EXPECT_EQ(PatientFolderName("A/B^C", "1/2"), "A_B C (1_2)");
  // A very long name is cut but the ID survives.
  const std::string long_name = PatientFolderName(std::string(400, 'N'), "ID42");
  EXPECT_LE(long_name.size(), kMaxNameBytes);
  EXPECT_TRUE(long_name.ends_with(" (ID42)"));
}

TEST(FolderNameTest, Study) {
  EXPECT_EQ(StudyFolderName("20240131", "CT Chest", "A1"), "2024-01-31 CT Chest (A1)");
  EXPECT_EQ(StudyFolderName("20240131", "", ""), "2024-01-31");
  EXPECT_EQ(StudyFolderName("", "Head", ""), "Head");
  EXPECT_EQ(StudyFolderName("2024", "Head", ""), "2024 Head");
  EXPECT_EQ(StudyFolderName("20241399", "", ""), "20241399");
  EXPECT_EQ(StudyFolderName("", "", ""), "Unknown study");
}

TEST(FolderNameTest, Series) {
  EXPECT_EQ(SeriesFolderName(3, "CT", "Axial 1/2"), "3 CT Axial 1_2");
  EXPECT_EQ(SeriesFolderName(std::nullopt, "MR", ""), "MR");
  EXPECT_EQ(SeriesFolderName(std::nullopt, "", ""), "Unknown series");
}

TEST(InstanceFileNameTest, NumberOrUid) {
  InstanceMeta m;
  m.sop_uid = "1.2.3.4";
  EXPECT_EQ(InstanceFileName(m), "1.2.3.4.dcm");
  m.instance_number = 1;
  EXPECT_EQ(InstanceFileName(m), "0001.dcm");
  m.instance_number = 12345;
  EXPECT_EQ(InstanceFileName(m), "12345.dcm");
  m.instance_number = -1;
  EXPECT_EQ(InstanceFileName(m), "-001.dcm");
}

TEST(ClashSuffixTest, SuffixFromIdentityBeforeExtension) {
  const std::string hex = ToHex(Sha256(std::string_view("1.2.3")));
  EXPECT_EQ(WithClashSuffix("Doe John (12)", "1.2.3"), "Doe John (12) ~" + hex.substr(0, 6));
  EXPECT_EQ(WithClashSuffix("0001.dcm", "1.2.3"), "0001 ~" + hex.substr(0, 6) + ".dcm");
}

TEST(ClashSuffixTest, IndependentOfOrderAndDistinct) {
  const std::string a1 = WithClashSuffix("0001.dcm", "aaaa");
  const std::string b1 = WithClashSuffix("0001.dcm", "bbbb");
  EXPECT_NE(a1, b1);
  EXPECT_EQ(a1, WithClashSuffix("0001.dcm", "aaaa"));  // a pure function of (name, identity)
}

}  // namespace
}  // namespace dcmfs
