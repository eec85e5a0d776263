#include "tools/scp_stats_file.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/log.h"

namespace dcmfs::tools {

ScpStatsFile::ScpStatsFile(std::string path, std::function<std::string()> json)
    : path_(std::move(path)), json_(std::move(json)) {
  Write(true);
  thread_ = std::thread([this] { Loop(); });
}

ScpStatsFile::~ScpStatsFile() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  Write(false);
}

void ScpStatsFile::Loop() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
    lock.unlock();
    if (json_() != last_) Write(true);
    lock.lock();
  }
}

void ScpStatsFile::Write(bool running) {
  try {  // called from a thread entry point and a destructor: nothing escapes
    last_ = json_();
    std::ostringstream o;
    o << "{\"pid\": " << getpid() << ", \"running\": " << (running ? "true" : "false")
      << ", \"updated\": " << std::time(nullptr) << ", \"scp\": " << (last_.empty() ? "null" : last_)
      << "}\n";
    const std::string tmp = path_ + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << o.str();
      if (!out) throw std::runtime_error("cannot write " + tmp);
    }
    if (std::rename(tmp.c_str(), path_.c_str()) != 0) {
      throw std::runtime_error("cannot rename " + tmp + ": " + std::strerror(errno));
    }
  } catch (const std::exception& e) {
    DCMFS_LOG(Warning) << "scp stats file: " << e.what();
  }
}

std::string ScpStatusLines(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return "scp:       " + path + " is unreadable\n";
  const long pid = j.value("pid", 0L);
  const bool alive = j.value("running", false) && pid > 0 &&
                     (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
  const std::time_t updated = j.value("updated", 0L);
  char when[32] = "?";
  std::tm tm{};
  if (gmtime_r(&updated, &tm) != nullptr) std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::ostringstream o;
  o << "scp:       " << (alive ? "running (pid " + std::to_string(pid) + ")" : "not running")
    << ", figures as of " << when << "\n";
  if (j["scp"].is_object()) {
    for (auto it = j["scp"].begin(); it != j["scp"].end(); ++it) {
      o << "  " << it.key() << ": " << it.value().dump() << "\n";
    }
  }
  return o.str();
}

}  // namespace dcmfs::tools
