#include "fs/status_errno.h"

#include <cerrno>

namespace dcmfs {

int ErrnoFromStatus(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return 0;
    case StatusCode::kNotFound: return ENOENT;
    case StatusCode::kInvalidArgument: return EINVAL;
    case StatusCode::kUnsupported: return ENOTSUP;
    case StatusCode::kAlreadyExists: return EEXIST;
    case StatusCode::kBusy: return EBUSY;
    case StatusCode::kCorruption:
    case StatusCode::kDataLoss:
    case StatusCode::kIoError:
    case StatusCode::kInternal: return EIO;
  }
  return EIO;
}

}  // namespace dcmfs
