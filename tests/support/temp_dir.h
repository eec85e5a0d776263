// A fresh temporary folder for one test, removed with everything in it.
#pragma once

#include <string>

namespace dcmfs::testing {

class TempDir {
 public:
  TempDir();  // mkdtemp under $TMPDIR or /tmp
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Reads a whole file; empty string if it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);
// Writes `bytes` to `path`, creating parent folders.
void WriteFileOrDie(const std::string& path, const std::string& bytes);

}  // namespace dcmfs::testing
