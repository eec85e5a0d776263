// OpenArchiveBlobStore (index/blob_store.h): store.conf picks the backend.
#include "index/blob_store.h"
#include "index/object_store_dir.h"
#include "index/s3/s3_object_store.h"
#include "index/store_config.h"

namespace dcmfs {

Result<std::unique_ptr<BlobStore>> OpenArchiveBlobStore(const ArchiveLayout& layout,
                                                        const LocalBlobStoreOptions& options) {
  ASSIGN_OR_RETURN(StoreConfig config, LoadStoreConfig(layout));
  if (config.backend == StoreConfig::Backend::kLocal) {
    LocalBlobStoreOptions local = options;
    if (local.dir.empty()) local.dir = layout.blobs();
    return BlobStore::OpenLocal(local);
  }
  std::unique_ptr<ObjectStore> store;
  if (config.backend == StoreConfig::Backend::kDirectory) {
    ASSIGN_OR_RETURN(store, OpenDirectoryObjectStore(config.directory));
  } else {
    ASSIGN_OR_RETURN(store, OpenS3ObjectStore(config.s3));
  }
  ObjectBlobStoreOptions object;
  object.tmp_dir = layout.tmp();
  object.frame_cache_bytes = options.frame_cache_bytes;
  object.compression_level = options.compression_level;
  object.disk_cache_dir = options.object_disk_cache_dir;
  object.disk_cache_bytes = options.object_disk_cache_bytes;
  return BlobStore::OpenObject(std::shared_ptr<ObjectStore>(std::move(store)), object);
}

}  // namespace dcmfs
