#include "fs/bagit/bag_text.h"

#include <ctime>
#include <span>

#include "codecs/sha256.h"

namespace dcmfs {
namespace {

// "20240131" -> "2024-01-31"; anything else is returned as is.
std::string IsoDate(const std::string& dicom_date) {
  if (dicom_date.size() != 8) return dicom_date;
  return dicom_date.substr(0, 4) + "-" + dicom_date.substr(4, 2) + "-" + dicom_date.substr(6, 2);
}

}  // namespace

std::string BagPathComponent(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '%') c = '_';
  }
  return out;
}

std::string BagitTxt() { return "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"; }

std::string ManifestText(const std::vector<BagPayloadFile>& files) {
  std::string out;
  for (const BagPayloadFile& f : files) out += f.sha256_hex + "  " + f.path + "\n";
  return out;
}

std::string BagInfoText(const BagSummary& s, const std::vector<BagPayloadFile>& files) {
  uint64_t bytes = 0;
  for (const BagPayloadFile& f : files) bytes += f.size;
  std::string out;
  out += "Bag-Software-Agent: dcmfs\n";
  if (!s.bagging_date.empty()) out += "Bagging-Date: " + s.bagging_date + "\n";
  // RFC 8493 2.2.2: "<octet count>.<stream count>" of the payload.
  out += "Payload-Oxum: " + std::to_string(bytes) + "." + std::to_string(files.size()) + "\n";
  if (!s.description.empty()) out += "External-Description: " + s.description + "\n";
  out += "DICOM-Patients: " + std::to_string(s.patients) + "\n";
  out += "DICOM-Studies: " + std::to_string(s.studies) + "\n";
  out += "DICOM-Series: " + std::to_string(s.series) + "\n";
  out += "DICOM-Instances: " + std::to_string(s.instances) + "\n";
  if (!s.first_study_date.empty()) {
    out += "DICOM-Study-Dates: " + IsoDate(s.first_study_date);
    if (s.last_study_date != s.first_study_date) out += " to " + IsoDate(s.last_study_date);
    out += "\n";
  }
  out += std::string("DICOM-De-Identified: ") + (s.anonymized ? "yes (PS3.15 Annex E)" : "no") +
         "\n";
  return out;
}

std::string TagManifestText(const std::vector<std::pair<std::string, std::string>>& tag_files) {
  std::string out;
  for (const auto& [name, content] : tag_files) {
    const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(content.data()),
                                         content.size());
    out += ToHex(Sha256(bytes)) + "  " + name + "\n";
  }
  return out;
}

std::string TodayUtc() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

}  // namespace dcmfs
