#include "tools/operations.h"

#include <chrono>
#include <iostream>

#include "index/backup.h"
#include "tools/commands.h"

namespace dcmfs::tools {

int RunBackup(const BackupArgs& args) {
  BackupOptions options;
  options.hard_links = !args.copy;
  const auto start = std::chrono::steady_clock::now();
  Result<BackupReport> r = Backup(args.archive, args.dest, options);
  if (!r.ok()) {
    std::cerr << "dcmfs backup: " << r.status().ToString() << "\n";
    return kExitFailure;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "instances:    " << r->instances << "\nblobs:        " << r->blobs
            << "\nhard-linked:  " << r->files_linked << "\ncopied:       " << r->files_copied
            << " (" << r->bytes_copied / 1e6 << " MB)\nseconds:      " << secs
            << "\nbackup in " << args.dest << " (check it with: dcmfs verify " << args.dest
            << ")\n";
  return kExitOk;
}

}  // namespace dcmfs::tools
