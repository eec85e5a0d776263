// OpenArchiveObjectStore (index/archive_replica.h): the store ARCHIVE/store.conf
// names (index/store_config.h), the same one the archive's blobs live in.
#include "index/archive_replica.h"
#include "index/object_store_dir.h"
#include "index/s3/s3_object_store.h"
#include "index/store_config.h"

namespace dcmfs {

Result<std::shared_ptr<ObjectStore>> OpenArchiveObjectStore(const std::string& root) {
  ASSIGN_OR_RETURN(StoreConfig config, LoadStoreConfig(ArchiveLayout{root}));
  if (config.backend == StoreConfig::Backend::kLocal) return std::shared_ptr<ObjectStore>();
  std::unique_ptr<ObjectStore> store;
  if (config.backend == StoreConfig::Backend::kDirectory) {
    ASSIGN_OR_RETURN(store, OpenDirectoryObjectStore(config.directory));
  } else {
    ASSIGN_OR_RETURN(store, OpenS3ObjectStore(config.s3));
  }
  return std::shared_ptr<ObjectStore>(std::move(store));
}

}  // namespace dcmfs
