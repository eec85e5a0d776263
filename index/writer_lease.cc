// The writer lease (writer_lease.h): check, PUT, settle, read back.
#include "index/writer_lease.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "base/log.h"

namespace dcmfs {
namespace {

using Clock = std::chrono::system_clock;

struct Record {
  std::string host, token;
  long pid = 0;
  std::string process_start;           // /proc/PID/stat field 22: tells a reused pid apart
  int64_t started = 0, heartbeat = 0;  // Unix seconds
};

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
}

std::string Host() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown-host";
  return name;
}

// Field 22 of /proc/PID/stat (start time in clock ticks since boot), or ""
// when the process does not exist. The command name (field 2) may hold
// spaces and parentheses, so fields are counted after its last ')'.
std::string ProcessStart(long pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return "";
  std::istringstream rest(text.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
  }
  return field;
}

std::string RandomToken() {
  std::random_device rd;
  std::string out;
  static const char* kHex = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) out.push_back(kHex[rd() & 15]);
  return out;
}

std::string Utc(int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Record Parse(const std::string& text) {
  std::map<std::string, std::string> kv;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  Record r;
  r.host = kv["host"];
  r.token = kv["token"];
  r.pid = std::atol(kv["pid"].c_str());
  r.process_start = kv["process_start"];
  r.started = std::atoll(kv["started"].c_str());
  r.heartbeat = std::atoll(kv["heartbeat"].c_str());
  return r;
}

std::string Describe(const Record& r) {
  return "host '" + r.host + "' pid " + std::to_string(r.pid) + " (writing since " +
         Utc(r.started) + ", last heartbeat " + std::to_string(Now() - r.heartbeat) + " s ago)";
}

// Whether `r` still holds the archive. A record we cannot read (no token)
// holds nothing.
bool Live(const Record& r, const WriterLeaseOptions& o) {
  if (r.token.empty()) return false;
  if (Now() - r.heartbeat >= o.stale_after.count()) return false;
  // On this host we can ask the kernel: a holder whose process is gone is
  // not waited for (a killed ingest is rerun at once).
  if (r.host == Host() && ProcessStart(r.pid) != r.process_start) return false;
  return true;
}

}  // namespace

WriterLease::WriterLease(std::shared_ptr<ObjectStore> store, WriterLeaseOptions options)
    : store_(std::move(store)), options_(std::move(options)), token_(RandomToken()) {
  const long pid = static_cast<long>(::getpid());
  holder_ = "host '" + Host() + "' pid " + std::to_string(pid);
  record_prefix_ = "host=" + Host() + "\npid=" + std::to_string(pid) +
                   "\nprocess_start=" + ProcessStart(pid) + "\nstarted=" + std::to_string(Now()) +
                   "\ntoken=" + token_ + "\n";
}

Status WriterLease::PutRecord() {
  const std::string text = record_prefix_ + "heartbeat=" + std::to_string(Now()) + "\n";
  return store_->Put(options_.key, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

Result<std::shared_ptr<WriterLease>> WriterLease::Acquire(std::shared_ptr<ObjectStore> store,
                                                          const WriterLeaseOptions& options) {
  std::shared_ptr<WriterLease> lease(new WriterLease(std::move(store), options));
  ObjectStore& s = *lease->store_;
  const std::string where = s.Describe(options.key);
  const std::string advice = "; one writer at a time: stop it, wait until its lease is stale (" +
                             std::to_string(options.stale_after.count()) +
                             " s without a heartbeat), or pass --force-writer to take over";
  Result<std::string> current = s.Get(options.key);
  if (!current.ok() && !current.status().IsNotFound()) {
    return current.status().WithContext("reading the writer lease");
  }
  if (current.ok() && !options.force) {
    const Record holder = Parse(*current);
    if (Live(holder, options)) {
      return Status::Busy(where + ": this archive's writer is " + Describe(holder) + advice);
    }
  }
  RETURN_IF_ERROR(lease->PutRecord().WithContext("taking the writer lease"));
  // The read-back: of two writers whose check and PUT overlapped, the one
  // whose PUT landed last sees its own token and keeps the lease.
  std::this_thread::sleep_for(options.settle);
  Result<std::string> back = s.Get(options.key);
  if (back.status().IsNotFound()) {
    // A previous holder releasing its lease deleted ours: write it again.
    RETURN_IF_ERROR(lease->PutRecord().WithContext("taking the writer lease"));
  } else if (!back.ok()) {
    return back.status().WithContext("reading back the writer lease");
  } else if (const Record winner = Parse(*back); winner.token != lease->token_) {
    return Status::Busy(
        where + ": another writer took the lease at the same moment: " + Describe(winner) + advice);
  }
  lease->thread_ = std::thread([raw = lease.get()] { raw->HeartbeatLoop(); });
  DCMFS_LOG(Info) << "writer lease " << where << " held by " << lease->holder_;
  return lease;
}

WriterLease::~WriterLease() {
  bool lost;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    lost = !lost_.ok();
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (lost) return;
  // Released only if still ours: a writer that took over keeps its lease.
  Result<std::string> current = store_->Get(options_.key);
  if (current.ok() && Parse(*current).token == token_) {
    Status s = store_->Delete(options_.key);
    if (!s.ok()) DCMFS_LOG(Warning) << "writer lease: " << s.ToString();
  }
}

Status WriterLease::Check() const {
  std::lock_guard lock(mu_);
  return lost_;
}

// One refresh: read first, so a takeover is noticed instead of overwritten.
Status WriterLease::Heartbeat() {
  Result<std::string> current = store_->Get(options_.key);
  const std::string lost = store_->Describe(options_.key) + ": the writer lease was taken over by ";
  const std::string consequence =
      "; this writer (" + holder_ + ") no longer publishes the index log";
  // Gone: a writer took it while this one was away, and has finished.
  if (current.status().IsNotFound()) return Status::Busy(lost + "another writer" + consequence);
  if (!current.ok()) return current.status();
  const Record r = Parse(*current);
  if (r.token != token_) return Status::Busy(lost + Describe(r) + consequence);
  return PutRecord();
}

// Thread entry point: nothing may escape it.
void WriterLease::HeartbeatLoop() {
  try {
    const auto period = std::max<std::chrono::milliseconds>(
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.stale_after) / 4,
        std::chrono::milliseconds(250));
    std::string last_warning;
    std::unique_lock lock(mu_);
    while (!stop_cv_.wait_for(lock, period, [this] { return stopping_; })) {
      lock.unlock();
      Status s = Heartbeat();
      lock.lock();
      if (s.code() == StatusCode::kBusy) {
        lost_ = s;
        DCMFS_LOG(Error) << s.ToString();
        return;
      }
      // A store that is away: the lease may go stale meanwhile; the next
      // heartbeat finds out whether someone took it.
      if (!s.ok() && s.message() != last_warning) {
        DCMFS_LOG(Warning) << "writer lease heartbeat: " << s.ToString();
      }
      last_warning = s.ok() ? "" : s.message();
    }
  } catch (const std::exception& e) {
    DCMFS_LOG(Error) << "writer lease heartbeat stopped: " << e.what();
  }
}

}  // namespace dcmfs
