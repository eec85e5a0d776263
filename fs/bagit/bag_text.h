// The tag files of a BagIt 1.0 bag (RFC 8493): bagit.txt, bag-info.txt,
// manifest-sha256.txt and tagmanifest-sha256.txt, as text. Shared by
// `dcmfs export --bagit` (files written to disk) and the mount's virtual
// bags under /bagit (files generated from the catalog). Pure functions.
//
// Paths in the manifests are relative to the bag's root ("data/..."), one
// "<sha256 hex>  <path>" line each, so that `sha256sum -c manifest-sha256.txt`
// run in the bag's root checks the payload (RFC 8493 2.1.3 allows any
// whitespace between the two; GNU sha256sum wants two spaces).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dcmfs {

struct BagPayloadFile {
  std::string path;        // "data/<patient>/<study>/<series>/0001.dcm"
  std::string sha256_hex;  // 64 lowercase hex digits
  uint64_t size = 0;
};

struct BagSummary {
  uint64_t patients = 0, studies = 0, series = 0, instances = 0;
  std::string first_study_date, last_study_date;  // "YYYYMMDD" as in DICOM, "" if unknown
  std::string bagging_date;                       // "YYYY-MM-DD"
  std::string description;                        // External-Description
  bool anonymized = false;
};

// One path component of a bag path. RFC 8493 2.1.3 wants '%' in manifest
// paths percent-encoded, which `sha256sum -c` would not decode; the bag's
// own names replace '%' by '_' instead, so both readers agree. (Names from
// the catalog never hold CR, LF or '/', index/naming.h.)
std::string BagPathComponent(std::string_view name);

std::string BagitTxt();
// Lines in the order given.
std::string ManifestText(const std::vector<BagPayloadFile>& files);
// bag-info.txt: Bagging-Date, Payload-Oxum, Bag-Software-Agent, counts and
// the span of study dates (reserved and dcmfs-specific labels, RFC 8493 2.2.2).
std::string BagInfoText(const BagSummary& summary, const std::vector<BagPayloadFile>& files);
// tagmanifest-sha256.txt over the given (name, content) tag files.
std::string TagManifestText(const std::vector<std::pair<std::string, std::string>>& tag_files);

// Today's date (UTC) as "YYYY-MM-DD".
std::string TodayUtc();

}  // namespace dcmfs
