// The dcmfs subcommands. Each returns the process exit code and prints its
// own messages; the logic lives in the libraries (index/, fs/, codecs/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fs/mount.h"

namespace dcmfs::tools {

// Exit codes shared by the subcommands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the archive (or the command) failed
inline constexpr int kExitPartial = 2;  // done, but some inputs were refused

struct IngestArgs {
  std::string archive;
  std::vector<std::string> paths;
  int threads = 0;  // 0: hardware concurrency
  bool progress = true;
  bool force_writer = false;  // take the writer lease from a live holder
};
int Ingest(const IngestArgs& args);

int Mount(const MountOptions& options);
// force_writer: take the writer lease from a live holder (an archive on an object store).
int Reindex(const std::string& archive, bool force_writer);
int Verify(const std::string& archive);
int CacheStats(const std::string& archive);
int ShowStatus(const std::string& archive);

struct SynthArgs {
  std::string out_dir;
  uint32_t rows = 64, columns = 64, ct_slices = 24, mr_slices = 16, seed = 1;
};
int Synth(const SynthArgs& args);

}  // namespace dcmfs::tools
