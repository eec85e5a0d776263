#include "base/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <syslog.h>

namespace dcmfs {
namespace {

LogLevel LevelFromEnv() {
  const char* env = std::getenv("DCMFS_LOG");
  if (env == nullptr) return LogLevel::kInfo;
  if (std::strcmp(env, "debug") == 0) return LogLevel::kDebug;
  if (std::strcmp(env, "warning") == 0) return LogLevel::kWarning;
  if (std::strcmp(env, "error") == 0) return LogLevel::kError;
  return LogLevel::kInfo;
}

std::atomic<LogLevel>& Level() {
  static std::atomic<LogLevel> level{LevelFromEnv()};
  return level;
}

const char* Tag(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "?";
}

std::atomic<bool>& ToSyslog() {
  static std::atomic<bool> on{false};
  return on;
}

}  // namespace

void SetLogToSyslog(bool on) {
  if (on) openlog("dcmfs", LOG_PID | LOG_NDELAY, LOG_DAEMON);
  ToSyslog().store(on);
}

bool ParseLogLevel(const std::string& name, LogLevel& level) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning, LogLevel::kError}) {
    if (name == Tag(l)) {
      level = l;
      return true;
    }
  }
  return false;
}

void SetLogLevel(LogLevel level) { Level().store(level); }
LogLevel GetLogLevel() { return Level().load(); }

void LogLine(LogLevel level, const std::string& line) {
  if (ToSyslog().load()) {
    static constexpr int kPriority[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
    syslog(kPriority[static_cast<int>(level)], "%s: %s", Tag(level), line.c_str());
    return;
  }
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::fprintf(stderr, "dcmfs %s: %s\n", Tag(level), line.c_str());
}

}  // namespace dcmfs
