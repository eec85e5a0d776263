// The libfuse low-level callbacks (fs/fuse_ops.cc) and their userdata.
// libfuse types are only forward-declared here.
#pragma once

#include <cstdint>

struct fuse_lowlevel_ops;

namespace dcmfs {

class Filesystem;

// The session's userdata: the one filesystem object (no globals).
struct FuseContext {
  Filesystem* fs = nullptr;
  uint32_t max_read = 0;       // from "-o max_read=N"; 0 = the kernel's default
  uint32_t max_write = 1u << 20;
  uint32_t max_readahead = 1u << 20;
};

// Fills every callback dcmfs implements.
void FillFuseOps(fuse_lowlevel_ops* ops);

}  // namespace dcmfs
