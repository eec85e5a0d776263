// ParseWsiHeader on the corpus whole-slide pyramid, checked against what
// dcmdump (DCMTK's tool) prints for the same files, from a prefix.
#include "codecs/wsi_header.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace dcmfs {
namespace {

// The value dcmdump prints for `tag` ("0048,0006"), e.g. "2220" or "TILED_FULL".
std::string Dumped(const std::string& file, const std::string& tag) {
  auto r = testing::Shell("dcmdump +P " + tag + " " + testing::ShellQuote(file) +
                          " | sed -E 's/^\\([0-9a-f,]+\\) [A-Z]{2} \\[?([^] ]*)\\]? .*/\\1/'");
  std::string v = r.output;
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  return v;
}

TEST(WsiHeaderTest, CorpusPyramidLevelsMatchDcmdump) {
  const std::string dir = testing::CorpusDir() + "/wsi/dicom-wsi-sample/cmu-1-small-region";
  if (testing::CorpusDir().empty() || !std::filesystem::exists(dir)) GTEST_FAIL() << "no corpus";
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string path = entry.path();
    const std::string bytes = testing::ReadFileOrEmpty(path);
    ASSERT_FALSE(bytes.empty());
    std::span<const uint8_t> all(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    // Start from 1 KB and grow as asked, as the mount does with blob reads.
    size_t have = std::min<size_t>(1024, all.size());
    Result<WsiHeaderOrMore> r = ParseWsiHeader(all.first(have), all.size());
    while (r.ok() && r->need_bytes > 0) {
      ASSERT_GT(r->need_bytes, have);
      have = r->need_bytes;
      r = ParseWsiHeader(all.first(have), all.size());
    }
    ASSERT_TRUE(r.ok()) << path << ": " << r.status().ToString();
    const WsiHeader& h = r->header;
    EXPECT_EQ(h.sop_class_uid, kVlWholeSlideMicroscopyStorage);
    EXPECT_EQ(std::to_string(h.total_columns), Dumped(path, "0048,0006")) << path;
    EXPECT_EQ(std::to_string(h.total_rows), Dumped(path, "0048,0007")) << path;
    EXPECT_EQ(std::to_string(h.tile_columns), Dumped(path, "0028,0011")) << path;
    EXPECT_EQ(std::to_string(h.frames), Dumped(path, "0028,0008")) << path;
    EXPECT_EQ(h.dimension_organization, Dumped(path, "0020,9311")) << path;
    EXPECT_EQ(h.flavor(), "VOLUME");
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

TEST(WsiHeaderTest, NotDicomIsAnError) {
  const std::string junk(4096, 'x');
  auto r = ParseWsiHeader({reinterpret_cast<const uint8_t*>(junk.data()), junk.size()}, junk.size());
  EXPECT_FALSE(r.ok() && r->need_bytes == 0 && r->header.tile_columns > 0);
}

}  // namespace
}  // namespace dcmfs
