// AddInstance: one WriteBatch per instance (docs/semantics.md, "tree").
//
// Placement: a series keeps the study it was first indexed under, and a
// study keeps its first patient, so an instance whose patient attributes
// disagree with its study's (corrected names, merged systems) joins the
// existing folders instead of splitting a series across two places.
//
// Names: siblings whose base names are equal ALL carry a suffix derived from
// their identity (index/naming.h), so the final names do not depend on the
// order of ingest. A "group" record per (parent, base name) lists the members;
// when the second member arrives, the first one's entry is renamed in the
// same batch.
//
// Members that disagree: a series' instances may carry different
// SeriesNumbers (or descriptions), a study's different StudyDates. The
// folder is named after the member that sorts first (NamingOrder: a number
// or date before none, then the lowest), not after the first to arrive, so
// any ingest order and `dcmfs reindex` give the same name; a member that
// sorts before the named one renames the folder in its batch (the inode is
// the UID's, so it stays). Folder mtimes follow the same rule: a study's is
// its naming member's date, a patient's the earliest of its studies'.
#include "index/internal/add_instance.h"

#include <rocksdb/iterator.h>

#include <algorithm>
#include <map>
#include <memory>
#include <tuple>

#include "codecs/image_header_record.h"
#include "index/internal/codec.h"
#include "index/internal/dicom_time.h"
#include "index/internal/image_headers.h"
#include "index/naming.h"

namespace dcmfs::internal {
namespace {

rocksdb::Slice AsSlice(std::string_view s) { return {s.data(), s.size()}; }

class BatchBuilder {
 public:
  explicit BatchBuilder(Db& db) : db_(db) {}

  rocksdb::WriteBatch& batch() { return batch_; }

  Status Put(Cf c, std::string_view key, std::string_view value) {
    if (c == kCfNames || c == kCfGroups) pending_[{c, std::string(key)}] = std::string(value);
    return FromRocks(batch_.Put(db_.cf(c), AsSlice(key), AsSlice(value)), "catalog batch");
  }

  // Adds `entry` (identity entry.ref) under `parent` with `base` as its wanted name.
  Status PlaceName(InodeId parent, const std::string& base, DirEntry entry) {
    const std::string group_key = DirentKey(parent, base);
    ASSIGN_OR_RETURN(std::optional<std::string> group_value, Read(kCfGroups, group_key));
    std::vector<std::string> members;
    if (group_value) {
      ASSIGN_OR_RETURN(members, DecodeGroup(*group_value));
    }
    if (std::find(members.begin(), members.end(), entry.ref) != members.end()) {
      return Status::Ok();  // already placed
    }
    if (members.empty()) {
      entry.name = base;
    } else {
      if (members.size() == 1) RETURN_IF_ERROR(RenameFirstMember(parent, base, members[0]));
      entry.name = WithClashSuffix(base, entry.ref);
    }
    members.push_back(entry.ref);
    std::sort(members.begin(), members.end());
    RETURN_IF_ERROR(Put(kCfGroups, group_key, EncodeGroup(members)));
    return Put(kCfNames, DirentKey(parent, entry.name), EncodeDirEntry(entry));
  }

  // Moves `entry` (identity entry.ref) under `parent` from base name `from`
  // to `to`: out of its clash group (a sole member left there loses its
  // suffix) and into the other. With from == to, rewrites the entry (its
  // mtime) under its current name.
  Status MoveName(InodeId parent, const std::string& from, const std::string& to,
                  const DirEntry& entry) {
    const std::string group_key = DirentKey(parent, from);
    ASSIGN_OR_RETURN(std::optional<std::string> group_value, Read(kCfGroups, group_key));
    if (!group_value) return Status::Corruption("catalog: folder without its name group");
    ASSIGN_OR_RETURN(std::vector<std::string> members, DecodeGroup(*group_value));
    auto it = std::find(members.begin(), members.end(), entry.ref);
    if (it == members.end()) return Status::Corruption("catalog: folder not in its name group");
    const std::string current = members.size() == 1 ? from : WithClashSuffix(from, entry.ref);
    if (from == to) {
      DirEntry e = entry;
      e.name = current;
      return Put(kCfNames, DirentKey(parent, current), EncodeDirEntry(e));
    }
    RETURN_IF_ERROR(Delete(kCfNames, DirentKey(parent, current)));
    members.erase(it);
    if (members.empty()) {
      RETURN_IF_ERROR(Delete(kCfGroups, group_key));
    } else {
      RETURN_IF_ERROR(Put(kCfGroups, group_key, EncodeGroup(members)));
      if (members.size() == 1) RETURN_IF_ERROR(UnsuffixLastMember(parent, from, members[0]));
    }
    DirEntry e = entry;
    return PlaceName(parent, to, e);
  }

  Status Commit() {
    rocksdb::WriteOptions options;
    options.sync = false;  // the WAL is synced by Catalog::Flush at the end of an ingest
    return FromRocks(db_.db()->Write(options, &batch_), "catalog write");
  }

 private:
  Status RenameFirstMember(InodeId parent, const std::string& base, const std::string& identity) {
    const std::string old_key = DirentKey(parent, base);
    ASSIGN_OR_RETURN(std::optional<std::string> value, Read(kCfNames, old_key));
    if (!value) return Status::Corruption("catalog: name group without its entry");
    RETURN_IF_ERROR(FromRocks(batch_.Delete(db_.cf(kCfNames), AsSlice(old_key)), "catalog batch"));
    return Put(kCfNames, DirentKey(parent, WithClashSuffix(base, identity)), *value);
  }

  Status Delete(Cf c, std::string_view key) {
    if (c == kCfNames || c == kCfGroups) pending_[{c, std::string(key)}] = std::nullopt;
    return FromRocks(batch_.Delete(db_.cf(c), AsSlice(key)), "catalog batch");
  }

  // A name or group as this batch leaves it: one instance may rename a
  // study and a series, whose clash groups then see each other's changes.
  Result<std::optional<std::string>> Read(Cf c, const std::string& key) const {
    auto it = pending_.find({c, key});
    if (it != pending_.end()) return it->second;
    return db_.Get(c, key);
  }

  // The one member left in a clash group takes the plain base name again.
  Status UnsuffixLastMember(InodeId parent, const std::string& base, const std::string& identity) {
    const std::string old_key = DirentKey(parent, WithClashSuffix(base, identity));
    ASSIGN_OR_RETURN(std::optional<std::string> value, Read(kCfNames, old_key));
    if (!value) return Status::Corruption("catalog: name group without its entry");
    ASSIGN_OR_RETURN(DirEntry e, DecodeDirEntry(old_key, *value));
    e.name = base;
    RETURN_IF_ERROR(Delete(kCfNames, old_key));
    return Put(kCfNames, DirentKey(parent, base), EncodeDirEntry(e));
  }

  Db& db_;
  rocksdb::WriteBatch batch_;
  std::map<std::pair<Cf, std::string>, std::optional<std::string>> pending_;  // names, groups
};

DirEntry Folder(NodeKind kind, View view, const std::string& ref, int64_t mtime) {
  DirEntry e;
  e.ino = InodeFor(kind, view, ref);
  e.kind = kind;
  e.view = view;
  e.ref = ref;
  e.mtime = mtime;
  return e;
}

// Series generation: hex(XOR of instance digests) ":" count (index/records.h).
std::string NextGeneration(const std::string& previous, const Digest& added, uint64_t count) {
  Digest x{};
  if (auto old = DigestFromHex(std::string_view(previous).substr(0, 64))) x = *old;
  for (size_t i = 0; i < x.size(); ++i) x[i] ^= added[i];
  return ToHex(x) + ":" + std::to_string(count);
}

template <typename T>
Result<std::optional<T>> GetRecord(Db& db, Cf c, std::string_view key,
                                   Result<T> (*decode)(std::string_view)) {
  ASSIGN_OR_RETURN(std::optional<std::string> v, db.Get(c, key));
  if (!v) return std::optional<T>();
  ASSIGN_OR_RETURN(T record, decode(*v));
  return std::optional<T>(std::move(record));
}

Result<std::vector<Digest>> SameSopUid(Db& db, std::string_view sop_uid) {
  std::string prefix(sop_uid);
  prefix.push_back('\0');
  std::vector<Digest> out;
  std::unique_ptr<rocksdb::Iterator> it(db.db()->NewIterator(rocksdb::ReadOptions(), db.cf(kCfSops)));
  for (it->Seek(AsSlice(prefix)); it->Valid() && it->key().starts_with(AsSlice(prefix)); it->Next()) {
    if (it->key().size() != prefix.size() + 32) continue;
    Digest d{};
    std::copy_n(it->key().data() + prefix.size(), 32, d.begin());
    out.push_back(d);
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "catalog scan"));
  return out;
}

// NamingOrder (see the top of this file): the member whose key is lowest
// names the folder. A value before none, then the lowest (DA sorts as text).
auto SeriesNamingKey(const std::optional<int64_t>& number, const std::string& modality,
                     const std::string& description, const std::string& date,
                     const std::string& time) {
  return std::make_tuple(!number.has_value(), number.value_or(0), modality, description, date, time);
}
auto StudyNamingKey(const std::string& date, const std::string& time, const std::string& description,
                    const std::string& accession, const std::string& study_id) {
  return std::make_tuple(date.empty(), date, time, description, accession, study_id);
}

// The folders below `parent` (their entries).
Result<std::vector<DirEntry>> Children(Db& db, InodeId parent) {
  const std::string prefix = ParentPrefix(parent);
  std::vector<DirEntry> out;
  std::unique_ptr<rocksdb::Iterator> it(db.db()->NewIterator(rocksdb::ReadOptions(), db.cf(kCfNames)));
  for (it->Seek(AsSlice(prefix)); it->Valid() && it->key().starts_with(AsSlice(prefix)); it->Next()) {
    ASSIGN_OR_RETURN(DirEntry e, DecodeDirEntry(it->key().ToStringView(), it->value().ToStringView()));
    out.push_back(std::move(e));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "catalog scan"));
  return out;
}

// A patient folder's mtime is the earliest of its studies' (`changed` has
// its new mtime, not yet written).
Status RefreshPatientMtime(Db& db, BatchBuilder& b, PatientRecord& patient,
                           const StudyRecord& changed) {
  int64_t earliest = changed.mtime;
  ASSIGN_OR_RETURN(std::vector<DirEntry> studies,
                   Children(db, InodeFor(NodeKind::kPatient, View::kPatients, patient.key)));
  for (const DirEntry& e : studies) {
    if (e.ref == changed.uid) continue;
    ASSIGN_OR_RETURN(auto other, GetRecord<StudyRecord>(db, kCfStudies, e.ref, DecodeStudy));
    if (other) earliest = std::min(earliest, other->mtime);
  }
  if (earliest == patient.mtime) return Status::Ok();
  patient.mtime = earliest;
  RETURN_IF_ERROR(b.Put(kCfPatients, patient.key, EncodePatient(patient)));
  const std::string name = PatientFolderName(patient.name, patient.id);
  return b.MoveName(kPatientsIno, name, name,
                    Folder(NodeKind::kPatient, View::kPatients, patient.key, patient.mtime));
}

// Series folders without a SeriesDate take their study's mtime: follow it.
Status RefreshSeriesMtimes(Db& db, BatchBuilder& b, const StudyRecord& study) {
  const InodeId in_patients = InodeFor(NodeKind::kStudy, View::kPatients, study.uid);
  const InodeId in_studies = InodeFor(NodeKind::kStudy, View::kStudies, study.uid);
  ASSIGN_OR_RETURN(std::vector<DirEntry> children, Children(db, in_patients));
  for (const DirEntry& e : children) {
    ASSIGN_OR_RETURN(auto series, GetRecord<SeriesRecord>(db, kCfSeries, e.ref, DecodeSeries));
    if (!series || DicomDateTimeToEpoch(series->date, series->time)) continue;
    const std::string name = SeriesFolderName(series->number, series->modality, series->description);
    RETURN_IF_ERROR(b.MoveName(in_patients, name, name,
                               Folder(NodeKind::kSeries, View::kPatients, series->uid, study.mtime)));
    const std::string uid_name = SafeName(series->uid, "series");
    RETURN_IF_ERROR(b.MoveName(in_studies, uid_name, uid_name,
                               Folder(NodeKind::kSeries, View::kStudies, series->uid, study.mtime)));
  }
  return Status::Ok();
}

// If `meta` sorts before the study's naming member, it names the study now.
Status RenameStudy(Db& db, BatchBuilder& b, const InstanceMeta& meta, StudyRecord& study,
                   std::optional<PatientRecord>& patient) {
  if (StudyNamingKey(meta.study_date, meta.study_time, meta.study_description,
                     meta.accession_number, meta.study_id) >=
      StudyNamingKey(study.date, study.time, study.description, study.accession, study.study_id)) {
    return Status::Ok();
  }
  const std::string from = StudyFolderName(study.date, study.description, study.accession);
  const int64_t old_mtime = study.mtime;
  study.date = meta.study_date, study.time = meta.study_time;
  study.description = meta.study_description, study.accession = meta.accession_number;
  study.study_id = meta.study_id;
  study.mtime = StudyMtime(meta);
  RETURN_IF_ERROR(b.Put(kCfStudies, study.uid, EncodeStudy(study)));
  RETURN_IF_ERROR(b.MoveName(InodeFor(NodeKind::kPatient, View::kPatients, study.patient_key), from,
                             StudyFolderName(study.date, study.description, study.accession),
                             Folder(NodeKind::kStudy, View::kPatients, study.uid, study.mtime)));
  const std::string uid_name = SafeName(study.uid, "study");
  RETURN_IF_ERROR(b.MoveName(kStudiesIno, uid_name, uid_name,
                             Folder(NodeKind::kStudy, View::kStudies, study.uid, study.mtime)));
  if (study.mtime == old_mtime) return Status::Ok();
  RETURN_IF_ERROR(RefreshSeriesMtimes(db, b, study));
  return patient ? RefreshPatientMtime(db, b, *patient, study) : Status::Ok();
}

// If `meta` sorts before the series' naming member, it names the series now.
Status RenameSeries(BatchBuilder& b, const InstanceMeta& meta, int64_t study_mtime,
                    SeriesRecord& series) {
  if (SeriesNamingKey(meta.series_number, meta.modality, meta.series_description,
                      meta.series_date, meta.series_time) >=
      SeriesNamingKey(series.number, series.modality, series.description, series.date,
                      series.time)) {
    return Status::Ok();
  }
  const std::string from = SeriesFolderName(series.number, series.modality, series.description);
  series.number = meta.series_number, series.modality = meta.modality;
  series.description = meta.series_description;
  series.date = meta.series_date, series.time = meta.series_time;
  const int64_t mtime = DicomDateTimeToEpoch(series.date, series.time).value_or(study_mtime);
  RETURN_IF_ERROR(b.MoveName(InodeFor(NodeKind::kStudy, View::kPatients, series.study_uid), from,
                             SeriesFolderName(series.number, series.modality, series.description),
                             Folder(NodeKind::kSeries, View::kPatients, series.uid, mtime)));
  const std::string uid_name = SafeName(series.uid, "series");
  return b.MoveName(InodeFor(NodeKind::kStudy, View::kStudies, series.study_uid), uid_name,
                    uid_name, Folder(NodeKind::kSeries, View::kStudies, series.uid, mtime));
}

// Creates the patient, study and series records and folders the instance
// needs (those not there yet), renaming those it now names; returns the
// series record to update.
struct Placement {
  SeriesRecord series;
  std::string study_uid;
};

Result<Placement> EnsureFolders(Db& db, BatchBuilder& b, const InstanceMeta& meta,
                                Catalog::Counts& counts) {
  ASSIGN_OR_RETURN(auto series, GetRecord<SeriesRecord>(db, kCfSeries, meta.series_uid, DecodeSeries));
  const std::string study_uid = series ? series->study_uid : meta.study_uid;
  ASSIGN_OR_RETURN(auto study, GetRecord<StudyRecord>(db, kCfStudies, study_uid, DecodeStudy));
  const std::string patient_key = study ? study->patient_key : PatientKey(meta);
  ASSIGN_OR_RETURN(auto patient, GetRecord<PatientRecord>(db, kCfPatients, patient_key, DecodePatient));
  if (study) RETURN_IF_ERROR(RenameStudy(db, b, meta, *study, patient));
  const int64_t study_mtime = study ? study->mtime : StudyMtime(meta);

  if (!patient) {
    // A patient folder's mtime is that of its first study: stable, never the clock.
    PatientRecord p{patient_key,     meta.patient_name, meta.patient_id, meta.issuer_of_patient_id,
                    meta.patient_birth_date, meta.patient_sex, study_mtime};
    RETURN_IF_ERROR(b.Put(kCfPatients, patient_key, EncodePatient(p)));
    RETURN_IF_ERROR(b.PlaceName(kPatientsIno, PatientFolderName(p.name, p.id),
                                Folder(NodeKind::kPatient, View::kPatients, patient_key, p.mtime)));
    ++counts.patients;
  }
  if (!study) {
    StudyRecord s{study_uid,
                  patient_key,
                  meta.study_date,
                  meta.study_time,
                  meta.study_description,
                  meta.accession_number,
                  meta.study_id,
                  study_mtime};
    RETURN_IF_ERROR(b.Put(kCfStudies, study_uid, EncodeStudy(s)));
    if (patient) RETURN_IF_ERROR(RefreshPatientMtime(db, b, *patient, s));
    RETURN_IF_ERROR(b.PlaceName(InodeFor(NodeKind::kPatient, View::kPatients, patient_key),
                                StudyFolderName(s.date, s.description, s.accession),
                                Folder(NodeKind::kStudy, View::kPatients, study_uid, s.mtime)));
    RETURN_IF_ERROR(b.PlaceName(kStudiesIno, SafeName(study_uid, "study"),
                                Folder(NodeKind::kStudy, View::kStudies, study_uid, s.mtime)));
    ++counts.studies;
  }
  if (series) {
    RETURN_IF_ERROR(RenameSeries(b, meta, study_mtime, *series));
    return Placement{std::move(*series), study_uid};
  }

  SeriesRecord s;
  s.uid = meta.series_uid, s.study_uid = study_uid, s.number = meta.series_number;
  s.modality = meta.modality, s.description = meta.series_description;
  s.date = meta.series_date, s.time = meta.series_time;
  const int64_t folder_mtime =
      DicomDateTimeToEpoch(meta.series_date, meta.series_time).value_or(study_mtime);
  RETURN_IF_ERROR(b.PlaceName(InodeFor(NodeKind::kStudy, View::kPatients, study_uid),
                              SeriesFolderName(s.number, s.modality, s.description),
                              Folder(NodeKind::kSeries, View::kPatients, s.uid, folder_mtime)));
  RETURN_IF_ERROR(b.PlaceName(InodeFor(NodeKind::kStudy, View::kStudies, study_uid),
                              SafeName(s.uid, "series"),
                              Folder(NodeKind::kSeries, View::kStudies, s.uid, folder_mtime)));
  ++counts.series;
  return Placement{std::move(s), study_uid};
}

Status PlaceInstanceFiles(BatchBuilder& b, const InstanceRecord& rec) {
  const std::string hex = ToHex(rec.digest);
  DirEntry file;
  file.ino = InodeFor(NodeKind::kInstance, View::kPatients, hex);
  file.kind = NodeKind::kInstance;
  file.ref = hex;
  file.size = rec.size;
  file.mtime = rec.mtime;
  file.view = View::kPatients;
  RETURN_IF_ERROR(b.PlaceName(InodeFor(NodeKind::kSeries, View::kPatients, rec.meta.series_uid),
                              InstanceFileName(rec.meta), file));
  file.view = View::kStudies;
  return b.PlaceName(InodeFor(NodeKind::kSeries, View::kStudies, rec.meta.series_uid),
                     SafeName(rec.meta.sop_uid, "instance") + ".dcm", file);
}

}  // namespace

std::string PatientKey(const InstanceMeta& meta) {
  std::string material = meta.issuer_of_patient_id;
  material.push_back('\0');
  material.append(meta.patient_id);
  material.push_back('\0');
  material.append(meta.patient_name);
  return ToHex(Sha256(material));
}

Result<AddResult> AddInstanceLocked(Db& db, const Digest& digest, uint64_t size,
                                    const InstanceMeta& meta, const ImageHeader* header) {
  const std::string digest_key = DigestBytes(digest);
  ASSIGN_OR_RETURN(std::optional<std::string> present, db.Get(kCfBlobs, digest_key));
  if (present) return AddResult{AddOutcome::kAlreadyPresent, {}};

  ASSIGN_OR_RETURN(std::optional<std::string> counts_value, db.Get(kCfMeta, kCountsKey));
  Catalog::Counts counts;
  if (counts_value) {
    ASSIGN_OR_RETURN(counts, DecodeCounts(*counts_value));
  }

  BatchBuilder b(db);
  ASSIGN_OR_RETURN(Placement place, EnsureFolders(db, b, meta, counts));
  InstanceRecord rec{digest, size, InstanceMtime(meta), meta};
  SeriesRecord& series = place.series;
  ++series.instance_count;
  series.generation = NextGeneration(series.generation, digest, series.instance_count);
  series.mtime = std::max(series.mtime, rec.mtime);
  RETURN_IF_ERROR(b.Put(kCfSeries, series.uid, EncodeSeries(series)));

  ASSIGN_OR_RETURN(std::vector<Digest> same_uid, SameSopUid(db, meta.sop_uid));
  RETURN_IF_ERROR(b.Put(kCfInstances, InstanceKey(series.uid, digest), EncodeInstance(rec)));
  RETURN_IF_ERROR(b.Put(kCfBlobs, digest_key,
                        EncodeBlob(BlobRecord{series.uid, meta.sop_uid, size, rec.mtime})));
  RETURN_IF_ERROR(b.Put(kCfSops, SopKey(meta.sop_uid, digest), ""));
  RETURN_IF_ERROR(PlaceInstanceFiles(b, rec));
  if (header != nullptr) {
    RETURN_IF_ERROR(b.Put(kCfMeta, ImageHeaderKey(series.uid, digest), EncodeImageHeader(*header)));
  }
  ++counts.instances;
  counts.bytes += size;
  RETURN_IF_ERROR(b.Put(kCfMeta, kCountsKey, EncodeCounts(counts)));
  RETURN_IF_ERROR(b.Commit());

  AddResult result;
  if (!same_uid.empty()) {
    result.outcome = AddOutcome::kNewConflicting;
    result.conflicts_with = std::move(same_uid);
  }
  return result;
}

}  // namespace dcmfs::internal
