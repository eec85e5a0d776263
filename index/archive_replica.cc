#include "index/archive_replica.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "index/archive_layout.h"
#include "index/index_log.h"
#include "index/store_config.h"
#include "index/writer_lease.h"

namespace dcmfs {
namespace {

std::string MarkerPath(const std::string& root) { return root + "/REPLICA"; }

}  // namespace

bool IsReplicaArchive(const std::string& root) {
  struct stat st;
  return ::stat(MarkerPath(root).c_str(), &st) == 0;
}

Status MarkReplicaArchive(const std::string& root) {
  const std::string path = MarkerPath(root);
  const std::string text =
      "This archive folder follows an archive kept on an object store (store.conf) read-only:\n"
      "its index/ is a replica built from the store's index log. Mount it with `dcmfs mount`;\n"
      "ingest on the archive's writer.\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("create " + path, errno);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  return ok ? Status::Ok() : Status::FromErrno("write " + path, err);
}

namespace {

// Multipart uploads a killed writer (or one that lost the gateway) left
// open: parts nobody will complete, billed yet listed nowhere. With the lease
// held, every open upload is a dead writer's. Best effort: an archive whose
// store cannot list them is still writable.
void AbortDeadWritersUploads(ObjectStore& store) {
  for (const char* prefix : {"blobs/", "index/"}) {
    Result<size_t> aborted = store.AbortIncompleteUploads(prefix);
    if (!aborted.ok()) {
      DCMFS_LOG(Warning) << aborted.status().ToString();
    } else if (*aborted > 0) {
      DCMFS_LOG(Info) << store.Describe(prefix) << ": aborted " << *aborted
                      << " incomplete multipart upload(s) left by an earlier writer";
    }
  }
}

}  // namespace

Status PrepareArchiveWriter(const std::string& root, CatalogOptions* options) {
  ASSIGN_OR_RETURN(std::shared_ptr<ObjectStore> store, OpenArchiveObjectStore(root));
  if (IsReplicaArchive(root)) {
    const std::string where = store ? store->Describe("") : root;
    return Status::InvalidArgument(root + " follows " + where +
                                   " read-only (a replica made by `dcmfs attach`); ingest on "
                                   "the archive's writer");
  }
  if (!store) return Status::Ok();
  // The lease first: a second writer must not write even the secret.
  ASSIGN_OR_RETURN(StoreConfig config, LoadStoreConfig(ArchiveLayout{root}));
  WriterLeaseOptions lease;
  lease.stale_after = std::chrono::seconds(config.writer_stale_seconds);
  lease.force = options->publish.force_writer;
  ASSIGN_OR_RETURN(options->publish.lease, WriterLease::Acquire(store, lease));
  AbortDeadWritersUploads(*store);
  Status shared = ShareArchiveSecret(*store, ArchiveLayout{root}.secret());
  if (!shared.ok() && !shared.IsNotFound()) return shared.WithContext("the archive secret");
  options->publish.store = std::move(store);
  return Status::Ok();
}

Result<std::unique_ptr<Catalog>> OpenArchiveReplica(const std::string& root) {
  ASSIGN_OR_RETURN(std::shared_ptr<ObjectStore> store, OpenArchiveObjectStore(root));
  if (!store) {
    return Status::InvalidArgument(root + "/store.conf: a replica archive needs the store it "
                                   "follows");
  }
  const ArchiveLayout layout{root};
  Status secret = FetchArchiveSecret(*store, layout.secret());
  if (!secret.ok()) {
    DCMFS_LOG(Warning) << "archive secret: " << secret.ToString()
                       << " (/anonymized needs it; the writer uploads it at its next ingest)";
  }
  ReplicaOptions o;
  o.log.store = std::move(store);
  o.index_path = layout.index();
  return OpenReplicaCatalog(o);
}

}  // namespace dcmfs
