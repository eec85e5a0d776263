#include "tests/support/ceph_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace dcmfs::testing {
namespace {

// True if nothing listens on 127.0.0.1:port and we may bind it.
bool PortFree(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A base port with its 100 ports free (the cluster uses BASE..BASE+99).
bool RangeFree(int base) {
  for (int p = base; p < base + 100; ++p) {
    if (!PortFree(p)) return false;
  }
  return true;
}

std::string EnvValue(const std::string& env, const std::string& key) {
  std::istringstream in(env);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  }
  return "";
}

}  // namespace

std::string CephCluster::ScriptsDir() {
  std::filesystem::path p = std::filesystem::path(SourceDir()) / ".." / "shared" / "services";
  if (const char* env = std::getenv("DCMFS_CEPH_SCRIPTS")) p = env;
  std::error_code ec;
  if (!std::filesystem::exists(p / "ceph-rgw-up.sh", ec)) return "";
  return std::filesystem::canonical(p, ec).string();
}

std::unique_ptr<CephCluster> CephCluster::Start(std::string* error) {
  const std::string scripts = ScriptsDir();
  if (scripts.empty()) {
    *error = "the Ceph service scripts (../shared/services/ceph-rgw-up.sh) are missing";
    return nullptr;
  }
  std::mt19937 rng(static_cast<unsigned>(::getpid()) ^ static_cast<unsigned>(
                       std::chrono::steady_clock::now().time_since_epoch().count()));
  std::string last;
  for (int attempt = 0; attempt < 4; ++attempt) {
    // S3 ports 7500..8499, bases 27000..31900 (below the ephemeral range).
    const int port = 7500 + static_cast<int>(rng() % 1000);
    const int base = 27000 + 100 * static_cast<int>(rng() % 50);
    if (!PortFree(port) || !RangeFree(base)) continue;
    std::unique_ptr<CephCluster> c(new CephCluster());
    c->dir_ = "/tmp/dcmfs-ceph-test-" + std::to_string(::getpid()) + "-" + std::to_string(port);
    c->port_ = port;
    const CommandResult up = Shell(
        "CEPH_NO_INSTALL=1 CEPH_WITH_MGR=0 " + ShellQuote(scripts + "/ceph-rgw-up.sh") + " " +
        ShellQuote(c->dir_) + " " + std::to_string(port) + " " + std::to_string(base) + " 2>&1");
    if (up.exit_code != 0) {
      last = "ceph-rgw-up.sh failed (exit " + std::to_string(up.exit_code) + "): " + up.output;
      Shell(ShellQuote(scripts + "/ceph-rgw-down.sh") + " " + ShellQuote(c->dir_) + " 2>&1");
      if (up.output.find("already in use") == std::string::npos) break;  // only a port race is retried
      continue;
    }
    const std::string env = ReadFileOrEmpty(c->env_file());
    c->endpoint_ = EnvValue(env, "S3_ENDPOINT");
    c->access_key_ = EnvValue(env, "S3_ACCESS_KEY");
    c->secret_key_ = EnvValue(env, "S3_SECRET_KEY");
    c->region_ = EnvValue(env, "S3_REGION");
    // Watchdog: once this process is gone, bring the cluster down (a no-op
    // when Stop() already did). Detached, with no inherited pipes.
    Shell("setsid sh -c " +
          ShellQuote("while kill -0 " + std::to_string(::getpid()) +
                     " 2>/dev/null; do sleep 1; done; " + ShellQuote(scripts + "/ceph-rgw-down.sh") +
                     " " + ShellQuote(c->dir_)) +
          " </dev/null >/dev/null 2>&1 &");
    if (c->endpoint_.empty() || c->access_key_.empty()) {
      *error = "ceph-rgw-up.sh wrote no usable " + c->env_file();
      return nullptr;
    }
    return c;
  }
  *error = last.empty() ? "no free ports found for a Ceph cluster" : last;
  return nullptr;
}

CephCluster::~CephCluster() { Stop(); }

std::string CephCluster::Stop() {
  if (stopped_) return "";
  stopped_ = true;
  ResumeGateway();  // a frozen gateway would not see SIGTERM
  const CommandResult down =
      Shell(ShellQuote(ScriptsDir() + "/ceph-rgw-down.sh") + " " + ShellQuote(dir_) + " 2>&1");
  return down.exit_code == 0 ? "" : down.output;
}

std::string CephCluster::ShellEnv() const {
  return "S3_ACCESS_KEY=" + ShellQuote(access_key_) + " S3_SECRET_KEY=" + ShellQuote(secret_key_) +
         " ";
}

int CephCluster::GatewayPid() const {
  std::string text = ReadFileOrEmpty(dir_ + "/run/rgw.pid");
  return std::atoi(text.c_str());
}

bool CephCluster::GatewayAnswers(int timeout_ms) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    const CommandResult r = Shell("curl -s -o /dev/null -w '%{http_code}' --max-time 2 " +
                                  ShellQuote(endpoint_ + "/"));
    if (r.output == "200") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

std::string CephCluster::StopGateway() { return StopGatewayWith(SIGTERM); }
std::string CephCluster::KillGateway() { return StopGatewayWith(SIGKILL); }

std::string CephCluster::StopGatewayWith(int first_signal) {
  const int pid = GatewayPid();
  if (pid <= 0) return "no radosgw pid in " + dir_ + "/run/rgw.pid";
  // Remember how it was started before it goes.
  const std::string cmdline = ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/cmdline");
  if (cmdline.find(dir_ + "/ceph.conf") == std::string::npos) {
    return "pid " + std::to_string(pid) + " is not this cluster's radosgw";
  }
  rgw_argv_.clear();
  std::string arg;
  for (char c : cmdline) {
    if (c == '\0') {
      rgw_argv_.push_back(arg);
      arg.clear();
    } else {
      arg.push_back(c);
    }
  }
  ::kill(pid, SIGCONT);
  ::kill(pid, first_signal);
  for (int i = 0; i < 100; ++i) {
    if (ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/cmdline").empty()) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(pid, SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  return ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/cmdline").empty()
             ? ""
             : "radosgw pid " + std::to_string(pid) + " did not stop";
}

std::string CephCluster::StartGateway() {
  if (rgw_argv_.empty()) return "StartGateway without a previous StopGateway";
  std::string command;
  for (const std::string& a : rgw_argv_) command += ShellQuote(a) + " ";
  // Like the up script: own session, no inherited pipes; the new pid goes
  // where ceph-rgw-down.sh looks for it.
  const CommandResult r = Shell("cd " + ShellQuote(dir_) + "; setsid " + command +
                                " </dev/null >>" + ShellQuote(dir_ + "/log/rgw.out") +
                                " 2>&1 & echo $! > " + ShellQuote(dir_ + "/run/rgw.pid"));
  if (r.exit_code != 0) return "restarting radosgw failed: " + r.output;
  if (!GatewayAnswers(30000)) return "radosgw did not answer within 30 s after a restart";
  return "";
}

std::string CephCluster::PauseGateway() {
  const int pid = GatewayPid();
  if (pid <= 0 || ::kill(pid, SIGSTOP) != 0) return "cannot SIGSTOP radosgw";
  return "";
}

std::string CephCluster::ResumeGateway() {
  const int pid = GatewayPid();
  if (pid <= 0 || ::kill(pid, SIGCONT) != 0) return "cannot SIGCONT radosgw";
  return "";
}

CephCluster* CephSuite::cluster_ = nullptr;
std::string CephSuite::start_error_;

void CephSuite::SetUpTestSuite() {
  if (cluster_ == nullptr) cluster_ = CephCluster::Start(&start_error_).release();
}

void CephSuite::TearDownTestSuite() {
  if (cluster_ != nullptr) {
    EXPECT_EQ(cluster_->Stop(), "");
  }
  delete cluster_;
  cluster_ = nullptr;
}

void CephSuite::SetUp() {
  if (cluster_ == nullptr) GTEST_FAIL() << "no Ceph cluster: " << start_error_;
}

S3Settings CephSuite::Settings(const std::string& bucket, const std::string& prefix) {
  S3Settings s;
  s.endpoint = cluster_->endpoint();
  s.bucket = bucket;
  s.region = cluster_->region();
  s.prefix = prefix;
  s.access_key = cluster_->access_key();
  s.secret_key = cluster_->secret_key();
  return s;
}

}  // namespace dcmfs::testing
