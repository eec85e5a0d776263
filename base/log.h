// Minimal leveled logging to stderr. Thread-safe (one line per call).
// Logs never carry patient identifiers: log UIDs' hashes, digests and paths
// inside the archive, not names, IDs or dates of birth.
#pragma once

#include <sstream>
#include <string>

namespace dcmfs {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Messages below `level` are dropped. Default kInfo; DCMFS_LOG=debug|info|warning|error.
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
void LogLine(LogLevel level, const std::string& line);
// Sends log lines to syslog(3) (facility daemon, ident "dcmfs") instead of
// stderr: for mounts running in the background, whose stderr is /dev/null.
void SetLogToSyslog(bool on);
// Sets `level` from "debug", "info", "warning" or "error"; false for anything else.
bool ParseLogLevel(const std::string& name, LogLevel& level);

namespace internal {
class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage() { LogLine(level_, stream_.str()); }
  template <typename T>
  LogMessage& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};
}  // namespace internal

}  // namespace dcmfs

namespace dcmfs::internal {
// Lets `DCMFS_LOG(x) << ...` be one expression, safe as the body of an unbraced if.
struct LogVoidify {
  void operator&(const LogMessage&) {}
};
}  // namespace dcmfs::internal

#define DCMFS_LOG(level)                                              \
  (::dcmfs::LogLevel::k##level < ::dcmfs::GetLogLevel())              \
      ? (void)0                                                       \
      : ::dcmfs::internal::LogVoidify() &                             \
            ::dcmfs::internal::LogMessage(::dcmfs::LogLevel::k##level)
