// A throwaway Ceph cluster with its S3 gateway (radosgw) for tests, started
// with ../shared/services/ceph-rgw-up.sh (README there) in a fresh folder
// under /tmp on ports probed free, so that two test binaries can each run
// one at the same time (ctest -j2). One cluster per test binary: start it
// in SetUpTestSuite, Stop() it in TearDownTestSuite.
//
// If the test process dies without stopping it (crash, kill -9), a watchdog
// started beside the cluster runs ceph-rgw-down.sh once the process is gone,
// so nothing is left listening.
//
// The gateway can be stopped and restarted (the same command line, read
// from /proc/PID/cmdline before it is stopped) or frozen with SIGSTOP, to
// test a store that goes away. Not thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "index/store_config.h"

namespace dcmfs::testing {

class CephCluster {
 public:
  // Starts a cluster; on failure returns null and sets *error (the scripts
  // missing, a daemon not coming up: the caller fails its test with it).
  static std::unique_ptr<CephCluster> Start(std::string* error);
  ~CephCluster();  // Stop()
  CephCluster(const CephCluster&) = delete;
  CephCluster& operator=(const CephCluster&) = delete;

  // ceph-rgw-down.sh; "" when everything is gone, else what it said.
  std::string Stop();

  const std::string& dir() const { return dir_; }
  const std::string& endpoint() const { return endpoint_; }  // http://127.0.0.1:PORT
  const std::string& access_key() const { return access_key_; }
  const std::string& secret_key() const { return secret_key_; }
  const std::string& region() const { return region_; }
  // DIR/s3.env (mode 0600): usable as a dcmfs --s3-credentials file.
  std::string env_file() const { return dir_ + "/s3.env"; }
  // "S3_ACCESS_KEY='..' S3_SECRET_KEY='..' " to put before a shell command.
  std::string ShellEnv() const;

  // Kills radosgw (SIGTERM, then SIGKILL) and waits until it is gone; "" on success.
  std::string StopGateway();
  // The same with SIGKILL at once: requests in flight are cut, none finished.
  std::string KillGateway();
  // Starts radosgw again with the command line it had; waits until it answers.
  std::string StartGateway();
  // SIGSTOP / SIGCONT the gateway: it keeps its port but answers nothing.
  std::string PauseGateway();
  std::string ResumeGateway();

  // The folder with the service scripts, or "" when missing.
  static std::string ScriptsDir();

 private:
  CephCluster() = default;
  int GatewayPid() const;
  std::string StopGatewayWith(int first_signal);
  bool GatewayAnswers(int timeout_ms) const;

  std::string dir_, endpoint_, access_key_, secret_key_, region_;
  int port_ = 0;
  std::vector<std::string> rgw_argv_;  // remembered for StartGateway
  bool stopped_ = false;
};

// A GoogleTest suite sharing one cluster between all its tests (started in
// SetUpTestSuite, stopped in TearDownTestSuite). SetUp fails the test with
// the reason when the cluster did not start (a missing prerequisite is a
// failure, never a skip). One suite deriving from this per binary: a second
// one would start a second cluster.
class CephSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;

  // Settings for `bucket` under `prefix` on this binary's cluster (keys
  // included), with the store's defaults for everything else.
  static S3Settings Settings(const std::string& bucket, const std::string& prefix);

  static CephCluster* cluster_;
  static std::string start_error_;
};

}  // namespace dcmfs::testing
