#include "fs/incoming/incoming_writer.h"

#include <filesystem>

#include "base/log.h"
#include "index/archive_layout.h"
#include "index/archive_replica.h"
#include "index/blob_store.h"
#include "index/catalog.h"

namespace dcmfs {

// Destruction order: the receiver, then the stores it writes to.
struct IncomingWriter::Own {
  std::unique_ptr<Catalog> catalog;
  std::unique_ptr<BlobStore> blobs;
  std::unique_ptr<Receiver> receiver;
  ~Own() {
    receiver.reset();
    if (catalog) {
      Status s = catalog->Flush();
      if (!s.ok()) DCMFS_LOG(Warning) << "incoming: flushing the catalog: " << s.ToString();
    }
  }
};

IncomingWriter::IncomingWriter(std::string archive_root) : archive_root_(std::move(archive_root)) {}

IncomingWriter::~IncomingWriter() {
  std::lock_guard lock(mu_);
  CloseOwnLocked();
}

void IncomingWriter::Share(Receiver* receiver) {
  std::lock_guard lock(mu_);
  // A shared receiver means another part of this process is the writer:
  // ours must be closed first (it never is at that point in practice).
  if (receiver != nullptr) CloseOwnLocked();
  shared_ = receiver;
}

Status IncomingWriter::OpenOwnLocked() {
  const ArchiveLayout layout{archive_root_};
  auto own = std::make_unique<Own>();
  CatalogOptions catalog_options;
  RETURN_IF_ERROR(PrepareArchiveWriter(archive_root_, &catalog_options));
  catalog_options.path = layout.index();
  Result<std::unique_ptr<Catalog>> catalog = Catalog::Open(catalog_options);
  if (!catalog.ok()) return catalog.status();
  own->catalog = std::move(catalog).value();
  LocalBlobStoreOptions blob_options;
  blob_options.dir = layout.blobs();
  ASSIGN_OR_RETURN(own->blobs, OpenArchiveBlobStore(layout, blob_options));
  std::error_code ec;
  std::filesystem::create_directories(layout.quarantine(), ec);
  own->receiver = std::make_unique<Receiver>(*own->catalog, *own->blobs, layout.quarantine());
  own_ = std::move(own);
  DCMFS_LOG(Info) << "incoming: opened the catalog writer";
  return Status::Ok();
}

void IncomingWriter::CloseOwnLocked() {
  if (!own_) return;
  own_.reset();
  DCMFS_LOG(Info) << "incoming: closed the catalog writer";
}

Result<ReceiveResult> IncomingWriter::Receive(const std::string& path, std::string_view source) {
  std::lock_guard lock(mu_);
  last_used_ = std::chrono::steady_clock::now();
  if (shared_ != nullptr) return shared_->ReceiveFile(path, source);
  if (!own_) RETURN_IF_ERROR(OpenOwnLocked());
  return own_->receiver->ReceiveFile(path, source);
}

void IncomingWriter::CloseIfIdle(std::chrono::steady_clock::duration idle) {
  std::lock_guard lock(mu_);
  if (own_ && std::chrono::steady_clock::now() - last_used_ >= idle) CloseOwnLocked();
}

bool IncomingWriter::holds_writer() const {
  std::lock_guard lock(mu_);
  return own_ != nullptr;
}

}  // namespace dcmfs
