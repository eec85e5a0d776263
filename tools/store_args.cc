#include "tools/store_args.h"

#include <filesystem>

#include "index/archive_layout.h"
#include "index/s3/s3_object_store.h"
#include "index/store_config.h"

namespace dcmfs::tools {

Status ConfigureArchiveStore(const std::string& archive, const S3Args& args, bool create_bucket) {
  if (!args.given()) return Status::Ok();
  const ArchiveLayout layout{archive};
  std::error_code ec;
  if (std::filesystem::exists(StoreConfigPath(layout), ec)) {
    ASSIGN_OR_RETURN(StoreConfig existing, LoadStoreConfig(layout));
    const bool same = existing.backend == StoreConfig::Backend::kS3 &&
                      (args.endpoint.empty() || args.endpoint == existing.s3.endpoint) &&
                      (args.bucket.empty() || args.bucket == existing.s3.bucket);
    if (!same) {
      return Status::InvalidArgument(StoreConfigPath(layout) +
                                     " already names another blob store than the --s3-* flags");
    }
    return Status::Ok();
  }
  if (args.endpoint.empty() || args.bucket.empty()) {
    return Status::InvalidArgument("--s3-endpoint and --s3-bucket go together");
  }
  StoreConfig config;
  config.backend = StoreConfig::Backend::kS3;
  config.s3.endpoint = args.endpoint;
  config.s3.bucket = args.bucket;
  if (!args.region.empty()) config.s3.region = args.region;
  config.s3.prefix = args.prefix;
  if (!config.s3.prefix.empty() && config.s3.prefix.back() != '/') config.s3.prefix += '/';
  if (!args.credentials.empty()) {
    config.s3.credentials_file = std::filesystem::absolute(args.credentials, ec).string();
  }
  RETURN_IF_ERROR(FillS3Credentials(config.s3));
  if (create_bucket) RETURN_IF_ERROR(CreateS3BucketIfMissing(config.s3));
  std::filesystem::create_directories(layout.root, ec);
  if (ec) return Status::IoError("cannot create " + layout.root + ": " + ec.message());
  return SaveStoreConfig(layout, config);
}

}  // namespace dcmfs::tools
