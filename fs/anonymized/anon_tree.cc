#include "fs/anonymized/anon_tree.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "codecs/sha256.h"
#include "fs/anonymized/anon_providers.h"
#include "fs/derived/sha256sums_provider.h"
#include "index/naming.h"

namespace dcmfs {
namespace {

// Bump when the de-identified bytes for the same input, options and secret
// change (a new codecs/deidentify.cc rule), so that cached copies miss.
constexpr int kDeidCacheVersion = 2;

std::string OptionsFingerprint(const AnonTreeOptions& o) {
  const DeidOptions& d = o.deid;
  std::string f = "v" + std::to_string(kDeidCacheVersion) + ";";
  for (bool b : {d.retain_modified_dates, d.retain_patient_characteristics,
                 d.retain_device_identity, d.clean_descriptors, d.retain_safe_private}) {
    f.push_back(b ? '1' : '0');
  }
  return f;
}

char KindChar(NodeKind kind) { return static_cast<char>('0' + static_cast<int>(kind)); }

// Siblings whose names come out equal all get a suffix from their keyed
// identity (as index/naming.h does with the original identity, which would
// leak here); then the children are sorted for lookups by name.
void Deduplicate(std::vector<AnonChild>& children, const AnonymizedTree& tree) {
  std::map<std::string, int> count;
  for (const AnonChild& c : children) ++count[c.name];
  for (AnonChild& c : children) {
    if (count[c.name] > 1) {
      c.name = WithClashSuffix(c.name, tree.KeyedId(std::string(1, KindChar(c.node.kind)) +
                                                    c.node.ref));
      c.node.name = c.name;
    }
  }
  std::sort(children.begin(), children.end(),
            [](const AnonChild& a, const AnonChild& b) { return a.name < b.name; });
}

}  // namespace

const AnonChild* AnonListing::Find(std::string_view name) const {
  auto it = std::lower_bound(children.begin(), children.end(), name,
                             [](const AnonChild& c, std::string_view n) { return c.name < n; });
  return it != children.end() && it->name == name ? &*it : nullptr;
}

std::string BurnedInReason(const InstanceMeta& meta) {
  if (meta.burned_in_annotation == "YES") return "BurnedInAnnotation is YES";
  if (!meta.burned_in_annotation.empty()) return "";
  // PS3.15 E.1.1 (Clean Pixel Data): these modalities commonly carry text in
  // the pixels; without an explicit NO we cannot tell.
  static const std::set<std::string, std::less<>> kTextProne = {"US", "SC", "XC", "ES", "OT"};
  if (kTextProne.contains(meta.modality)) {
    return "modality " + meta.modality + " without BurnedInAnnotation may show text in the image";
  }
  return "";
}

AnonymizedTree::AnonymizedTree(const AnonTreeOptions& options, std::string secret,
                               const Catalog& catalog, const BlobStore& blobs,
                               DerivedFiles& derived)
    : options_(options),
      secret_(std::move(secret)),
      keys_(secret_),
      fingerprint_(OptionsFingerprint(options) + ";" + KeyedId("fingerprint").substr(0, 16)),
      catalog_(catalog),
      blobs_(blobs),
      derived_(derived),
      providers_(std::make_unique<Providers>(this)),
      listings_(options.listing_cache_entries) {
  CHECK(!secret_.empty());
}

AnonymizedTree::~AnonymizedTree() = default;

std::string AnonymizedTree::KeyedId(std::string_view what) const {
  std::string message = "dcmfs-anonymized-id";
  message.push_back('\0');
  message.append(what);
  auto bytes = [](std::string_view s) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  return ToHex(HmacSha256(bytes(secret_), bytes(message)));
}

InodeId AnonymizedTree::InodeOf(NodeKind kind, std::string_view ref) const {
  return InodeFor(kind, View::kAnonymized,
                  "anon:" + KeyedId(std::string(1, KindChar(kind)) + std::string(ref)));
}

InodeId AnonymizedTree::VirtualInodeOf(std::string_view series_uid, std::string_view name) const {
  return InodeFor(NodeKind::kVirtual, View::kAnonymized,
                  "anon:" + KeyedId("series-file:" + std::string(series_uid)) + "/" +
                      std::string(name));
}

// --- Dates -----------------------------------------------------------------

std::optional<std::chrono::year_month_day> AnonymizedTree::ShiftedDay(
    std::string_view dicom_date, const std::string& patient_key) const {
  if (!options_.deid.retain_modified_dates || dicom_date.size() < 8) return std::nullopt;
  int y = 0;
  unsigned m = 0, d = 0;
  const std::string s(dicom_date.substr(0, 8));
  if (std::sscanf(s.c_str(), "%4d%2u%2u", &y, &m, &d) != 3) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
  if (!ymd.ok()) return std::nullopt;
  std::chrono::sys_days days(ymd);
  days += std::chrono::days(keys_.DateShiftDays(patient_key));
  return std::chrono::year_month_day(days);
}

std::string AnonymizedTree::ShiftedDate(std::string_view dicom_date,
                                        const std::string& patient_key, bool dashes) const {
  std::optional<std::chrono::year_month_day> ymd = ShiftedDay(dicom_date, patient_key);
  if (!ymd) return "";
  char buf[16];
  std::snprintf(buf, sizeof(buf), dashes ? "%04d-%02u-%02u" : "%04d%02u%02u",
                static_cast<int>(ymd->year()), static_cast<unsigned>(ymd->month()),
                static_cast<unsigned>(ymd->day()));
  return buf;
}

int64_t AnonymizedTree::ShiftedMtime(int64_t mtime, const std::string& patient_key) const {
  // Without dates retained, every time is the epoch; 0 ("no date") stays 0.
  if (!options_.deid.retain_modified_dates || mtime == 0) return 0;
  return mtime + int64_t{keys_.DateShiftDays(patient_key)} * 86400;
}

// --- Listings --------------------------------------------------------------

Result<std::shared_ptr<const AnonListing>> AnonymizedTree::List(InodeId ino, const Node* folder) {
  const auto now = Clock::now();
  const auto lifetime = std::chrono::duration<double>(options_.listing_lifetime_s);
  {
    std::lock_guard lock(mu_);
    std::optional<CachedListing> hit = listings_.Get(ino);
    if (hit && now - hit->taken < lifetime) return hit->listing;
  }
  // Built outside the lock (it reads the catalog); two callers may both
  // build it, which is harmless: the results are equal.
  ASSIGN_OR_RETURN(AnonListing built, Build(folder));
  auto listing = std::make_shared<const AnonListing>(std::move(built));
  std::lock_guard lock(mu_);
  listings_.Put(ino, CachedListing{now, listing}, 1);
  return listing;
}

Result<AnonListing> AnonymizedTree::Build(const Node* folder) {
  if (folder == nullptr) return ListPatients();
  CHECK(folder->view == View::kAnonymized);
  switch (folder->kind) {
    case NodeKind::kPatient:
      return ListStudies(*folder);
    case NodeKind::kStudy:
      return ListSeries(*folder);
    case NodeKind::kSeries:
      return ListInstances(*folder);
    case NodeKind::kVirtualFolder:
      return ListDerivedFolder(*folder);
    default:
      return Status::InvalidArgument("not a folder");
  }
}

AnonChild AnonymizedTree::FolderChild(NodeKind kind, const DirEntry& e, InodeId parent,
                                      const std::string& patient_key, std::string name) const {
  AnonChild c;
  c.name = std::move(name);
  c.ino = InodeOf(kind, e.ref);
  c.node = Node{kind, View::kAnonymized, e.ref, c.name, parent, 0,
                ShiftedMtime(e.mtime, patient_key), patient_key};
  return c;
}

Result<AnonListing> AnonymizedTree::ListPatients() {
  AnonListing out;
  RETURN_IF_ERROR(catalog_.List(kPatientsIno, "", [&](const DirEntry& e) {
    if (e.kind != NodeKind::kPatient) return true;
    out.children.push_back(FolderChild(NodeKind::kPatient, e, kAnonymizedIno, e.ref,
                                       SafeName(keys_.PatientPseudonym(e.ref), "ANON")));
    return true;
  }));
  Deduplicate(out.children, *this);
  return out;
}

Result<std::string> AnonymizedTree::StudyModalities(const std::string& study_uid) const {
  std::set<std::string> modalities;
  Status listed = catalog_.List(InodeFor(NodeKind::kStudy, View::kPatients, study_uid), "",
                                [&](const DirEntry& e) {
                                  if (e.kind != NodeKind::kSeries) return true;
                                  Result<SeriesRecord> s = catalog_.GetSeries(e.ref);
                                  if (s.ok() && !s->modality.empty()) modalities.insert(s->modality);
                                  return true;
                                });
  RETURN_IF_ERROR(listed);
  std::string joined;
  for (const std::string& m : modalities) joined += (joined.empty() ? "" : " ") + m;
  return joined;
}

Result<AnonListing> AnonymizedTree::ListStudies(const Node& patient) {
  std::vector<DirEntry> studies;
  RETURN_IF_ERROR(catalog_.List(InodeFor(NodeKind::kPatient, View::kPatients, patient.ref), "",
                                [&](const DirEntry& e) {
                                  if (e.kind == NodeKind::kStudy) studies.push_back(e);
                                  return true;
                                }));
  const InodeId self = InodeOf(NodeKind::kPatient, patient.ref);
  AnonListing out;
  for (const DirEntry& e : studies) {
    // The study's date (shifted) and what kinds of images it holds: enough
    // to tell a patient's studies apart, nothing that identifies them.
    Result<StudyRecord> study = catalog_.GetStudy(e.ref);
    const std::string date = study.ok() ? ShiftedDate(study->date, patient.ref, true) : "";
    ASSIGN_OR_RETURN(std::string modalities, StudyModalities(e.ref));
    std::string head = date;
    if (!modalities.empty()) head += (head.empty() ? "" : " ") + modalities;
    out.children.push_back(FolderChild(NodeKind::kStudy, e, self, patient.ref,
                                       SafeName(head, "Unknown study")));
  }
  Deduplicate(out.children, *this);
  return out;
}

Result<AnonListing> AnonymizedTree::ListSeries(const Node& study) {
  std::vector<DirEntry> series;
  RETURN_IF_ERROR(catalog_.List(InodeFor(NodeKind::kStudy, View::kPatients, study.ref), "",
                                [&](const DirEntry& e) {
                                  if (e.kind == NodeKind::kSeries) series.push_back(e);
                                  return true;
                                }));
  const InodeId self = InodeOf(NodeKind::kStudy, study.ref);
  // Descriptions are free text that may name people or places; they are
  // shown only when the profile's Clean Descriptors option is chosen, and
  // then cleaned of the patient's and the study's identifiers.
  std::vector<std::string> names, values;
  if (options_.deid.clean_descriptors) {
    Result<PatientRecord> p = catalog_.GetPatient(study.patient_key);
    if (p.ok()) names = {p->name}, values = {p->id, p->birth_date};
    Result<StudyRecord> st = catalog_.GetStudy(study.ref);
    if (st.ok()) values.insert(values.end(), {st->accession, st->study_id});
  }
  AnonListing out;
  for (const DirEntry& e : series) {
    ASSIGN_OR_RETURN(SeriesRecord s, catalog_.GetSeries(e.ref));
    const std::string description = options_.deid.clean_descriptors
                                        ? CleanDescriptorText(s.description, names, values)
                                        : "";
    out.children.push_back(FolderChild(NodeKind::kSeries, e, self, study.patient_key,
                                       SeriesFolderName(s.number, s.modality, description)));
  }
  Deduplicate(out.children, *this);
  return out;
}

std::string AnonymizedTree::InstanceName(const InstanceMeta& meta) const {
  if (meta.instance_number) return InstanceFileName(meta);
  // InstanceFileName would use the original SOP UID; a keyed hash of the
  // mapped one is as stable and says nothing.
  return ToHex(Sha256(keys_.MapUid(meta.sop_uid))).substr(0, 8) + ".dcm";
}

Result<AnonListing> AnonymizedTree::ListInstances(const Node& series) {
  std::vector<DirEntry> files;
  RETURN_IF_ERROR(catalog_.List(InodeFor(NodeKind::kSeries, View::kPatients, series.ref), "",
                                [&](const DirEntry& e) {
                                  if (e.kind == NodeKind::kInstance) files.push_back(e);
                                  return true;
                                }));
  const InodeId self = InodeOf(NodeKind::kSeries, series.ref);
  std::vector<AnonChild> all;
  std::map<std::string, std::string> reasons;  // by digest hex
  for (const DirEntry& e : files) {
    std::optional<Digest> digest = DigestFromHex(e.ref);
    if (!digest) return Status::Corruption("catalog: instance entry without a digest");
    ASSIGN_OR_RETURN(InstanceRecord rec, catalog_.GetInstance(*digest));
    AnonChild c;
    c.name = InstanceName(rec.meta);
    c.ino = InodeOf(NodeKind::kInstance, e.ref);
    c.node = Node{NodeKind::kInstance, View::kAnonymized, e.ref, c.name, self, 0,
                  ShiftedMtime(e.mtime, series.patient_key), series.patient_key};
    std::string reason = options_.include_burned_in ? "" : BurnedInReason(rec.meta);
    // Decided here, not when the file is read, so that readdir, readdirplus
    // and lookup agree on what the folder holds.
    if (!CanRewriteTransferSyntax(rec.meta.transfer_syntax_uid)) {
      reason = "transfer syntax " + rec.meta.transfer_syntax_uid +
               " cannot be rewritten by the de-identifier";
    }
    if (!reason.empty()) reasons[e.ref] = std::move(reason);
    all.push_back(std::move(c));
  }
  // Names are given over all instances, kept or not, so that a file keeps its
  // name whether or not burned-in images are included.
  Deduplicate(all, *this);
  AnonListing out;
  int64_t newest = 0;
  for (AnonChild& c : all) {
    auto r = reasons.find(c.node.ref);
    if (r != reasons.end()) {
      out.excluded.emplace_back(c.name, r->second);
      continue;
    }
    newest = std::max(newest, c.node.mtime);
    out.children.push_back(std::move(c));
  }
  AddSeriesFiles(out, series, self, newest);
  return out;
}

void AnonymizedTree::AddSeriesFiles(AnonListing& out, const Node& series, InodeId self,
                                    int64_t mtime) const {
  std::vector<std::string> names = {kSha256SumsName};
  if (!out.excluded.empty()) names.emplace_back(kExcludedTxtName);
  for (const std::string& name : names) {
    AnonChild c;
    c.name = name;
    c.ino = VirtualInodeOf(series.ref, name);
    c.node = Node{NodeKind::kVirtual, View::kAnonymized, series.ref, name, self, 0, mtime,
                  series.patient_key};
    out.children.push_back(std::move(c));
  }
  if (out.excluded.empty()) AddDerivedFiles(out, series, self, mtime);
  std::sort(out.children.begin(), out.children.end(),
            [](const AnonChild& a, const AnonChild& b) { return a.name < b.name; });
}

}  // namespace dcmfs
