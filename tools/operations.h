// Operator subcommands of issue 7 ("living with the archive"): backup and
// BagIt export. Each returns the process exit code and prints its own
// messages; the logic lives in index/ (backup) and tools/bagit_export.cc.
#pragma once

#include <string>
#include <vector>

namespace dcmfs::tools {

struct BackupArgs {
  std::string archive;
  std::string dest;
  bool copy = false;  // never hard-link
};
int RunBackup(const BackupArgs& args);

}  // namespace dcmfs::tools
