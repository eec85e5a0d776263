// An ObjectStore kept in a local folder: key "a/b/c" is the file ROOT/a/b/c.
// For archives on a shared filesystem (NFS, CephFS, Lustre) and for unit
// tests of the code written against ObjectStore (index/object_store.h).
//
// Writes go to ROOT/.tmp/<random>, are fsynced and renamed over the final
// name, and the folder is fsynced, so a reader sees either the old object or
// the whole new one, and an object reported durable survives a power cut.
// Keys must be relative, without empty, "." or ".." components, and may not
// start with ".tmp"; InvalidArgument otherwise. Listing walks only the folder
// the prefix names, so a listing of "index/log/" does not read "blobs/".
// Thread-safe (the filesystem serialises; no state in memory).
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "index/object_store.h"

namespace dcmfs {

// Creates `root` if missing. IoError if it cannot be created or is not a folder.
Result<std::unique_ptr<ObjectStore>> OpenDirectoryObjectStore(const std::string& root);

}  // namespace dcmfs
