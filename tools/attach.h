// `dcmfs attach`: makes an archive folder that follows an archive kept on an
// object store, read-only (docs/semantics.md, "One archive, many mounts").
#pragma once

#include <string>

namespace dcmfs::tools {

struct AttachArgs {
  std::string archive;    // the new replica folder (must not exist, or be empty)
  std::string store_dir;  // an object store in a folder (shared filesystem)
};
int Attach(const AttachArgs& args);

}  // namespace dcmfs::tools
