// Reads every #include in the tree and fails on an edge the design does not
// allow (../shared/DESIGN.md, "Parts and who may include whom"), on a
// third-party header outside its owner module, and on a third-party header
// in a public header.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "tests/support/run.h"

namespace {

namespace fs = std::filesystem;

// Which of our parts each part may include.
const std::map<std::string, std::set<std::string>> kAllowedParts = {
    {"base", {"base"}},
    {"codecs", {"codecs", "base"}},
    {"index", {"index", "codecs", "base"}},
    {"recon", {"recon", "codecs", "base"}},
    {"mesh", {"mesh", "recon", "base"}},
    {"fs", {"fs", "index", "recon", "mesh", "codecs", "base"}},
    {"tools", {"tools", "fs", "index", "codecs", "base"}},
};

// Third-party header prefixes and the one part that owns each.
const std::vector<std::pair<std::string, std::string>> kOwners = {
    {"dcmtk/", "codecs"},  {"openssl/", "codecs"}, {"zstd", "codecs"},
    {"openjpeg", "codecs"}, {"turbojpeg", "codecs"}, {"png.h", "codecs"},
    {"rocksdb/", "index"},  {"curl/", "index"},    {"fuse", "fs"},
};

struct Include {
  std::string file;
  std::string target;
};

std::vector<Include> IncludesOf(const fs::path& root, const std::string& part) {
  std::vector<Include> out;
  static const std::regex kInclude(R"(^\s*#\s*include\s*[<"]([^>"]+)[>"])");
  if (!fs::is_directory(root / part)) return out;
  for (const auto& entry : fs::recursive_directory_iterator(root / part)) {
    std::string ext = entry.path().extension().string();
    if (ext != ".h" && ext != ".cc") continue;
    std::ifstream in(entry.path());
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
      if (std::regex_search(line, m, kInclude)) {
        out.push_back({fs::relative(entry.path(), root).string(), m[1]});
      }
    }
  }
  return out;
}

TEST(LayeringTest, IncludesFollowTheDesign) {
  fs::path root(dcmfs::testing::SourceDir());
  size_t checked = 0;
  for (const auto& [part, allowed] : kAllowedParts) {
    for (const Include& inc : IncludesOf(root, part)) {
      ++checked;
      std::string first = inc.target.substr(0, inc.target.find('/'));
      if (kAllowedParts.count(first) && inc.target.find('/') != std::string::npos) {
        EXPECT_TRUE(allowed.count(first)) << inc.file << " includes " << inc.target;
        continue;
      }
      for (const auto& [prefix, owner] : kOwners) {
        if (inc.target.rfind(prefix, 0) != 0) continue;
        EXPECT_EQ(part, owner) << inc.file << " includes " << inc.target << ", owned by " << owner;
        // Public headers (not under internal/, not .cc) never expose third-party types.
        bool is_public_header = inc.file.ends_with(".h") &&
                                inc.file.find("/internal/") == std::string::npos;
        EXPECT_FALSE(is_public_header) << inc.file << " exposes " << inc.target;
      }
    }
  }
  EXPECT_GT(checked, 50u);
}

TEST(LayeringTest, OnlyFuseGlueIncludesLibfuse) {
  for (const Include& inc : IncludesOf(dcmfs::testing::SourceDir(), "fs")) {
    if (inc.target.rfind("fuse", 0) != 0) continue;
    std::string name = fs::path(inc.file).filename().string();
    EXPECT_EQ(name.rfind("fuse_", 0), 0u) << inc.file << " includes " << inc.target;
  }
}

}  // namespace
