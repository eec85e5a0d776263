// The one place a Status becomes an errno for the kernel.
#pragma once

#include "base/status.h"

namespace dcmfs {

// 0 for OK; ENOENT, EINVAL, EIO, ENOTSUP, EEXIST, EBUSY ... otherwise.
int ErrnoFromStatus(const Status& status);

}  // namespace dcmfs
