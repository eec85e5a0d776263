// Running real tools from tests (cp, rsync, tar, sha256sum, dcmfs itself).
#pragma once

#include <string>

namespace dcmfs::testing {

struct CommandResult {
  int exit_code = -1;  // -1 if it did not exit normally
  std::string output;  // stdout and stderr, interleaved
};

// Runs `command` with /bin/sh -c, capturing stdout+stderr.
CommandResult Shell(const std::string& command);

// Quotes `s` for /bin/sh.
std::string ShellQuote(const std::string& s);

// The source tree and the built dcmfs binary ($DCMFS_SOURCE_DIR and
// $DCMFS_BINARY_DIR override the paths compiled in).
std::string SourceDir();
std::string DcmfsBinary();

// ../shared/corpus beside the checkout, or "" when it is not there. Tests
// that need it fail without it (CI always has it): a skip would pass in ctest.
std::string CorpusDir();

}  // namespace dcmfs::testing
