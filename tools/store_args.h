// --s3-* flags: make an archive keep its blobs in an S3 bucket.
#pragma once

#include <string>

#include "base/status.h"

namespace dcmfs::tools {

struct S3Args {
  std::string endpoint, bucket, region, prefix, credentials;
  bool given() const { return !endpoint.empty() || !bucket.empty(); }
};

// When `args` were given and ARCHIVE/store.conf does not exist yet, writes
// it (creating ARCHIVE), after checking that the credentials can be read;
// a writer (`create_bucket`) also creates the bucket if missing. Once
// store.conf exists the flags are not needed; flags naming another bucket or
// endpoint than store.conf are an error, not silently ignored.
Status ConfigureArchiveStore(const std::string& archive, const S3Args& args, bool create_bucket);

}  // namespace dcmfs::tools
