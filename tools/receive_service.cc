#include "tools/receive_service.h"

#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <iostream>
#include <sstream>

#include "base/log.h"
#include "fs/anonymized/secret.h"
#include "index/archive_layout.h"
#include "index/archive_replica.h"
#include "index/index_log.h"
#include "index/blob_store.h"
#include "index/catalog.h"
#include "tools/commands.h"
#include "tools/scp_stats_file.h"
#include "tools/systemd_notify.h"

namespace dcmfs::tools {

// Destruction order matters: the SCP (whose threads call the receiver) goes
// first, then the receiver, then the stores it writes to.
struct ReceiveService::Parts {
  std::unique_ptr<Catalog> catalog;
  std::unique_ptr<BlobStore> blobs;
  std::unique_ptr<Receiver> receiver;
  std::unique_ptr<StorageScp> scp;
  std::unique_ptr<ScpStatsFile> stats_file;  // reset by ~ReceiveService, first
  ~Parts() {
    if (scp) scp->Stop();
    scp.reset();
    receiver.reset();
    if (catalog) catalog->Flush().ok();
  }
};

namespace {

Status PrepareArchive(const ArchiveLayout& layout) {
  std::error_code ec;
  for (const std::string& dir : {layout.root, layout.blobs(), layout.quarantine(), layout.tmp()}) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IoError("cannot create " + dir + ": " + ec.message());
  }
  return LoadOrCreateArchiveSecret(layout.root).status().WithContext("the archive secret");
}

// Received files left by a killed writer: never acknowledged, so never owed.
void CleanTemp(const ArchiveLayout& layout) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(layout.tmp(), ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().extension() == ".part") std::filesystem::remove(it->path(), ec);
  }
}

}  // namespace

ReceiveService::ReceiveService(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
ReceiveService::~ReceiveService() {
  // Its last write (running: false) reads the figures through this object.
  parts_->stats_file.reset();
}

Result<std::unique_ptr<ReceiveService>> ReceiveService::Start(const std::string& archive,
                                                              const ScpOptions& scp,
                                                              std::function<void()> on_stored) {
  const ArchiveLayout layout{archive};
  // First: refuses a replica, and adopts the store's secret if there is one.
  CatalogOptions catalog_options;
  RETURN_IF_ERROR(PrepareArchiveWriter(archive, &catalog_options));
  RETURN_IF_ERROR(PrepareArchive(layout));
  if (catalog_options.publish.store) {
    RETURN_IF_ERROR(ShareArchiveSecret(*catalog_options.publish.store, layout.secret()));
  }
  auto parts = std::make_unique<Parts>();
  catalog_options.path = layout.index();
  catalog_options.create_if_missing = true;
  Result<std::unique_ptr<Catalog>> catalog = Catalog::Open(catalog_options);
  if (!catalog.ok() && catalog.status().code() == StatusCode::kBusy) {
    return catalog.status().WithContext(
        "another writer (dcmfs ingest, reindex, scp, or a mount with --scp-port) holds this "
        "archive; one writer at a time");
  }
  if (!catalog.ok()) return catalog.status().WithContext("opening the catalog");
  parts->catalog = std::move(*catalog);
  LocalBlobStoreOptions blob_options;
  blob_options.dir = layout.blobs();
  ASSIGN_OR_RETURN(parts->blobs, OpenArchiveBlobStore(layout, blob_options));
  RETURN_IF_ERROR(parts->blobs->CleanupTemporaries());
  CleanTemp(layout);
  parts->receiver = std::make_unique<Receiver>(*parts->catalog, *parts->blobs, layout.quarantine());

  ScpOptions options = scp;
  options.temp_dir = layout.tmp();
  Receiver* receiver = parts->receiver.get();
  auto handler = [receiver, on_stored = std::move(on_stored)](const ReceivedInstance& in) -> Status {
    ASSIGN_OR_RETURN(ReceiveResult r, receiver->ReceiveFile(in.path, "scp:" + in.calling_aet));
    if (r.outcome == ReceiveOutcome::kQuarantined) {
      // Kept (nothing is lost), but the sender must know it was not archived.
      return Status::InvalidArgument("not a storable DICOM instance: " + r.reason);
    }
    if (on_stored && r.outcome != ReceiveOutcome::kAlreadyPresent) on_stored();
    return Status::Ok();
  };
  ASSIGN_OR_RETURN(parts->scp, StorageScp::Start(options, std::move(handler)));
  auto service = std::unique_ptr<ReceiveService>(new ReceiveService(std::move(parts)));
  // For `dcmfs status`, which runs in another process.
  const ReceiveService* raw = service.get();
  service->parts_->stats_file =
      std::make_unique<ScpStatsFile>(layout.scp_stats(), [raw] { return raw->StatsJson(); });
  return service;
}

ScpStats ReceiveService::scp_stats() const { return parts_->scp->stats(); }
ReceiverCounters ReceiveService::receiver_counters() const { return parts_->receiver->counters(); }
Receiver& ReceiveService::receiver() { return *parts_->receiver; }

std::string ReceiveService::StatsJson() const {
  const ScpStats s = scp_stats();
  const ReceiverCounters r = receiver_counters();
  std::ostringstream o;
  o << "{\"port\": " << parts_->scp->port()
    << ", \"associations_accepted\": " << s.associations_accepted
    << ", \"associations_rejected\": " << s.associations_rejected
    << ", \"associations_active\": " << s.associations_active << ", \"echoes\": " << s.echoes
    << ", \"stored\": " << s.stored << ", \"store_failures\": " << s.store_failures
    << ", \"aborted_transfers\": " << s.aborted_transfers
    << ", \"bytes_received\": " << s.bytes_received << ", \"new_instances\": " << r.new_instances
    << ", \"already_present\": " << r.already_present << ", \"conflicts\": " << r.conflicts
    << ", \"quarantined\": " << r.quarantined << ", \"wal_syncs\": " << r.wal_syncs << "}";
  return o.str();
}

namespace {

// Asks the mount's follower catalog to catch up soon after each stored
// instance, at most every 100 ms, on one thread of its own.
class CatchUpNudger {
 public:
  explicit CatchUpNudger(Filesystem& fs) : fs_(fs), thread_([this] { Loop(); }) {}
  ~CatchUpNudger() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Nudge() {
    {
      std::lock_guard lock(mu_);
      pending_ = true;
    }
    cv_.notify_one();
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return pending_ || stop_; });
      if (stop_) return;
      pending_ = false;
      lock.unlock();
      Status s = fs_.CatchUp();
      if (!s.ok()) DCMFS_LOG(Warning) << "scp: catch-up after a store: " << s.ToString();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      lock.lock();
    }
  }
  Filesystem& fs_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;  // GUARDED_BY(mu_)
  bool stop_ = false;     // GUARDED_BY(mu_)
  std::thread thread_;
};

// What the mount keeps alive: the nudger outlives the service that calls it.
// systemd hears READY=1 once the kernel mount (and the SCP) are up, and
// STOPPING=1 when the mount begins to wind down.
struct MountedServices {
  Filesystem* fs = nullptr;  // set while /incoming shares the service's receiver
  std::unique_ptr<CatchUpNudger> nudger;
  std::unique_ptr<ReceiveService> service;
  ~MountedServices() {
    NotifySystemd("STOPPING=1");
    // /incoming stops using the receiver (waiting for a store in progress)
    // before it goes away.
    if (fs != nullptr) fs->ShareReceiver(nullptr);
    service.reset();
  }
};

}  // namespace

std::function<Result<std::shared_ptr<void>>(Filesystem&)> MountHook(const std::string& archive,
                                                                   const ScpOptions& scp) {
  return [archive, scp](Filesystem& fs) -> Result<std::shared_ptr<void>> {
    auto mounted = std::make_shared<MountedServices>();
    if (scp.port != 0) {
      mounted->nudger = std::make_unique<CatchUpNudger>(fs);
      CatchUpNudger* nudger = mounted->nudger.get();
      ASSIGN_OR_RETURN(mounted->service,
                       ReceiveService::Start(archive, scp, [nudger] { nudger->Nudge(); }));
      fs.ShareReceiver(&mounted->service->receiver());
      mounted->fs = &fs;
      // Weak: the section must not keep the SCP alive past unmount.
      std::weak_ptr<MountedServices> weak = mounted;
      fs.SetStatsSection("scp", [weak]() -> std::string {
        std::shared_ptr<MountedServices> alive = weak.lock();
        return alive && alive->service ? alive->service->StatsJson() : "";
      });
    }
    NotifySystemd("READY=1");
    return std::shared_ptr<void>(mounted);
  };
}

int RunScpForeground(const std::string& archive, const ScpOptions& scp) {
  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and sigwait below is the one that takes them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  Result<std::unique_ptr<ReceiveService>> service = ReceiveService::Start(archive, scp);
  if (!service.ok()) {
    std::cerr << "dcmfs scp: " << service.status().ToString() << "\n";
    return kExitFailure;
  }
  std::cerr << "dcmfs scp: listening on port " << scp.port << " as " << scp.ae_title
            << " (Ctrl-C to stop)\n";
  NotifySystemd("READY=1");
  int sig = 0;
  sigwait(&stop, &sig);
  DCMFS_LOG(Info) << "scp: signal " << sig << ", stopping after the current transfers";
  std::cerr << "dcmfs scp: stopping; " << (*service)->StatsJson() << "\n";
  NotifySystemd("STOPPING=1");
  service->reset();
  return kExitOk;
}

}  // namespace dcmfs::tools
