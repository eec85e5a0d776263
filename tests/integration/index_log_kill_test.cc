// A writer killed (SIGKILL) while it ingests and publishes its index log,
// several times, then run to the end: a replica built from the store alone
// must show exactly the writer's archive. The store is a folder
// (store.conf backend = directory), so this runs without Ceph.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/integration/fixture.h"

namespace dcmfs::testing {
namespace {

std::string StatusOf(const std::string& archive) {
  return Dcmfs("status " + Q(archive) + " | head -4").output;
}

// Starts `dcmfs ingest` and kills it with SIGKILL after `delay`.
void IngestAndKill(const std::string& archive, const std::string& dicom,
                   std::chrono::milliseconds delay) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string bin = DcmfsBinary();
    ::execl(bin.c_str(), bin.c_str(), "ingest", "--no-progress", "--threads", "2",
            archive.c_str(), dicom.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::this_thread::sleep_for(delay);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

TEST(IndexLogKillTest, KilledWritersLoseNothingTheReplicaShows) {
  TempDir tmp;
  SyntheticOptions synth;
  synth.rows = synth.columns = 8;
  synth.ct_slices = 300;
  synth.mr_slices = 200;
  ASSERT_FALSE(MakeSynthetic(tmp.Sub("dicom"), synth).empty());
  const std::string writer = tmp.Sub("writer");
  std::filesystem::create_directories(writer);
  WriteFileOrDie(writer + "/store.conf",
                 "backend = directory\ndirectory = " + tmp.Sub("bucket") + "\n");

  for (int ms : {700, 1500, 2500}) {
    IngestAndKill(writer, tmp.Sub("dicom"), std::chrono::milliseconds(ms));
  }
  CommandResult finish = Dcmfs("ingest --no-progress " + Q(writer) + " " + Q(tmp.Sub("dicom")));
  ASSERT_EQ(finish.exit_code, 0) << finish.output;
  EXPECT_TRUE(std::filesystem::exists(tmp.Sub("bucket/index/LATEST")));

  CommandResult attach = Dcmfs("attach " + Q(tmp.Sub("replica")) + " --store-dir " +
                               Q(tmp.Sub("bucket")));
  ASSERT_EQ(attach.exit_code, 0) << attach.output;
  EXPECT_EQ(StatusOf(tmp.Sub("replica")), StatusOf(writer));
  EXPECT_NE(StatusOf(writer).find("instances:"), std::string::npos);

  MountedArchive wmnt(writer, tmp.Sub("wmnt"), std::vector<std::string>{"--no-incoming"});
  ASSERT_TRUE(wmnt.ok()) << wmnt.log();
  MountedArchive rmnt(tmp.Sub("replica"), tmp.Sub("rmnt"));
  ASSERT_TRUE(rmnt.ok()) << rmnt.log();
  const std::string listing = "find patients studies \\( -name '*.dcm' -o -type d \\) "
                              "-printf '%i %s %T@ %y %p\\n' | LC_ALL=C sort | sha256sum";
  const std::string w = Shell("cd " + Q(wmnt.path()) + " && " + listing).output;
  EXPECT_EQ(Shell("cd " + Q(rmnt.path()) + " && " + listing).output, w);
  // Originals read through the replica are the writer's (the same blobs in the store).
  const std::string sums = "cd %s/studies && find . -name '*.dcm' -print0 | LC_ALL=C sort -z | "
                           "xargs -0 sha256sum | sha256sum";
  auto run = [&](const std::string& mnt) {
    std::string c = sums;
    c.replace(c.find("%s"), 2, Q(mnt));
    return Shell(c).output;
  };
  EXPECT_EQ(run(rmnt.path()), run(wmnt.path()));
}

}  // namespace
}  // namespace dcmfs::testing
