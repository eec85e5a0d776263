// What `dcmfs ingest` makes of the paths it is given, before walking them:
//   - a .zip archive (recognised by its first bytes) is extracted into a
//     private folder under ARCHIVE/tmp and ingested from there;
//   - a folder with a DICOMDIR at its top (a CD/DVD/USB export, PS3.10 8), or
//     a DICOMDIR file itself, stands for the files the DICOMDIR references,
//     found case-insensitively and without ISO 9660 ";1" version suffixes
//     (media are often written in upper case and read back in lower case);
//     files it references that are missing are reported as refused; files it
//     does not reference (viewer software, autorun.inf) are left alone.
//     The same holds for a zip whose top folder holds a DICOMDIR.
//   - anything else is passed on unchanged.
// Zips and DICOMDIRs found deeper inside walked folders are not expanded.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "index/ingest.h"

namespace dcmfs::tools {

class IngestSources {
 public:
  // `tmp_root`: where zips are extracted (ARCHIVE/tmp). Errors only for the
  // archive's own failures (cannot create the folder); a damaged zip or
  // DICOMDIR becomes a refused note.
  static Result<IngestSources> Prepare(const std::vector<std::string>& paths,
                                       const std::string& tmp_root);
  IngestSources(IngestSources&&) = default;
  ~IngestSources();  // removes the extracted files

  const std::vector<std::string>& paths() const { return paths_; }
  // Adds the refused notes and names files from zips "<zip>!/<entry>"
  // instead of by their temporary path.
  void Annotate(IngestReport& report) const;
  // What was expanded, for the summary ("2 zip archives, 1 DICOMDIR").
  std::string Summary() const;

 private:
  IngestSources() = default;
  void AddFolderOrDicomdir(const std::string& path, const std::string& shown_as);

  std::vector<std::string> paths_;
  std::vector<QuarantineNote> notes_;
  std::vector<std::pair<std::string, std::string>> renames_;  // temp prefix -> shown prefix
  std::vector<std::string> temp_dirs_;
  int zips_ = 0, dicomdirs_ = 0;
};

}  // namespace dcmfs::tools
