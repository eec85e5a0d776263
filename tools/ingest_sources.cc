#include "tools/ingest_sources.h"

#include <stdlib.h>
#include <strings.h>

#include <filesystem>
#include <optional>

#include "codecs/dicom_media.h"

namespace dcmfs::tools {
namespace {

namespace stdfs = std::filesystem;

// Media name comparison: case-insensitive, ignoring an ISO 9660 version
// suffix (";1") and a trailing dot ("IM0001." on some burners).
std::string MediaKey(std::string name) {
  if (size_t semi = name.rfind(';'); semi != std::string::npos) name.resize(semi);
  while (!name.empty() && name.back() == '.') name.pop_back();
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

std::optional<std::string> FindChild(const std::string& dir, const std::string& component) {
  const std::string exact = dir + "/" + component;
  std::error_code ec;
  if (stdfs::exists(exact, ec)) return exact;
  const std::string key = MediaKey(component);
  for (stdfs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (MediaKey(it->path().filename().string()) == key) return it->path().string();
  }
  return std::nullopt;
}

// Resolves "DICOM/ST000000/SE000000/IM000000" below `root`, one component at a time.
std::optional<std::string> ResolveFileId(const std::string& root, const std::string& id) {
  std::string at = root;
  size_t start = 0;
  while (start < id.size()) {
    size_t end = id.find('/', start);
    if (end == std::string::npos) end = id.size();
    std::optional<std::string> next = FindChild(at, id.substr(start, end - start));
    if (!next) return std::nullopt;
    at = *next;
    start = end + 1;
  }
  return at;
}

std::optional<std::string> DicomdirIn(const std::string& folder) {
  std::optional<std::string> found = FindChild(folder, "DICOMDIR");
  if (found && stdfs::is_regular_file(*found) && IsDicomdir(*found)) return found;
  return std::nullopt;
}

}  // namespace

IngestSources::~IngestSources() {
  std::error_code ec;
  for (const std::string& d : temp_dirs_) stdfs::remove_all(d, ec);
}

void IngestSources::AddFolderOrDicomdir(const std::string& path, const std::string& shown_as) {
  std::error_code ec;
  std::optional<std::string> dicomdir;
  if (stdfs::is_directory(path, ec)) {
    dicomdir = DicomdirIn(path);
  } else if (stdfs::is_regular_file(path, ec) && IsDicomdir(path)) {
    dicomdir = path;
  }
  if (!dicomdir) {
    paths_.push_back(path);
    return;
  }
  ++dicomdirs_;
  const std::string root = stdfs::path(*dicomdir).parent_path().string();
  Result<std::vector<std::string>> ids = ReadDicomdirFileIds(*dicomdir);
  if (!ids.ok()) {
    notes_.push_back({shown_as, ids.status().message(), ""});
    return;
  }
  for (const std::string& id : *ids) {
    std::optional<std::string> file = ResolveFileId(root, id);
    if (file) {
      paths_.push_back(*file);
    } else {
      notes_.push_back({shown_as + "/" + id, "listed in the DICOMDIR but missing from the medium", ""});
    }
  }
}

Result<IngestSources> IngestSources::Prepare(const std::vector<std::string>& paths,
                                             const std::string& tmp_root) {
  IngestSources out;
  std::error_code ec;
  for (const std::string& path : paths) {
    if (!stdfs::is_regular_file(path, ec) || !LooksLikeZip(path)) {
      out.AddFolderOrDicomdir(path, path);
      continue;
    }
    stdfs::create_directories(tmp_root, ec);
    std::string dir = tmp_root + "/zip-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) return Status::FromErrno("mkdtemp in " + tmp_root, errno);
    out.temp_dirs_.push_back(dir);
    ++out.zips_;
    Result<ZipExtraction> z = ExtractZip(path, dir);
    if (!z.ok() && z.status().code() == StatusCode::kIoError) return z.status();
    if (!z.ok()) {
      out.notes_.push_back({path, z.status().message(), ""});
      continue;
    }
    for (const auto& [entry, why] : z->skipped) out.notes_.push_back({path + "!/" + entry, why, ""});
    out.renames_.emplace_back(dir + "/", path + "!/");
    out.AddFolderOrDicomdir(dir, path + "!");
  }
  return out;
}

void IngestSources::Annotate(IngestReport& report) const {
  auto rename = [&](std::string& source) {
    for (const auto& [from, to] : renames_) {
      if (source.starts_with(from)) {
        source = to + source.substr(from.size());
        return;
      }
    }
  };
  for (QuarantineNote& q : report.quarantined) rename(q.source);
  for (ConflictNote& c : report.conflicts) rename(c.source);
  report.quarantined.insert(report.quarantined.end(), notes_.begin(), notes_.end());
}

std::string IngestSources::Summary() const {
  if (zips_ == 0 && dicomdirs_ == 0) return "";
  return std::to_string(zips_) + " zip archive(s), " + std::to_string(dicomdirs_) +
         " DICOMDIR(s) read";
}

}  // namespace dcmfs::tools
