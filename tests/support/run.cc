#include "tests/support/run.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace dcmfs::testing {

CommandResult Shell(const std::string& command) {
  CommandResult result;
  std::string full = "(" + command + ") 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 65536> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  int status = pclose(pipe);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string SourceDir() {
  const char* dir = std::getenv("DCMFS_SOURCE_DIR");
  return dir != nullptr ? dir : DCMFS_SOURCE_DIR_DEFAULT;
}

std::string DcmfsBinary() {
  const char* dir = std::getenv("DCMFS_BINARY_DIR");
  return std::string(dir != nullptr ? dir : DCMFS_BINARY_DIR_DEFAULT) + "/tools/dcmfs";
}

std::string CorpusDir() {
  std::filesystem::path p = std::filesystem::path(SourceDir()) / ".." / "shared" / "corpus";
  std::error_code ec;
  if (!std::filesystem::is_directory(p, ec)) return "";
  return std::filesystem::canonical(p, ec).string();
}

}  // namespace dcmfs::testing
