// OpenArchiveObjectStore (index/archive_replica.h): which store an archive
// is kept on, from ARCHIVE/store.conf; no store.conf: a local-only archive.
//
// `directory = PATH`: an ObjectStore in a folder (index/object_store_dir.h),
// for archives on a shared filesystem.
#include <sys/stat.h>

#include <fstream>

#include "index/archive_replica.h"
#include "index/object_store_dir.h"

namespace dcmfs {
namespace {

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// The value of `key` in an INI-style file ("" if absent).
std::string ConfValue(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (line.empty() || line[0] == '#' || line[0] == ';' || eq == std::string::npos) continue;
    if (Trim(line.substr(0, eq)) == key) return Trim(line.substr(eq + 1));
  }
  return "";
}

}  // namespace

Result<std::shared_ptr<ObjectStore>> OpenArchiveObjectStore(const std::string& root) {
  struct stat st;
  const std::string conf = root + "/store.conf";
  if (::stat(conf.c_str(), &st) != 0) return std::shared_ptr<ObjectStore>();
  const std::string directory = ConfValue(conf, "directory");
  if (!directory.empty()) {
    ASSIGN_OR_RETURN(std::unique_ptr<ObjectStore> store, OpenDirectoryObjectStore(directory));
    return std::shared_ptr<ObjectStore>(std::move(store));
  }
  return Status::Unsupported(conf + ": names no store this build knows (directory = PATH)");
}

}  // namespace dcmfs
