// Reindex and Verify (index/maintenance.h).
//
// Reindex trusts nothing but the blobs: each blob's name is the SHA-256 of its
// original bytes, and those bytes are a DICOM file, so the whole index can be
// rebuilt from them. It builds ARCHIVE/index.rebuild, then swaps:
//   rename index -> index.old; rename index.rebuild -> index; remove index.old.
// A crash after the first rename leaves no "index" but an "index.old": the
// next writer open (internal/db.cc) renames it back, so the archive always
// has a complete index, old or new. A leftover index.old beside a complete
// index is removed by the next Reindex.
#include "index/maintenance.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <vector>

#include "base/log.h"
#include "codecs/dicom_parse.h"
#include "index/archive_layout.h"
#include "index/blob_store.h"
#include "index/catalog.h"
#include "index/internal/image_headers.h"
#include "index/naming.h"
#include "index/store_config.h"

namespace dcmfs {
namespace {

namespace stdfs = std::filesystem;

constexpr size_t kVerifyChunk = 4u << 20;

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Status RemoveAll(const std::string& path) {
  std::error_code ec;
  stdfs::remove_all(path, ec);
  if (ec) return Status::IoError("remove " + path + ": " + ec.message());
  return Status::Ok();
}

Status SyncDir(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open " + path, errno);
  const bool ok = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  return ok ? Status::Ok() : Status::FromErrno("fsync " + path, err);
}

// The archive's blobs wherever store.conf says they are (a local folder by default).
Result<std::unique_ptr<BlobStore>> OpenBlobs(const ArchiveLayout& layout, size_t frame_cache) {
  ASSIGN_OR_RETURN(StoreConfig config, LoadStoreConfig(layout));
  if (config.backend == StoreConfig::Backend::kLocal && !stdfs::is_directory(layout.blobs())) {
    return Status::NotFound("no blob store at " + layout.blobs());
  }
  LocalBlobStoreOptions options;
  options.dir = layout.blobs();
  options.frame_cache_bytes = frame_cache;
  return OpenArchiveBlobStore(layout, options);
}

// Indexes one blob into `catalog`; a problem string when it cannot, "" when done.
Result<std::string> IndexBlob(const BlobStore& blobs, Catalog& catalog, const Digest& digest) {
  const std::string where = blobs.Locate(digest);
  auto bytes = blobs.ReadAll(digest);
  if (!bytes.ok()) return where + ": undecodable, not indexed: " + bytes.status().message();
  if (Sha256(AsBytes(*bytes)) != digest) return where + ": hash mismatch, not indexed";
  auto meta = ParseDicom(AsBytes(*bytes));
  if (!meta.ok()) return where + ": not indexable: " + meta.status().message();
  const std::optional<ImageHeader> header = internal::HeaderToRecord(*meta, AsBytes(*bytes));
  auto added = catalog.AddInstance(digest, bytes->size(), *meta, header ? &*header : nullptr);
  if (added.ok()) return std::string();
  if (added.status().code() == StatusCode::kInvalidArgument) {
    return where + ": not indexable: " + added.status().message();
  }
  return added.status();
}

Status SwapIn(const ArchiveLayout& layout) {
  const std::string live = layout.index(), rebuilt = live + ".rebuild", old = live + ".old";
  RETURN_IF_ERROR(RemoveAll(old));
  if (stdfs::exists(live) && ::rename(live.c_str(), old.c_str()) != 0) {
    return Status::FromErrno("rename " + live, errno);
  }
  if (::rename(rebuilt.c_str(), live.c_str()) != 0) return Status::FromErrno("rename " + rebuilt, errno);
  RETURN_IF_ERROR(SyncDir(layout.root));
  return RemoveAll(old);
}

}  // namespace

Result<ReindexReport> Reindex(const std::string& archive_root) {
  const ArchiveLayout layout{archive_root};
  // Holding the live index as its writer keeps an ingest out until the swap
  // (Busy if one is running now). Opening also restores an interrupted swap.
  std::unique_ptr<Catalog> live;
  {
    CatalogOptions o;
    o.path = layout.index();
    auto opened = Catalog::Open(o);
    if (opened.ok()) {
      live = std::move(opened).value();
    } else if (opened.status().code() == StatusCode::kBusy) {
      return opened.status();
    }  // missing or damaged: that is what reindex is for
  }
  ASSIGN_OR_RETURN(std::unique_ptr<BlobStore> blobs, OpenBlobs(layout, 16u << 20));
  RETURN_IF_ERROR(blobs->CleanupTemporaries());
  const std::string rebuilt = layout.index() + ".rebuild";
  RETURN_IF_ERROR(RemoveAll(rebuilt));

  ReindexReport report;
  {
    CatalogOptions o;
    o.path = rebuilt;
    o.create_if_missing = true;
    ASSIGN_OR_RETURN(std::unique_ptr<Catalog> catalog, Catalog::Open(o));
    // Streams the blob folder: memory does not grow with the archive.
    Status failed;
    RETURN_IF_ERROR(blobs->ForEach([&](const Digest& digest) {
      ++report.blobs;
      auto problem = IndexBlob(*blobs, *catalog, digest);
      if (!problem.ok()) {
        failed = problem.status();
        return false;
      }
      if (problem->empty()) {
        ++report.instances;
      } else {
        report.problems.push_back(std::move(*problem));
      }
      return true;
    }));
    RETURN_IF_ERROR(failed);
    RETURN_IF_ERROR(catalog->Flush());
  }
  live.reset();
  RETURN_IF_ERROR(SwapIn(layout));
  DCMFS_LOG(Info) << "reindex: " << report.blobs << " blobs, " << report.instances
                  << " instances, " << report.problems.size() << " problems";
  return report;
}

namespace {

// "SOP <uid> at /studies/<study>/<series>/<file>" for messages.
std::string DescribeInstance(const Catalog& catalog, const InstanceRecord& rec) {
  const std::string hex = ToHex(rec.digest);
  std::string study_uid = rec.meta.study_uid;
  if (auto series = catalog.GetSeries(rec.meta.series_uid); series.ok()) study_uid = series->study_uid;
  std::string file = SafeName(rec.meta.sop_uid, "instance") + ".dcm";
  auto entry = catalog.Lookup(InodeFor(NodeKind::kSeries, View::kStudies, rec.meta.series_uid), file);
  if (!entry.ok() || entry->ref != hex) file = WithClashSuffix(file, hex);
  return "SOP " + rec.meta.sop_uid + " at /studies/" + SafeName(study_uid, "study") + "/" +
         SafeName(rec.meta.series_uid, "series") + "/" + file;
}

// Streams a blob through its seek table and frames (bounded memory) and
// re-hashes it; "" when it is intact, else the reason.
std::string CheckBlob(const BlobStore& blobs, const Digest& digest, uint64_t* bytes_read) {
  auto reader = blobs.Open(digest);
  if (!reader.ok()) return "undecodable: " + reader.status().message();
  Sha256Stream hash;
  std::vector<uint8_t> buf(kVerifyChunk);
  uint64_t offset = 0;
  while (offset < (*reader)->size()) {
    auto n = (*reader)->ReadAt(offset, buf);
    if (!n.ok()) return "undecodable: " + n.status().message();
    if (*n == 0) return "undecodable: shorter than its seek table says";
    hash.Update(std::span<const uint8_t>(buf.data(), *n));
    offset += *n;
  }
  *bytes_read += offset;
  if (hash.Finish() != digest) return "hash mismatch";
  return "";
}

}  // namespace

Result<VerifyReport> Verify(const std::string& archive_root) {
  const ArchiveLayout layout{archive_root};
  ASSIGN_OR_RETURN(std::unique_ptr<BlobStore> blobs, OpenBlobs(layout, 4u << 20));
  CatalogOptions o;
  o.path = layout.index();
  o.read_only_follower = true;  // runs beside a mount or an ingest
  auto opened = Catalog::Open(o);
  if (!opened.ok() && !opened.status().IsNotFound()) return opened.status();
  // Without an index the blobs' fixity is still checked (that is what a
  // preservation audit needs most); the missing index is itself a problem.
  std::unique_ptr<Catalog> catalog = opened.ok() ? std::move(opened).value() : nullptr;

  VerifyReport report;
  if (catalog == nullptr) {
    report.problems.push_back(VerifyProblem{
        "index", "", "index missing: `dcmfs reindex` rebuilds it from the blobs"});
  }
  Status failed;
  RETURN_IF_ERROR(blobs->ForEach([&](const Digest& digest) {
    ++report.blobs_checked;
    const std::string reason = CheckBlob(*blobs, digest, &report.bytes_checked);
    if (catalog == nullptr) {
      if (!reason.empty()) report.problems.push_back({blobs->Locate(digest), "", reason});
      return true;
    }
    auto rec = catalog->GetInstance(digest);
    if (!reason.empty()) {
      report.problems.push_back(VerifyProblem{blobs->Locate(digest),
                                              rec.ok() ? DescribeInstance(*catalog, *rec) : "",
                                              reason});
    } else if (!rec.ok()) {
      report.unindexed.push_back(VerifyProblem{blobs->Locate(digest), "",
                                               "not indexed (dcmfs reindex picks it up)"});
    }
    return true;
  }));
  if (catalog == nullptr) return report;
  RETURN_IF_ERROR(catalog->ForEachInstance([&](const InstanceRecord& rec) {
    auto present = blobs->Contains(rec.digest);
    if (!present.ok()) {
      failed = present.status();
      return false;
    }
    if (!*present) {
      report.problems.push_back(VerifyProblem{blobs->Locate(rec.digest),
                                              DescribeInstance(*catalog, rec), "missing blob"});
    }
    return true;
  }));
  RETURN_IF_ERROR(failed);
  return report;
}

}  // namespace dcmfs
