// Acknowledged means durable, against a real Ceph RADOS Gateway (one
// cluster for this binary): radosgw killed or frozen in the middle of a CLI
// ingest (many files and a multipart-sized one), of C-STOREs from DCMTK's
// storescu into `dcmfs scp`, and of files copied into a mount's /incoming.
// Whatever was acknowledged (the ingest's count, a C-STORE Success, an
// instance shown in the tree) must be indexed with its object intact
// (`dcmfs verify`), failures must be reported as failures, and a rerun (or
// the gateway's return) completes the work. Also: two writers on one bucket
// (the writer lease, index/writer_lease.h).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "tests/integration/dicom_net.h"
#include "tests/integration/fixture.h"
#include "tests/support/ceph_cluster.h"

namespace dcmfs::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kBucket = "dcmfs-write";

// Polls `done` every 100 ms for up to `limit`; true once it held.
bool WaitFor(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

// A child process running `argv` with stdout and stderr in `log`.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ::dup2(fd, 1);
  ::dup2(fd, 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

// The child's exit code, -1 if it did not end within `limit` (then killed).
int WaitExit(pid_t pid, std::chrono::seconds limit) {
  int status = 0;
  const bool ended = WaitFor([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, limit);
  if (!ended) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// `dcmfs scp ARCHIVE --port PORT` (AE title DCMFS) once it answers C-ECHO;
// -1 (and the child killed) if it does not within 30 s.
pid_t StartScp(const std::string& archive, const std::string& port, const std::string& log) {
  const pid_t pid = Spawn({DcmfsBinary(), "scp", archive, "--port", port, "--aet", "DCMFS"}, log);
  const bool up =
      WaitFor([&] { return Shell("echoscu -aet T -aec DCMFS 127.0.0.1 " + port).exit_code == 0; },
              std::chrono::seconds(30));
  if (up) return pid;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

long Instances(const std::string& archive) {
  const std::string out = Dcmfs("status " + Q(archive)).output;
  const size_t at = out.find("instances: ");
  return at == std::string::npos ? -1 : std::atol(out.c_str() + at + 11);
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class S3WriteTest : public CephSuite {
 protected:
  static void SetUpTestSuite() {
    CephSuite::SetUpTestSuite();
    if (cluster_ == nullptr) return;
    dir_ = new TempDir();
    SyntheticOptions o;
    o.rows = o.columns = 256;
    o.ct_slices = 60;
    o.mr_slices = 30;
    many_ = MakeSynthetic(dir_->Sub("many"), o);
    // Bigger than the multipart threshold (64 MiB) after compression: noise.
    const CommandResult big =
        Shell("/usr/bin/python3 -c " + Q(kBigDicom) + " " + Q(dir_->Sub("big")) + " 2>&1");
    if (big.exit_code != 0) start_error_ = "writing the big DICOM file failed: " + big.output;
    const CommandResult bucket = S3Curl("-X PUT", "");
    if (bucket.exit_code != 0) start_error_ = "creating the bucket failed: " + bucket.output;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
    CephSuite::TearDownTestSuite();
  }
  void SetUp() override {
    CephSuite::SetUp();
    if (!HasFatalFailure() && !start_error_.empty()) GTEST_FAIL() << start_error_;
  }

  // An archive folder whose store.conf names the bucket under `prefix`,
  // with a 3 s budget per store call so that failures come quickly.
  static std::string NewArchive(const std::string& name, const std::string& prefix,
                                const std::string& more = "") {
    const std::string archive = dir_->Sub(name);
    std::filesystem::create_directories(archive);
    WriteFileOrDie(archive + "/store.conf",
                   "backend = s3\nendpoint = " + cluster_->endpoint() + "\nbucket = " + kBucket +
                       "\nregion = " + cluster_->region() + "\nprefix = " + prefix +
                       "\ncredentials_file = " + cluster_->env_file() +
                       "\ntimeout_ms = 3000\nretries = 2\n" + more);
    return archive;
  }
  // `curl --aws-sigv4` on the bucket; `path` is bucket-relative ("/key", "?uploads=").
  static CommandResult S3Curl(const std::string& args, const std::string& path) {
    return Shell("curl -sS --fail --max-time 10 --aws-sigv4 " +
                 Q("aws:amz:" + cluster_->region() + ":s3") + " --user " +
                 Q(cluster_->access_key() + ":" + cluster_->secret_key()) +
                 " -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' " + args + " " +
                 Q(cluster_->endpoint() + "/" + kBucket + path));
  }
  static std::string BigFile() { return dir_->Sub("big/big.dcm"); }

  static constexpr const char* kBigDicom = R"(
import os, sys, numpy as np, pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
os.makedirs(sys.argv[1], exist_ok=True)
m = FileMetaDataset()
m.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.7'
m.MediaStorageSOPInstanceUID = generate_uid()
m.TransferSyntaxUID = ExplicitVRLittleEndian
d = Dataset(); d.file_meta = m
d.SOPClassUID = m.MediaStorageSOPClassUID; d.SOPInstanceUID = m.MediaStorageSOPInstanceUID
d.PatientName = 'Big^Noise'; d.PatientID = 'BIG1'; d.Modality = 'OT'
d.StudyInstanceUID = generate_uid(); d.SeriesInstanceUID = generate_uid()
d.SeriesNumber = 1; d.InstanceNumber = 1
d.Rows, d.Columns, d.NumberOfFrames = 3072, 4096, 3
d.SamplesPerPixel = 1; d.PhotometricInterpretation = 'MONOCHROME2'
d.BitsAllocated = 16; d.BitsStored = 16; d.HighBit = 15; d.PixelRepresentation = 0
d.PixelData = np.random.default_rng(5).integers(0, 65536, 3 * 3072 * 4096, dtype=np.uint16).tobytes()
d.is_little_endian = True; d.is_implicit_VR = False
d.save_as(os.path.join(sys.argv[1], 'big.dcm'), write_like_original=False)
)";

  static TempDir* dir_;
  static std::vector<SyntheticFile> many_;
};

TempDir* S3WriteTest::dir_ = nullptr;
std::vector<SyntheticFile> S3WriteTest::many_;

// radosgw killed (SIGKILL: requests in flight cut) or frozen (SIGSTOP: it
// keeps its port and answers nothing) while a multipart upload of the big
// file and small PUTs are in flight.
TEST_F(S3WriteTest, IngestReportsWhatTheGatewayCutOffAndARerunCompletes) {
  for (const bool freeze : {false, true}) {
    SCOPED_TRACE(freeze ? "frozen" : "killed");
    const std::string name = freeze ? "frozen" : "killed";
    const std::string archive = NewArchive("ingest-" + name, "i-" + name + "/");
    const std::vector<std::string> argv = {
        DcmfsBinary(), "ingest", "--no-progress",  "--threads",
        "2",           archive,  dir_->Sub("big"), dir_->Sub("many")};
    const std::string log = dir_->Sub("ingest-" + name + ".log");
    const pid_t ingest = Spawn(argv, log);
    // Cut the store while the big file's multipart upload is open.
    const bool uploading = WaitFor(
        [&] {
          // Listed by prefix: the killed run's upload, never aborted, stays open.
          return S3Curl("", "?prefix=i-" + name + "%2F&uploads=").output.find("<Upload>") !=
                 std::string::npos;
        },
        std::chrono::seconds(60));
    ASSERT_TRUE(uploading) << "no multipart upload seen\n" << ReadFileOrEmpty(log);
    ASSERT_EQ(freeze ? cluster_->PauseGateway() : cluster_->KillGateway(), "");
    const int code = WaitExit(ingest, std::chrono::seconds(120));
    ASSERT_EQ(freeze ? cluster_->ResumeGateway() : cluster_->StartGateway(), "");
    const std::string out = ReadFileOrEmpty(log);
    RecordProperty("ingest_output_" + name, out);  // shown with --gtest_output=xml:FILE
    EXPECT_EQ(code, 1) << out;
    // The failed files by name, with the store's reason.
    EXPECT_NE(out.find("not stored:\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\n  " + BigFile() + ": s3://" + kBucket + "/i-" + name + "/"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find(freeze ? "stalled" : "gave up after"), std::string::npos) << out;
    const size_t at = out.find(" new instances were stored before");
    ASSERT_NE(at, std::string::npos) << out;
    const long claimed = std::atol(out.c_str() + out.rfind(' ', at - 1) + 1);
    // Exactly what it called stored is indexed, every object intact.
    EXPECT_EQ(Instances(archive), claimed) << out;
    CommandResult v = Dcmfs("verify " + Q(archive));
    EXPECT_EQ(v.exit_code, 0) << v.output;
    CommandResult rerun = Dcmfs("ingest --no-progress " + Q(archive) + " " + Q(dir_->Sub("big")) +
                                " " + Q(dir_->Sub("many")));
    ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
    // The upload the killed gateway left open (its abort found no gateway;
    // a frozen one takes the abort queued on its socket when it resumes) is
    // aborted by the next writer, so no parts linger, billed yet unlisted.
    if (!freeze) {
      EXPECT_NE(rerun.output.find("aborted 1 incomplete multipart upload(s) left by an earlier "
                                  "writer"),
                std::string::npos)
          << rerun.output;
    }
    CommandResult uploads = S3Curl("", "?prefix=i-" + name + "%2F&uploads=");
    EXPECT_EQ(uploads.exit_code, 0) << uploads.output;
    EXPECT_EQ(uploads.output.find("<Upload>"), std::string::npos) << uploads.output;
    const long all = static_cast<long>(many_.size()) + 1;
    EXPECT_EQ(Instances(archive), all);
    v = Dcmfs("verify " + Q(archive));
    EXPECT_EQ(v.exit_code, 0) << v.output;
    EXPECT_NE(v.output.find("blobs checked: " + std::to_string(all)), std::string::npos)
        << v.output;
  }
}

// `storescu -v` logs "Sending file: PATH" before each C-STORE and
// "Received Store Response (Success)" (or the failure status) after it.
// Returns the files acknowledged with Success and counts the failures.
std::vector<std::string> AcknowledgedFiles(const std::string& log, int* failures) {
  std::vector<std::string> acked;
  std::string sending;
  *failures = 0;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (const size_t at = line.find("Sending file: "); at != std::string::npos) {
      sending = line.substr(at + 14);
    } else if (line.find("Received Store Response") != std::string::npos) {
      if (line.find("(Success") != std::string::npos) {
        acked.push_back(sending);
      } else {
        ++*failures;
      }
    }
  }
  return acked;
}

// radosgw killed while storescu sends to `dcmfs scp`: every C-STORE storescu
// saw answered Success is indexed with its object in the bucket, and the
// store that could not be done is answered with a failure status.
TEST_F(S3WriteTest, ScpAnswersSuccessOnlyForDurableInstances) {
  const std::string archive = NewArchive("scp", "s/");
  const std::string port = std::to_string(FreePort());
  const pid_t scp = StartScp(archive, port, dir_->Sub("scp.log"));
  ASSERT_GT(scp, 0) << ReadFileOrEmpty(dir_->Sub("scp.log"));
  // storescu halts at the first unsuccessful store (its default).
  const std::string sent_log = dir_->Sub("storescu.log");
  const pid_t sender =
      Spawn({"/bin/sh", "-c",
             StorescuCommand(dir_->path(), "MODALITY", port, "-v") + " " + Q(dir_->Sub("many"))},
            sent_log);
  ASSERT_TRUE(WaitFor([&] { return Count(ReadFileOrEmpty(sent_log), "(Success") >= 20; },
                      std::chrono::seconds(60)))
      << ReadFileOrEmpty(sent_log);
  ASSERT_EQ(cluster_->KillGateway(), "");
  const int sent = WaitExit(sender, std::chrono::seconds(60));
  ::kill(scp, SIGTERM);
  EXPECT_EQ(WaitExit(scp, std::chrono::seconds(60)), 0) << ReadFileOrEmpty(dir_->Sub("scp.log"));
  ASSERT_EQ(cluster_->StartGateway(), "");

  const std::string log = ReadFileOrEmpty(sent_log);
  int failures = 0;
  const std::vector<std::string> acked = AcknowledgedFiles(log, &failures);
  EXPECT_GE(acked.size(), 20u);
  EXPECT_LT(acked.size(), many_.size()) << "the gateway went away after everything was sent";
  EXPECT_GE(failures, 1) << log;  // the one in flight (storescu then halts)
  EXPECT_NE(sent, 0) << log;
  EXPECT_EQ(Instances(archive), static_cast<long>(acked.size()));
  CommandResult v = Dcmfs("verify " + Q(archive));
  EXPECT_EQ(v.exit_code, 0) << v.output;
  // Each acknowledged dataset reads back unchanged through a mount.
  std::map<std::string, SyntheticFile> by_path;
  for (const SyntheticFile& f : many_) by_path[f.path] = f;
  std::vector<SyntheticFile> stored;
  for (const std::string& path : acked) {
    ASSERT_TRUE(by_path.count(path)) << "storescu sent an unknown file: " << path;
    stored.push_back(by_path[path]);
  }
  MountedArchive m(archive, dir_->Sub("mnt-scp"), std::vector<std::string>{"--no-incoming"});
  ASSERT_TRUE(m.ok()) << m.log();
  EXPECT_EQ(DifferingDatasets(dir_->path(), stored, m.path()), "");
}

// radosgw killed while files copied into /incoming are being stored: what
// the tree showed meanwhile is indexed with its object (verified with the
// mount stopped, so no retry can repair it), nothing is refused for an
// outage, and the files left waiting are stored once the gateway is back.
TEST_F(S3WriteTest, IncomingKeepsWhatTheGatewayCouldNotTake) {
  const std::string archive = NewArchive("incoming", "c/");
  std::filesystem::create_directories(dir_->Sub("nothing"));
  CommandResult made = Dcmfs("ingest --no-progress " + Q(archive) + " " + Q(dir_->Sub("nothing")));
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto shown = [](const std::string& mnt) {
    return Shell("find " + Q(mnt + "/studies") + " -mindepth 3 -maxdepth 3 -name '*.dcm' | wc -l")
        .output;
  };
  {
    MountedArchive m(archive, dir_->Sub("mnt-in"));
    ASSERT_TRUE(m.ok()) << m.log();
    CommandResult cp = Shell("cp -r " + Q(dir_->Sub("many")) + " " + Q(m.path() + "/incoming/"));
    ASSERT_EQ(cp.exit_code, 0) << cp.output;
    ASSERT_TRUE(
        WaitFor([&] { return std::atol(shown(m.path()).c_str()) >= 20; }, std::chrono::seconds(60)))
        << m.log();
    ASSERT_EQ(cluster_->KillGateway(), "");
    std::this_thread::sleep_for(std::chrono::seconds(4));  // stores in flight fail meanwhile
    const long during = std::atol(shown(m.path()).c_str());
    EXPECT_LT(during, static_cast<long>(many_.size())) << "everything was stored before the cut";
    EXPECT_EQ(ReadFileOrEmpty(archive + "/incoming/REJECTED.txt"), "");
  }  // unmounted: nothing is retried from here
  ASSERT_EQ(cluster_->StartGateway(), "");
  const long indexed = Instances(archive);
  EXPECT_GE(indexed, 20);
  CommandResult v = Dcmfs("verify " + Q(archive));
  EXPECT_EQ(v.exit_code, 0) << v.output;
  // Mounted again: the files that waited are stored now, bit for bit.
  MountedArchive m(archive, dir_->Sub("mnt-in2"));
  ASSERT_TRUE(m.ok()) << m.log();
  EXPECT_TRUE(
      WaitFor([&] { return std::atol(shown(m.path()).c_str()) == static_cast<long>(many_.size()); },
              std::chrono::seconds(120)))
      << shown(m.path()) << m.log();
  for (const SyntheticFile& f : many_) {
    EXPECT_EQ(HexOfFile(StudiesPath(m.path(), f)), HexOfFile(f.path)) << f.path;
  }
  EXPECT_EQ(ReadFileOrEmpty(archive + "/incoming/REJECTED.txt"), "");
}

// Two archive folders (two workstations) writing one bucket and prefix: a
// second writer is refused, naming the first; --force-writer takes over and
// the first notices, stops publishing and refuses C-STOREs; a frozen
// writer's lease goes stale; of two writers started together exactly one
// writes.
TEST_F(S3WriteTest, OneWriterPerBucketAndPrefix) {
  const std::string conf = "writer_stale_seconds = 6\n";
  const std::string a = NewArchive("writer-a", "w/", conf), b = NewArchive("writer-b", "w/", conf);
  const std::string port = std::to_string(FreePort());
  const std::string a_log = dir_->Sub("writer-a.log");
  pid_t scp = StartScp(a, port, a_log);
  ASSERT_GT(scp, 0) << ReadFileOrEmpty(a_log);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string holder =
      "this archive's writer is host '" + std::string(host) + "' pid " + std::to_string(scp) + " ";
  const std::string one = Q(many_.front().path);
  CommandResult refused = Dcmfs("ingest --no-progress " + Q(b) + " " + one);
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("s3://" + std::string(kBucket) + "/w/index/WRITER: " + holder),
            std::string::npos)
      << refused.output;
  EXPECT_FALSE(std::filesystem::exists(b + "/index")) << "the refused writer made an index";

  CommandResult forced = Dcmfs("ingest --no-progress --force-writer " + Q(b) + " " + one);
  EXPECT_EQ(forced.exit_code, 0) << forced.output;
  // The first writer's heartbeat (every 6/4 s) finds the lease taken.
  EXPECT_TRUE(
      WaitFor([&] { return ReadFileOrEmpty(a_log).find("taken over by") != std::string::npos; },
              std::chrono::seconds(15)))
      << ReadFileOrEmpty(a_log);
  // ...and from then on answers no C-STORE with Success: what it indexed
  // could never reach a mount.
  const std::string late_log = dir_->Sub("late-storescu.log");
  CommandResult late = Shell(StorescuCommand(dir_->path(), "MODALITY", port, "-v") + " " +
                             Q(many_[1].path) + " > " + Q(late_log) + " 2>&1");
  int late_failures = 0;
  EXPECT_TRUE(AcknowledgedFiles(ReadFileOrEmpty(late_log), &late_failures).empty())
      << ReadFileOrEmpty(late_log);
  EXPECT_EQ(late_failures, 1) << ReadFileOrEmpty(late_log);
  EXPECT_NE(ReadFileOrEmpty(a_log).find("refusing to index"), std::string::npos)
      << ReadFileOrEmpty(a_log);
  ::kill(scp, SIGTERM);
  WaitExit(scp, std::chrono::seconds(30));

  // A frozen writer: refused while its heartbeat is fresh, replaced once stale.
  scp = StartScp(a, port, a_log);
  ASSERT_GT(scp, 0) << ReadFileOrEmpty(a_log);
  ::kill(scp, SIGSTOP);
  refused = Dcmfs("ingest --no-progress " + Q(b) + " " + one);
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("stale (6 s without a heartbeat)"), std::string::npos)
      << refused.output;
  std::this_thread::sleep_for(std::chrono::seconds(7));
  CommandResult stale = Dcmfs("ingest --no-progress " + Q(b) + " " + one);
  EXPECT_EQ(stale.exit_code, 0) << stale.output;
  ::kill(scp, SIGCONT);
  ::kill(scp, SIGTERM);
  WaitExit(scp, std::chrono::seconds(30));

  // Two writers started at once: exactly one writes.
  const pid_t pa = Spawn({DcmfsBinary(), "ingest", "--no-progress", a, dir_->Sub("many")},
                         dir_->Sub("race-a.log"));
  const pid_t pb = Spawn({DcmfsBinary(), "ingest", "--no-progress", b, dir_->Sub("many")},
                         dir_->Sub("race-b.log"));
  const int ca = WaitExit(pa, std::chrono::seconds(120)),
            cb = WaitExit(pb, std::chrono::seconds(120));
  EXPECT_TRUE((ca == 0 && cb == 1) || (ca == 1 && cb == 0))
      << ca << " " << cb << "\n"
      << ReadFileOrEmpty(dir_->Sub("race-a.log")) << ReadFileOrEmpty(dir_->Sub("race-b.log"));
  const std::string loser = ReadFileOrEmpty(dir_->Sub(ca == 1 ? "race-a.log" : "race-b.log"));
  EXPECT_NE(loser.find("/w/index/WRITER: "), std::string::npos) << loser;
}

}  // namespace
}  // namespace dcmfs::testing
