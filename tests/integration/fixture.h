// Shared set-up for mounted tests: a synthetic DICOM set, an archive made
// from it with the real `dcmfs ingest`, and helpers to read the mount with
// real tools. Header-only so each *_test.cc stays one binary.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "codecs/sha256.h"
#include "codecs/synthetic.h"
#include "tests/support/mounted_archive.h"
#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace dcmfs::testing {

inline std::string Q(const std::string& s) { return ShellQuote(s); }

// Runs `dcmfs ARGS`, returning its result.
inline CommandResult Dcmfs(const std::string& args) { return Shell(Q(DcmfsBinary()) + " " + args); }

inline std::vector<SyntheticFile> MakeSynthetic(const std::string& dir, SyntheticOptions options = {}) {
  options.out_dir = dir;
  auto files = WriteSyntheticSet(options);
  EXPECT_TRUE(files.ok()) << files.status().ToString();
  return files.ok() ? *files : std::vector<SyntheticFile>{};
}

// Every regular file below `root` (recursively), as paths.
inline std::vector<std::string> FilesBelow(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec)) out.push_back(it->path().string());
  }
  return out;
}

inline std::string HexOfFile(const std::string& path) {
  std::string bytes = ReadFileOrEmpty(path);
  return ToHex(Sha256(bytes));
}

// The instance path of a synthetic file in the /studies view.
inline std::string StudiesPath(const std::string& mnt, const SyntheticFile& f) {
  return mnt + "/studies/" + f.study_uid + "/" + f.series_uid + "/" + f.sop_uid + ".dcm";
}

// Where the blob of the file with SHA-256 `hex` lives (docs/semantics.md).
inline std::string BlobPath(const std::string& archive, const std::string& hex) {
  return archive + "/blobs/" + hex.substr(0, 2) + "/" + hex + ".zst";
}

// The value of `label` in a BagIt bag-info.txt ("" if absent).
inline std::string BagInfoField(const std::string& bag_info, const std::string& label) {
  size_t at = bag_info.find(label + ": ");
  if (at == std::string::npos) return "";
  at += label.size() + 2;
  return bag_info.substr(at, bag_info.find('\n', at) - at);
}

// `find` listing with inode, size, mtime and path: what must be stable.
inline std::string StableListing(const std::string& mnt) {
  return Shell("cd " + Q(mnt) + " && find . -printf '%i %s %T@ %y %p\\n' | LC_ALL=C sort").output;
}

// Series folders (depth 3 below patients/, depth 2 below studies/).
inline std::vector<std::string> SeriesFolders(const std::string& mnt) {
  std::vector<std::string> out;
  for (const char* view : {"patients", "studies"}) {
    int depth = std::string(view) == "patients" ? 3 : 2;
    std::string cmd = "find " + Q(mnt + "/" + view) + " -mindepth " + std::to_string(depth) +
                      " -maxdepth " + std::to_string(depth) + " -type d";
    std::string listing = Shell(cmd).output;
    size_t start = 0;
    while (start < listing.size()) {
      size_t end = listing.find('\n', start);
      if (end == std::string::npos) end = listing.size();
      if (end > start) out.push_back(listing.substr(start, end - start));
      start = end + 1;
    }
  }
  return out;
}

}  // namespace dcmfs::testing
