#include "codecs/dicom_media.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include "codecs/internal/dcmtk_init.h"

namespace dcmfs {
namespace {

namespace stdfs = std::filesystem;

// Reads only the File Meta Information: cheap on a large file.
std::string MediaStorageSopClass(const std::string& path) {
  DcmFileFormat file;
  if (file.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, 0, ERM_metaOnly).bad()) return "";
  OFString uid;
  if (file.getMetaInfo()->findAndGetOFString(DCM_MediaStorageSOPClassUID, uid).bad()) return "";
  return uid.c_str();
}

// A zip entry name is safe to extract if it stays below the destination.
bool SafeEntryName(const std::string& name) {
  if (name.empty() || name.front() == '/') return false;
  for (const stdfs::path& part : stdfs::path(name)) {
    if (part == "..") return false;
  }
  return true;
}

Status ExtractEntry(zip_t* zip, zip_uint64_t index, const std::string& out_path, uint64_t& bytes) {
  std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> in(zip_fopen_index(zip, index, 0), zip_fclose);
  if (!in) return Status::DataLoss(zip_strerror(zip));
  std::error_code ec;
  stdfs::create_directories(stdfs::path(out_path).parent_path(), ec);
  if (ec) return Status::IoError("mkdir for " + out_path + ": " + ec.message());
  const int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("create " + out_path, errno);
  std::vector<char> buf(1 << 20);
  Status s;
  while (s.ok()) {
    const zip_int64_t n = zip_fread(in.get(), buf.data(), buf.size());
    if (n < 0) {
      s = Status::DataLoss(std::string("damaged entry: ") + zip_file_strerror(in.get()));
      break;
    }
    if (n == 0) break;
    for (zip_int64_t done = 0; done < n && s.ok();) {
      const ssize_t w = ::write(fd, buf.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) s = Status::FromErrno("write " + out_path, errno);
      if (w > 0) done += w;
    }
    bytes += static_cast<uint64_t>(n);
  }
  ::close(fd);
  if (!s.ok()) ::unlink(out_path.c_str());
  return s;
}

}  // namespace

bool IsDicomdir(const std::string& path) {
  if (!codecs_internal::EnsureDcmtkReady().ok()) return false;
  return MediaStorageSopClass(path) == UID_MediaStorageDirectoryStorage;
}

Result<std::vector<std::string>> ReadDicomdirFileIds(const std::string& path) {
  RETURN_IF_ERROR(codecs_internal::EnsureDcmtkReady());
  DcmFileFormat file;
  OFCondition c = file.loadFile(path.c_str());
  if (c.bad()) return Status::DataLoss(path + ": not a readable DICOMDIR: " + c.text());
  DcmSequenceOfItems* records = nullptr;
  if (file.getDataset()->findAndGetSequence(DCM_DirectoryRecordSequence, records).bad() ||
      records == nullptr) {
    return Status::DataLoss(path + ": no Directory Record Sequence (0004,1220)");
  }
  std::vector<std::string> ids;
  std::set<std::string> seen;
  for (unsigned long i = 0; i < records->card(); ++i) {
    DcmItem* record = records->getItem(i);
    OFString id, part;
    // Referenced File ID is CS with one value per path component (PS3.10 8.5).
    for (unsigned long k = 0;
         record->findAndGetOFString(DCM_ReferencedFileID, part, k).good(); ++k) {
      if (!id.empty()) id += "/";
      id += part;
    }
    if (!id.empty() && seen.insert(id.c_str()).second) ids.emplace_back(id.c_str());
  }
  return ids;
}

bool LooksLikeZip(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char magic[4] = {};
  const bool zip = ::read(fd, magic, 4) == 4 && std::memcmp(magic, "PK\3\4", 4) == 0;
  ::close(fd);
  return zip;
}

Result<ZipExtraction> ExtractZip(const std::string& zip_path, const std::string& dest_dir) {
  int err = 0;
  std::unique_ptr<zip_t, void (*)(zip_t*)> zip(zip_open(zip_path.c_str(), ZIP_RDONLY, &err),
                                              zip_discard);
  if (!zip) {
    zip_error_t error;
    zip_error_init_with_code(&error, err);
    std::string why = zip_error_strerror(&error);
    zip_error_fini(&error);
    return Status::DataLoss(zip_path + ": not a readable zip archive: " + why);
  }
  ZipExtraction out;
  const zip_int64_t n = zip_get_num_entries(zip.get(), 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* raw = zip_get_name(zip.get(), static_cast<zip_uint64_t>(i), 0);
    const std::string name = raw != nullptr ? raw : "";
    if (name.empty() || name.back() == '/') continue;  // folders
    if (!SafeEntryName(name)) {
      out.skipped.emplace_back(name, "unsafe name (absolute or with ..)");
      continue;
    }
    Status s = ExtractEntry(zip.get(), static_cast<zip_uint64_t>(i), dest_dir + "/" + name,
                            out.bytes);
    if (s.code() == StatusCode::kIoError) return s;
    if (!s.ok()) {
      out.skipped.emplace_back(name, s.message());
      continue;
    }
    ++out.files;
  }
  return out;
}

}  // namespace dcmfs
