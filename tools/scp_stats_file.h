// ARCHIVE/scp-stats.json: the figures of the archive's running DICOM SCP
// (`dcmfs scp`, or a mount with --scp-port), for `dcmfs status`, which runs
// in another process. Rewritten atomically (temp file + rename) every
// second while the figures change, and once more at stop with "running":
// false, so a reader never sees half a file:
//
//   {"pid": 1234, "running": true, "updated": 1763790000, "scp": {...}}
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "base/status.h"

namespace dcmfs::tools {

class ScpStatsFile {
 public:
  // Starts a thread writing `path` from `json` (the "scp" object's text).
  ScpStatsFile(std::string path, std::function<std::string()> json);
  ~ScpStatsFile();  // stops the thread, then writes "running": false
  ScpStatsFile(const ScpStatsFile&) = delete;
  ScpStatsFile& operator=(const ScpStatsFile&) = delete;

 private:
  void Loop();
  void Write(bool running);

  const std::string path_;
  const std::function<std::string()> json_;
  std::string last_;  // the last "scp" text written (loop thread, then destructor)
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

// The status lines for an archive's scp-stats.json: "" when there is none
// (no SCP ever ran), else whether it runs (its pid is alive) and its figures.
std::string ScpStatusLines(const std::string& path);

}  // namespace dcmfs::tools
