#include "fs/bagit/archive_manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace dcmfs {
namespace {

// An unlinked temporary file holding the text, read with pread.
class TempFileContent final : public DerivedContent {
 public:
  TempFileContent(int fd, uint64_t size) : fd_(fd), size_(size) {}
  ~TempFileContent() override { close(fd_); }
  uint64_t size() const override { return size_; }
  uint64_t memory_bytes() const override { return 0; }
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) const override {
    if (offset >= size_) return size_t{0};
    const ssize_t n = pread(fd_, out.data(), std::min<uint64_t>(out.size(), size_ - offset),
                            static_cast<off_t>(offset));
    if (n < 0) return Status::FromErrno("reading the archive manifest", errno);
    return static_cast<size_t>(n);
  }

 private:
  const int fd_;
  const uint64_t size_;
};

// Buffered appends to a file descriptor.
class Writer {
 public:
  explicit Writer(int fd) : fd_(fd) {}
  Status Append(std::string_view text) {
    buffer_ += text;
    return buffer_.size() >= (1u << 20) ? Flush() : Status::Ok();
  }
  Status Flush() {
    size_t done = 0;
    while (done < buffer_.size()) {
      const ssize_t n = write(fd_, buffer_.data() + done, buffer_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno("writing the archive manifest", errno);
      done += static_cast<size_t>(n);
    }
    written_ += buffer_.size();
    buffer_.clear();
    return Status::Ok();
  }
  uint64_t written() const { return written_; }

 private:
  const int fd_;
  std::string buffer_;
  uint64_t written_ = 0;
};

// The folders below `parent` (patients, studies or series), in name order.
Result<std::vector<DirEntry>> Folders(const Catalog& catalog, InodeId parent) {
  std::vector<DirEntry> out;
  RETURN_IF_ERROR(catalog.List(parent, "", [&](const DirEntry& e) {
    if (e.kind != NodeKind::kInstance) out.push_back(e);
    return true;
  }));
  return out;
}

// Every instance line below the folder `ino` at `path` (three levels deep
// from /patients: patient, study, series).
Status WalkFolder(const Catalog& catalog, InodeId ino, const std::string& path, int depth,
                  Writer& out) {
  if (depth == 3) {
    Status written = Status::Ok();
    RETURN_IF_ERROR(catalog.List(ino, "", [&](const DirEntry& e) {
      if (e.kind != NodeKind::kInstance) return true;
      written = out.Append(Sha256SumLine(e.ref, path + "/" + e.name));
      return written.ok();
    }));
    return written;
  }
  ASSIGN_OR_RETURN(std::vector<DirEntry> folders, Folders(catalog, ino));
  for (const DirEntry& f : folders) {
    RETURN_IF_ERROR(WalkFolder(catalog, f.ino, path + "/" + f.name, depth + 1, out));
  }
  return Status::Ok();
}

std::string CountsKey(const Catalog::Counts& c) {
  return std::to_string(c.patients) + "/" + std::to_string(c.studies) + "/" +
         std::to_string(c.series) + "/" + std::to_string(c.instances) + "/" +
         std::to_string(c.bytes);
}

}  // namespace

std::string Sha256SumLine(std::string_view hex, std::string_view path) {
  std::string escaped;
  bool escape = false;
  for (char c : path) {
    if (c == '\\') escaped += "\\\\", escape = true;
    else if (c == '\n') escaped += "\\n", escape = true;
    else if (c == '\r') escaped += "\\r", escape = true;
    else escaped += c;
  }
  return (escape ? "\\" : "") + std::string(hex) + "  " + escaped + "\n";
}

Result<std::shared_ptr<DerivedContent>> ArchiveManifest::Current() {
  ASSIGN_OR_RETURN(Catalog::Counts counts, catalog_.GetCounts());
  const std::string key = CountsKey(counts);
  std::lock_guard lock(mu_);
  if (current_ != nullptr && built_for_ == key) return current_;
  ASSIGN_OR_RETURN(current_, Build());
  built_for_ = key;
  return current_;
}

Result<std::shared_ptr<DerivedContent>> ArchiveManifest::Build() const {
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  const int fd = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno("temporary file in " + dir + " for the archive manifest", errno);
  Writer out(fd);
  Status walked = WalkFolder(catalog_, kPatientsIno, "patients", 0, out);
  if (walked.ok()) walked = out.Flush();
  if (!walked.ok()) {
    close(fd);
    return walked;
  }
  return std::shared_ptr<DerivedContent>(std::make_shared<TempFileContent>(fd, out.written()));
}

}  // namespace dcmfs
