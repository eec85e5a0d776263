// /incoming/REJECTED.txt: one line per file from /incoming that was not
// stored, persisted as ARCHIVE/incoming/REJECTED.txt so it survives remounts:
//
//   <UTC time YYYY-MM-DDTHH:MM:SSZ> TAB </incoming path> TAB <reason> TAB <kept as>
//
// "kept as" is relative to ARCHIVE (quarantine/<sha256>.bin). Tabs and line
// breaks inside fields become spaces. Appends are fsynced.
// Thread-safe (one mutex).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "base/status.h"

namespace dcmfs {

class RejectedLog {
 public:
  explicit RejectedLog(std::string path) : path_(std::move(path)) {}
  Status Append(std::string_view shown_path, std::string_view reason, std::string_view kept_as);
  // The whole text ("" when nothing was ever rejected).
  std::string Contents() const;
  uint64_t Size() const;
  int64_t Mtime() const;

 private:
  const std::string path_;
  mutable std::mutex mu_;
};

}  // namespace dcmfs
