#include "tools/bagit_export.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <iostream>
#include <utility>

#include "codecs/sha256.h"
#include "fs/bagit/bag_text.h"
#include "fs/filesystem.h"
#include "index/inode.h"
#include "tools/commands.h"

namespace dcmfs::tools {
namespace {

namespace stdfs = std::filesystem;

struct Child {
  std::string name;
  Entry entry;
  bool folder() const { return (entry.attr.mode & 0170000) == 0040000; }
};

// The children of folder `ino` (readdirplus: each counts as a lookup, so
// they may be opened next), in the order the filesystem lists them.
Result<std::vector<Child>> Children(Filesystem& fs, InodeId ino) {
  ASSIGN_OR_RETURN(std::unique_ptr<DirHandle> dir, fs.OpenDir(ino));
  std::vector<Child> out;
  RETURN_IF_ERROR(fs.ReadDir(*dir, 0, true, [&](const DirItem& item) {
    if (item.name != "." && item.name != "..") out.push_back({std::string(item.name), item.entry});
    return true;
  }));
  return out;
}

std::string Xattr(Filesystem& fs, InodeId ino, const char* name) {
  Result<std::optional<std::string>> v = fs.GetXattr(ino, std::string("user.dicom.") + name);
  return v.ok() && v->has_value() ? **v : "";
}

// Empty `wanted`: everything matches.
bool Matches(Filesystem& fs, const Child& c, const std::vector<std::string>& wanted,
             std::initializer_list<const char*> attributes) {
  if (wanted.empty()) return true;
  for (const std::string& w : wanted) {
    if (w == c.name) return true;
    for (const char* a : attributes) {
      if (w == Xattr(fs, c.entry.attr.ino, a)) return true;
    }
  }
  return false;
}

Status WriteText(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("create " + path, errno);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::FromErrno("write " + path, err);
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  return synced ? Status::Ok() : Status::FromErrno("fsync " + path, errno);
}

class Exporter {
 public:
  Exporter(Filesystem& fs, const BagitExportArgs& args, std::string root)
      : fs_(fs), args_(args), root_(std::move(root)) {}

  Status Run();
  const BagitExportReport& report() const { return report_; }

 private:
  Status Series(InodeId ino, const std::string& rel, bool& any);
  Result<BagPayloadFile> CopyFile(InodeId ino, const std::string& rel);

  Filesystem& fs_;
  const BagitExportArgs& args_;
  const std::string root_;  // DEST.partial
  std::vector<BagPayloadFile> files_;
  BagSummary summary_;
  BagitExportReport report_;
};

// Streams one file out of the filesystem into the bag, hashing as it goes.
Result<BagPayloadFile> Exporter::CopyFile(InodeId ino, const std::string& rel) {
  ASSIGN_OR_RETURN(std::unique_ptr<OpenFile> in, fs_.Open(ino));
  const std::string path = root_ + "/" + rel;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("create " + path, errno);
  std::vector<uint8_t> buf(1 << 20);
  Sha256Stream sha;
  uint64_t offset = 0;
  Status s;
  while (s.ok()) {
    Result<size_t> n = fs_.Read(*in, offset, buf);
    if (!n.ok()) {
      s = n.status().WithContext(rel);
      break;
    }
    if (*n == 0) break;
    sha.Update({buf.data(), *n});
    for (size_t done = 0; done < *n && s.ok();) {
      const ssize_t w = ::write(fd, buf.data() + done, *n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) s = Status::FromErrno("write " + path, errno);
      if (w > 0) done += static_cast<size_t>(w);
    }
    offset += *n;
  }
  ::close(fd);
  if (!s.ok()) return s;
  return BagPayloadFile{rel, ToHex(sha.Finish()), offset};
}

Status Exporter::Series(InodeId ino, const std::string& rel, bool& any) {
  ASSIGN_OR_RETURN(std::vector<Child> children, Children(fs_, ino));
  for (const Child& c : children) {
    // Instances only: the derived files (SHA256SUMS, series.nii, ...) are
    // computed views, not part of the archive's holdings.
    if (c.folder() || !c.name.ends_with(".dcm")) continue;
    if (!any) {
      std::error_code ec;
      stdfs::create_directories(root_ + "/" + rel, ec);
      if (ec) return Status::IoError("mkdir " + root_ + "/" + rel + ": " + ec.message());
      any = true;
    }
    ASSIGN_OR_RETURN(BagPayloadFile f, CopyFile(c.entry.attr.ino, rel + "/" + BagPathComponent(c.name)));
    report_.bytes += f.size;
    ++report_.instances;
    files_.push_back(std::move(f));
  }
  return Status::Ok();
}

Status Exporter::Run() {
  const InodeId top = args_.anonymized ? kAnonymizedIno : kPatientsIno;
  ASSIGN_OR_RETURN(std::vector<Child> patients, Children(fs_, top));
  for (const Child& p : patients) {
    if (!p.folder() || !Matches(fs_, p, args_.patients, {"PatientID"})) continue;
    bool patient_any = false;
    ASSIGN_OR_RETURN(std::vector<Child> studies, Children(fs_, p.entry.attr.ino));
    for (const Child& st : studies) {
      if (!st.folder() ||
          !Matches(fs_, st, args_.studies, {"StudyInstanceUID", "AccessionNumber"})) {
        continue;
      }
      bool study_any = false;
      ASSIGN_OR_RETURN(std::vector<Child> series, Children(fs_, st.entry.attr.ino));
      for (const Child& se : series) {
        if (!se.folder() || !Matches(fs_, se, args_.series, {"SeriesInstanceUID"})) continue;
        bool series_any = false;
        const std::string rel = "data/" + BagPathComponent(p.name) + "/" +
                                BagPathComponent(st.name) + "/" + BagPathComponent(se.name);
        RETURN_IF_ERROR(Series(se.entry.attr.ino, rel, series_any));
        report_.series += series_any;
        study_any = study_any || series_any;
      }
      if (study_any) {
        ++report_.studies;
        const std::string date = Xattr(fs_, st.entry.attr.ino, "StudyDate");
        if (!date.empty()) {
          if (summary_.first_study_date.empty() || date < summary_.first_study_date) {
            summary_.first_study_date = date;
          }
          summary_.last_study_date = std::max(summary_.last_study_date, date);
        }
      }
      patient_any = patient_any || study_any;
    }
    report_.patients += patient_any;
  }
  if (files_.empty()) return Status::InvalidArgument("nothing in the archive matches the selectors");
  summary_.patients = report_.patients;
  summary_.studies = report_.studies;
  summary_.series = report_.series;
  summary_.instances = report_.instances;
  summary_.bagging_date = TodayUtc();
  summary_.description = args_.description;
  summary_.anonymized = args_.anonymized;
  const std::vector<std::pair<std::string, std::string>> tags = {
      {"bagit.txt", BagitTxt()},
      {"bag-info.txt", BagInfoText(summary_, files_)},
      {"manifest-sha256.txt", ManifestText(files_)},
  };
  for (const auto& [name, text] : tags) RETURN_IF_ERROR(WriteText(root_ + "/" + name, text));
  return WriteText(root_ + "/tagmanifest-sha256.txt", TagManifestText(tags));
}

}  // namespace

Result<BagitExportReport> ExportBagit(const BagitExportArgs& args) {
  std::error_code ec;
  std::string target = stdfs::absolute(args.dest, ec).lexically_normal().string();
  while (target.size() > 1 && target.back() == '/') target.pop_back();
  if (stdfs::exists(target, ec) && !(stdfs::is_directory(target, ec) && stdfs::is_empty(target, ec))) {
    return Status::AlreadyExists(args.dest + " exists and is not an empty folder");
  }
  FilesystemOptions options;
  options.archive_root = args.archive;
  options.uid = getuid();
  options.gid = getgid();
  options.catch_up_interval = std::chrono::milliseconds(0);
  options.persistent_cache = false;  // a one-off reader: leave ARCHIVE/cache to the mount
  options.anonymized_view = args.anonymized;
  ASSIGN_OR_RETURN(std::unique_ptr<Filesystem> fs, Filesystem::Open(options));
  if (args.anonymized && !fs->anonymized_view()) {
    return Status::Unsupported("the anonymized view is unavailable (no readable ARCHIVE/secret)");
  }
  const std::string partial = target + ".partial";
  stdfs::remove_all(partial, ec);
  stdfs::create_directories(partial, ec);
  if (ec) return Status::IoError("mkdir " + partial + ": " + ec.message());
  Exporter exporter(*fs, args, partial);
  RETURN_IF_ERROR(exporter.Run().WithContext("export into " + partial));
  stdfs::remove(target, ec);
  if (::rename(partial.c_str(), target.c_str()) != 0) {
    return Status::FromErrno("rename " + partial + " to " + target, errno);
  }
  return exporter.report();
}

int RunExportBagit(const BagitExportArgs& args) {
  Result<BagitExportReport> r = ExportBagit(args);
  if (!r.ok()) {
    std::cerr << "dcmfs export: " << r.status().ToString() << "\n";
    return kExitFailure;
  }
  std::cout << "patients:  " << r->patients << "\nstudies:   " << r->studies
            << "\nseries:    " << r->series << "\ninstances: " << r->instances
            << "\nbytes:     " << r->bytes << "\nbag:       " << args.dest
            << " (check: cd " << args.dest << " && sha256sum -c manifest-sha256.txt)\n";
  return kExitOk;
}

}  // namespace dcmfs::tools
