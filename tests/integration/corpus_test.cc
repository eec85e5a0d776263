// Every DICOM file of ../shared/corpus (real data written by others) goes in
// and comes out of the mount bit-identical, each once; what is not DICOM is
// quarantined, not lost. Skipped (not passed) when the corpus is absent.
#include "codecs/dicom_parse.h"
#include <sstream>

#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

TEST(CorpusTest, EveryCorpusInstanceComesBackBitIdentical) {
  std::string corpus = CorpusDir();
  if (corpus.empty()) GTEST_FAIL() << "../shared/corpus not present";
  TempDir dir;
  CommandResult r = Dcmfs("ingest " + Q(dir.Sub("archive")) + " " + Q(corpus));
  ASSERT_LE(r.exit_code, 2) << r.output;  // 2: some files (readmes, licences) are not DICOM

  // What should be there: the distinct bytes of every file ParseDicom accepts.
  std::set<std::string> expected;
  std::set<std::string> refused;
  for (const std::string& p : FilesBelow(corpus)) {
    std::string bytes = ReadFileOrEmpty(p);
    auto meta = ParseDicom({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    if (meta.ok()) {
      expected.insert(ToHex(Sha256(bytes)));
    } else {
      refused.insert(ToHex(Sha256(bytes)));
      EXPECT_NE(r.output.find(std::filesystem::path(p).filename().string()), std::string::npos)
          << "refused file not named in the summary: " << p;
    }
  }
  ASSERT_GT(expected.size(), 500u);
  // Every refused file's bytes are kept in quarantine/ (zero-length ones have nothing to keep).
  std::set<std::string> kept;
  for (const std::string& p : FilesBelow(dir.Sub("archive/quarantine"))) kept.insert(HexOfFile(p));
  for (const std::string& hex : refused) {
    if (hex != ToHex(Sha256(std::string_view()))) {
      EXPECT_EQ(kept.count(hex), 1u) << hex;
    }
  }

  MountedArchive mount(dir.Sub("archive"), dir.Sub("mnt"));
  ASSERT_TRUE(mount.ok()) << mount.log();
  std::multiset<std::string> seen;
  // `find -name` reads folders only: stat'ing every entry would also produce
  // every derived file (pictures, meshes, tiles), which this test is not about.
  std::string listing = Shell("find " + Q(mount.path() + "/studies") + " -name '*.dcm'").output;
  std::istringstream paths(listing);
  for (std::string p; std::getline(paths, p);) seen.insert(HexOfFile(p));
  EXPECT_EQ(seen.size(), expected.size()) << "each instance once";
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), expected);
  std::string count = Shell("find " + Q(mount.path() + "/patients") + " -name '*.dcm' | wc -l").output;
  EXPECT_EQ(std::stoul(count), expected.size());
  for (const std::string& dir_path : SeriesFolders(mount.path())) {
    CommandResult sums = Shell("cd " + Q(dir_path) + " && sha256sum -c --quiet SHA256SUMS");
    EXPECT_EQ(sums.exit_code, 0) << dir_path << "\n" << sums.output;
  }
}

}  // namespace
}  // namespace dcmfs::testing
