#include "tools/commands.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "codecs/synthetic.h"
#include "fs/anonymized/secret.h"
#include "index/archive_layout.h"
#include "index/archive_replica.h"
#include "index/index_log.h"
#include "index/blob_store.h"
#include "index/catalog.h"
#include "index/derived_cache.h"
#include "index/ingest.h"
#include "index/maintenance.h"
#include "tools/ingest_sources.h"
#include "tools/scp_stats_file.h"

namespace dcmfs::tools {
namespace {

int Fail(const dcmfs::Status& status) {
  std::cerr << "dcmfs: " << status.ToString() << "\n";
  return kExitFailure;
}

// "files 120/4000  35.2 MB/s  ETA 0:42" on one rewritten stderr line.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled), start_(Clock::now()) {}
  ~ProgressBar() { Finish(); }
  void Update(const IngestProgress& p) {
    if (!enabled_) return;
    std::lock_guard lock(mu_);  // the callback may come from worker threads
    auto now = Clock::now();
    if (now - last_ < std::chrono::milliseconds(100) && p.files_done != p.files_total) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    double mbps = secs > 0 ? p.bytes_done / 1e6 / secs : 0;
    char line[160];
    if (p.files_total == 0) {
      std::snprintf(line, sizeof line, "\rfiles %llu (finding files...)  %.1f MB/s   ",
                    static_cast<unsigned long long>(p.files_done), mbps);
    } else {
      double rate = secs > 0 ? p.files_done / secs : 0;
      long eta = rate > 0 ? static_cast<long>((p.files_total - p.files_done) / rate) : 0;
      std::snprintf(line, sizeof line, "\rfiles %llu/%llu  %.1f MB/s  ETA %ld:%02ld   ",
                    static_cast<unsigned long long>(p.files_done),
                    static_cast<unsigned long long>(p.files_total), mbps, eta / 60, eta % 60);
    }
    std::fputs(line, stderr);
    drawn_ = true;
  }
  void Finish() {
    std::lock_guard lock(mu_);
    if (drawn_) std::fputs("\n", stderr);
    drawn_ = false;
  }

 private:
  using Clock = std::chrono::steady_clock;
  const bool enabled_;
  const Clock::time_point start_;
  std::mutex mu_;
  Clock::time_point last_{};
  bool drawn_ = false;
};

void PrintIngestReport(const IngestReport& r) {
  std::cout << "files:           " << r.files << " (" << r.bytes / 1e6 << " MB)\n"
            << "new instances:   " << r.new_instances << "\n"
            << "already present: " << r.already_present << "\n"
            << "conflicts:       " << r.conflicts.size()
            << " (same SOP Instance UID, different bytes: both kept)\n"
            << "quarantined:     " << r.quarantined.size() << "\n";
  for (const ConflictNote& c : r.conflicts) {
    std::cout << "  conflict: " << c.source << ": SOP Instance UID " << c.sop_uid
              << " already stored with other bytes; new digest " << c.digest_hex << "\n";
  }
  for (const QuarantineNote& q : r.quarantined) {
    std::cout << "  quarantined: " << q.source << ": " << q.reason;
    if (!q.kept_as.empty()) std::cout << " (kept as " << q.kept_as << ")";
    std::cout << "\n";
  }
}

}  // namespace

int Ingest(const IngestArgs& args) {
  ArchiveLayout layout{args.archive};
  // Refuses a replica (read-only); on an object store, publishes the index
  // log and shares the archive secret (docs/semantics.md, "One archive, many mounts").
  CatalogOptions catalog_options;
  catalog_options.publish.force_writer = args.force_writer;
  dcmfs::Status writer = PrepareArchiveWriter(layout.root, &catalog_options);
  if (!writer.ok()) return Fail(writer.WithContext("ingest"));
  std::error_code ec;
  for (const std::string& dir : {layout.root, layout.blobs(), layout.quarantine()}) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return Fail(dcmfs::Status::IoError("cannot create " + dir + ": " + ec.message()));
  }
  // The anonymized view's key is made with the archive, by the process that
  // owns the archive, so a mount (perhaps another user's) never has to.
  Result<std::string> secret = LoadOrCreateArchiveSecret(layout.root);
  if (!secret.ok()) return Fail(secret.status().WithContext("the archive secret"));
  if (catalog_options.publish.store) {
    dcmfs::Status shared = ShareArchiveSecret(*catalog_options.publish.store, layout.secret());
    if (!shared.ok()) return Fail(shared.WithContext("sharing the archive secret"));
  }
  catalog_options.path = layout.index();
  catalog_options.create_if_missing = true;
  Result<std::unique_ptr<Catalog>> catalog = Catalog::Open(catalog_options);
  if (!catalog.ok() && catalog.status().code() == dcmfs::StatusCode::kBusy) {
    return Fail(catalog.status().WithContext(
        "another ingest or a reindex is writing this archive (one writer at a time)"));
  }
  if (!catalog.ok()) return Fail(catalog.status().WithContext("opening the catalog"));
  LocalBlobStoreOptions blob_options;
  blob_options.dir = layout.blobs();
  Result<std::unique_ptr<BlobStore>> blobs = OpenArchiveBlobStore(layout, blob_options);
  if (!blobs.ok()) return Fail(blobs.status().WithContext("opening the blob store"));
  Quarantine quarantine(layout.quarantine());

  IngestOptions options;
  options.threads = args.threads > 0 ? args.threads
                                     : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Zip archives and DICOMDIR media are expanded first (tools/ingest_sources.h).
  Result<IngestSources> sources = IngestSources::Prepare(args.paths, layout.tmp());
  if (!sources.ok()) return Fail(sources.status().WithContext("reading zip archives"));
  ProgressBar bar(args.progress && isatty(STDERR_FILENO));
  Result<IngestReport> report = IngestPaths(**catalog, **blobs, quarantine, sources->paths(),
                                            options,
                                            [&](const IngestProgress& p) { bar.Update(p); });
  bar.Finish();
  if (!report.ok()) return Fail(report.status().WithContext("ingest"));
  sources->Annotate(*report);
  if (!sources->Summary().empty()) std::cout << sources->Summary() << "\n";
  dcmfs::Status flushed = (*catalog)->Flush();
  if (!flushed.ok()) return Fail(flushed.WithContext("flushing the catalog"));
  PrintIngestReport(*report);
  return report->complete() ? kExitOk : kExitPartial;
}

int Mount(const MountOptions& options) {
  dcmfs::Status s = RunMount(options);
  return s.ok() ? kExitOk : Fail(s);
}

int Reindex(const std::string& archive, bool force_writer) {
  CatalogOptions publish;
  publish.publish.force_writer = force_writer;
  dcmfs::Status writer = PrepareArchiveWriter(archive, &publish);
  if (!writer.ok()) return Fail(writer.WithContext("reindex"));
  Result<ReindexReport> r = dcmfs::Reindex(archive);
  if (!r.ok()) return Fail(r.status().WithContext("reindex"));
  if (publish.publish.store) {
    // The rebuilt index is a new database: its first publication is a
    // checkpoint, which replicas switch to.
    publish.path = ArchiveLayout{archive}.index();
    Result<std::unique_ptr<Catalog>> rebuilt = Catalog::Open(publish);
    dcmfs::Status published = rebuilt.ok() ? (*rebuilt)->Publish() : rebuilt.status();
    if (!published.ok()) return Fail(published.WithContext("publishing the rebuilt index"));
  }
  std::cout << "blobs: " << r->blobs << "\ninstances: " << r->instances
            << "\nproblems: " << r->problems.size() << "\n";
  for (const std::string& p : r->problems) std::cout << "  " << p << "\n";
  return r->problems.empty() ? kExitOk : kExitFailure;
}

int Verify(const std::string& archive) {
  Result<VerifyReport> r = dcmfs::Verify(archive);
  if (!r.ok()) return Fail(r.status().WithContext("verify"));
  std::cout << "blobs checked: " << r->blobs_checked << " (" << r->bytes_checked / 1e6
            << " MB)\nproblems: " << r->problems.size() << "\n";
  for (const VerifyProblem& p : r->problems) {
    std::cout << "  " << p.location << ": " << p.reason;
    if (!p.instance.empty()) std::cout << " [" << p.instance << "]";
    std::cout << "\n";
  }
  if (!r->unindexed.empty()) {
    std::cout << "unindexed blobs (intact; `dcmfs reindex` lists them): " << r->unindexed.size()
              << "\n";
    for (const VerifyProblem& p : r->unindexed) std::cout << "  " << p.location << "\n";
  }
  return r->ok() ? kExitOk : kExitFailure;
}

int CacheStats(const std::string& archive) {
  Result<DerivedCacheStats> s = ReadDerivedCacheStats(ArchiveLayout{archive}.cache());
  if (!s.ok()) return Fail(s.status().WithContext("cache-stats"));
  std::cout << "entries:   " << s->entries << "\nbytes:     " << s->bytes
            << "\nmax_bytes: " << s->max_bytes << "\nhits:      " << s->hits
            << "\nmisses:    " << s->misses << "\nevictions: " << s->evictions << "\n";
  return kExitOk;
}

int ShowStatus(const std::string& archive) {
  CatalogOptions options;
  options.path = ArchiveLayout{archive}.index();
  options.read_only_follower = true;  // works while an ingest or a mount runs
  Result<std::unique_ptr<Catalog>> catalog = Catalog::Open(options);
  if (!catalog.ok()) return Fail(catalog.status().WithContext("opening the catalog"));
  Result<Catalog::Counts> c = (*catalog)->GetCounts();
  if (!c.ok()) return Fail(c.status());
  std::cout << "patients:  " << c->patients << "\nstudies:   " << c->studies
            << "\nseries:    " << c->series << "\ninstances: " << c->instances
            << "\nbytes:     " << c->bytes << "\n";
  const ArchiveLayout layout{archive};
  Result<DerivedCacheStats> cache = ReadDerivedCacheStats(layout.cache());
  if (cache.ok()) {
    std::cout << "cache:     " << cache->entries << " derived files, " << cache->bytes << " of "
              << cache->max_bytes << " bytes; " << cache->hits << " hits, " << cache->misses
              << " misses, " << cache->evictions << " evictions\n";
  }
  std::cout << ScpStatusLines(layout.scp_stats());
  return kExitOk;
}

int Synth(const SynthArgs& args) {
  SyntheticOptions options;
  options.out_dir = args.out_dir;
  options.rows = args.rows;
  options.columns = args.columns;
  options.ct_slices = args.ct_slices;
  options.mr_slices = args.mr_slices;
  options.seed = args.seed;
  Result<std::vector<SyntheticFile>> files = WriteSyntheticSet(options);
  if (!files.ok()) return Fail(files.status().WithContext("synth"));
  std::cout << "wrote " << files->size() << " files under " << args.out_dir << "\n";
  return kExitOk;
}

}  // namespace dcmfs::tools
