// nginx serving a mount with the shipped server block
// (packaging/nginx-dcmfs.conf), for the mounted IIIF tests: a free port on
// 127.0.0.1, a temporary config, paths a non-root user may write.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>
#include <string>

#include "tests/integration/fixture.h"

namespace dcmfs::testing {

inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// nginx with the shipped server block pointed at `root`, listening on `port`.
class Nginx {
 public:
  // `viewer`: a folder also served at /viewer/ (the viewer page).
  Nginx(const TempDir& dir, const std::string& root, int port, const std::string& viewer)
      : prefix_(dir.Sub("nginx")) {
    std::string server = ReadFileOrEmpty(SourceDir() + "/packaging/nginx-dcmfs.conf");
    server = std::regex_replace(server, std::regex("listen 8080;"),
                                "listen 127.0.0.1:" + std::to_string(port) + ";");
    server = std::regex_replace(server, std::regex("root /mnt/dcmfs;"), "root " + root + ";");
    server = std::regex_replace(server, std::regex("alias /mnt/dcmfs/;"), "alias " + root + "/;");
    server = std::regex_replace(server, std::regex("  # Manifests\\."),
                                "  location ^~ /viewer/ { alias " + viewer + "/; }\n  # Manifests.");
    WriteFileOrDie(prefix_ + "/server.conf", server);
    std::string conf;
    // Workers of a root master run as nobody, who may not read a mount made
    // without allow_other: keep them as the mounting user.
    if (geteuid() == 0) conf += "user root;\n";
    conf += "worker_processes 2;\npid " + prefix_ + "/nginx.pid;\nerror_log " + prefix_ +
            "/error.log;\ndaemon on;\nevents { worker_connections 256; }\nhttp {\n"
            "  include /etc/nginx/mime.types;\n  access_log off;\n";
    for (const char* t : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
      conf += std::string("  ") + t + "_temp_path " + prefix_ + "/tmp_" + t + ";\n";
    }
    conf += "  include " + prefix_ + "/server.conf;\n}\n";
    WriteFileOrDie(prefix_ + "/nginx.conf", conf);
    started_ = Shell("nginx -p " + Q(prefix_) + " -c " + Q(prefix_ + "/nginx.conf") + " 2>&1");
  }
  ~Nginx() {
    std::string pid = ReadFileOrEmpty(prefix_ + "/nginx.pid");
    if (!pid.empty()) kill(std::stoi(pid), SIGQUIT);
  }
  bool ok() const { return started_.exit_code == 0; }
  std::string log() const { return started_.output + ReadFileOrEmpty(prefix_ + "/error.log"); }

 private:
  std::string prefix_;
  CommandResult started_;
};

}  // namespace dcmfs::testing
