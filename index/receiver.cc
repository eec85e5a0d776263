#include "index/receiver.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "base/log.h"
#include "codecs/dicom_parse.h"
#include "index/internal/image_headers.h"

namespace dcmfs {
namespace {

// Files at least this large are hashed, parsed and compressed from disk in
// steps (as IngestOptions::stream_threshold_bytes) so memory stays bounded.
constexpr uint64_t kStreamThreshold = 64ull << 20;

Result<std::string> ReadWhole(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(path, errno);
  std::string bytes;
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) bytes.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::FromErrno(path, err);
    }
    if (n == 0) break;
    bytes.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return bytes;
}

Result<std::pair<Digest, uint64_t>> HashWhole(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(path, errno);
  Sha256Stream sha;
  uint64_t size = 0;
  std::vector<uint8_t> buf(1 << 20);
  while (true) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::FromErrno(path, err);
    }
    if (n == 0) break;
    sha.Update({buf.data(), static_cast<size_t>(n)});
    size += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return std::make_pair(sha.Finish(), size);
}

bool HasPlacingUids(const InstanceMeta& m) {
  return !m.study_uid.empty() && !m.series_uid.empty() && !m.sop_uid.empty();
}
constexpr char kMissingUids[] = "missing StudyInstanceUID, SeriesInstanceUID or SOPInstanceUID";

ReceiveResult Quarantined(std::string reason, std::string kept_as) {
  ReceiveResult r;
  r.outcome = ReceiveOutcome::kQuarantined;
  r.reason = std::move(reason);
  r.kept_as = std::move(kept_as);
  return r;
}

}  // namespace

Receiver::Receiver(Catalog& catalog, BlobStore& blobs, std::string quarantine_dir)
    : catalog_(catalog), blobs_(blobs), quarantine_(std::move(quarantine_dir)) {}

Result<ReceiveResult> Receiver::ReceiveFile(const std::string& path, std::string_view source) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(path, errno);
  Result<ReceiveResult> r = static_cast<uint64_t>(st.st_size) >= kStreamThreshold
                                ? ReceiveLarge(path, source)
                                : ReceiveSmall(path, source);
  if (r.ok()) {
    switch (r->outcome) {
      case ReceiveOutcome::kNew: ++new_, bytes_ += r->size; break;
      case ReceiveOutcome::kNewConflicting: ++new_, ++conflicts_, bytes_ += r->size; break;
      case ReceiveOutcome::kAlreadyPresent: ++present_; break;
      case ReceiveOutcome::kQuarantined:
        ++quarantined_;
        DCMFS_LOG(Warning) << "receive: " << source << " quarantined: " << r->reason;
        break;
    }
  }
  return r;
}

Result<ReceiveResult> Receiver::ReceiveSmall(const std::string& path, std::string_view source) {
  ASSIGN_OR_RETURN(std::string bytes, ReadWhole(path));
  const std::span<const uint8_t> view(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (bytes.empty()) {
    ASSIGN_OR_RETURN(std::string kept, quarantine_.Keep(source, view, "empty file"));
    return Quarantined("empty file", kept);
  }
  const Digest digest = Sha256(view);
  Result<InstanceMeta> meta = ParseDicom(view);
  std::string refused = !meta.ok() ? meta.status().message()
                                   : (HasPlacingUids(*meta) ? "" : kMissingUids);
  if (!refused.empty()) {
    ASSIGN_OR_RETURN(std::string kept, quarantine_.Keep(source, view, refused));
    return Quarantined(refused, kept);
  }
  RETURN_IF_ERROR(blobs_.Put(digest, view).status());
  return Index(digest, bytes.size(), *meta, internal::HeaderToRecord(*meta, view));
}

Result<ReceiveResult> Receiver::ReceiveLarge(const std::string& path, std::string_view source) {
  ASSIGN_OR_RETURN(auto hashed, HashWhole(path));
  const auto [digest, size] = hashed;
  Result<InstanceMeta> meta = ParseDicomFile(path);
  std::string refused = !meta.ok() ? meta.status().message()
                                   : (HasPlacingUids(*meta) ? "" : kMissingUids);
  if (!refused.empty()) {
    ASSIGN_OR_RETURN(std::string kept, quarantine_.KeepFile(source, path, refused));
    return Quarantined(refused, kept);
  }
  RETURN_IF_ERROR(blobs_.PutFile(digest, path).status());
  return Index(digest, size, *meta, internal::HeaderToRecordFile(*meta, path));
}

Result<ReceiveResult> Receiver::Index(const Digest& digest, uint64_t size,
                                      const InstanceMeta& meta,
                                      const std::optional<ImageHeader>& header) {
  ASSIGN_OR_RETURN(AddResult added,
                   catalog_.AddInstance(digest, size, meta, header ? &*header : nullptr));
  ++writes_;
  RETURN_IF_ERROR(MakeDurable());
  ReceiveResult r;
  r.digest_hex = ToHex(digest);
  r.size = size;
  switch (added.outcome) {
    case AddOutcome::kNew: r.outcome = ReceiveOutcome::kNew; break;
    case AddOutcome::kAlreadyPresent: r.outcome = ReceiveOutcome::kAlreadyPresent; break;
    case AddOutcome::kNewConflicting: r.outcome = ReceiveOutcome::kNewConflicting; break;
  }
  return r;
}

// Group commit: the caller's write is counted before it gets here; whoever
// holds sync_mu_ syncs everything written so far, and a caller that finds its
// write already covered returns without a sync of its own.
Status Receiver::MakeDurable() {
  const uint64_t mine = writes_.load();
  std::lock_guard lock(sync_mu_);
  if (synced_ >= mine) return Status::Ok();
  const uint64_t target = writes_.load();
  RETURN_IF_ERROR(catalog_.Flush());
  ++syncs_;
  synced_ = target;
  return Status::Ok();
}

ReceiverCounters Receiver::counters() const {
  ReceiverCounters c;
  c.new_instances = new_;
  c.already_present = present_;
  c.conflicts = conflicts_;
  c.quarantined = quarantined_;
  c.bytes = bytes_;
  c.wal_syncs = syncs_;
  return c;
}

}  // namespace dcmfs
