// /.dcmfs/MANIFEST-sha256.txt: the SHA-256 of every instance of the
// archive, one `sha256sum` line each, with paths relative to the mount's
// root under patients/ (each instance once), so that a preservation job
// checks a full copy with one standard command:
//
//   cd /backup/copy-of-the-mount && sha256sum -c /mnt/.dcmfs/MANIFEST-sha256.txt
//
// The sums are the blob digests the catalog holds; no instance is read.
// The text is streamed from a walk of the catalog into an unlinked temporary
// file (memory stays flat whatever the archive's size) and served from it;
// its exact size is therefore known once the walk is done, before any read.
// It is rebuilt when the catalog's counts have changed since the last walk
// (every new instance changes them); an open file keeps the text it opened.
// Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/status.h"
#include "fs/derived/provider.h"
#include "index/catalog.h"

namespace dcmfs {

// One `sha256sum` line for `path`: names holding a backslash or a line break
// are escaped the way GNU sha256sum writes and reads them.
std::string Sha256SumLine(std::string_view hex, std::string_view path);

class ArchiveManifest {
 public:
  explicit ArchiveManifest(const Catalog& catalog) : catalog_(catalog) {}

  // The manifest of the catalog as it is now.
  Result<std::shared_ptr<DerivedContent>> Current();

 private:
  Result<std::shared_ptr<DerivedContent>> Build() const;

  const Catalog& catalog_;
  std::mutex mu_;  // held while building: one walk at a time
  std::string built_for_;                       // GUARDED_BY(mu_): the counts it reflects
  std::shared_ptr<DerivedContent> current_;     // GUARDED_BY(mu_)
};

}  // namespace dcmfs
