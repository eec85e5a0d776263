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
#include "index/internal/add_instance.h"

#include <rocksdb/iterator.h>

#include <algorithm>
#include <memory>

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
    return FromRocks(batch_.Put(db_.cf(c), AsSlice(key), AsSlice(value)), "catalog batch");
  }

  // Adds `entry` (identity entry.ref) under `parent` with `base` as its wanted name.
  Status PlaceName(InodeId parent, const std::string& base, DirEntry entry) {
    const std::string group_key = DirentKey(parent, base);
    ASSIGN_OR_RETURN(std::optional<std::string> group_value, db_.Get(kCfGroups, group_key));
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

  Status Commit() {
    rocksdb::WriteOptions options;
    options.sync = false;  // the WAL is synced by Catalog::Flush at the end of an ingest
    return FromRocks(db_.db()->Write(options, &batch_), "catalog write");
  }

 private:
  Status RenameFirstMember(InodeId parent, const std::string& base, const std::string& identity) {
    const std::string old_key = DirentKey(parent, base);
    ASSIGN_OR_RETURN(std::optional<std::string> value, db_.Get(kCfNames, old_key));
    if (!value) return Status::Corruption("catalog: name group without its entry");
    RETURN_IF_ERROR(FromRocks(batch_.Delete(db_.cf(kCfNames), AsSlice(old_key)), "catalog batch"));
    return Put(kCfNames, DirentKey(parent, WithClashSuffix(base, identity)), *value);
  }

  Db& db_;
  rocksdb::WriteBatch batch_;
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

// Creates the patient, study and series records and folders the instance
// needs (those not there yet); returns the series record to update.
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
    RETURN_IF_ERROR(b.PlaceName(InodeFor(NodeKind::kPatient, View::kPatients, patient_key),
                                StudyFolderName(s.date, s.description, s.accession),
                                Folder(NodeKind::kStudy, View::kPatients, study_uid, s.mtime)));
    RETURN_IF_ERROR(b.PlaceName(kStudiesIno, SafeName(study_uid, "study"),
                                Folder(NodeKind::kStudy, View::kStudies, study_uid, s.mtime)));
    ++counts.studies;
  }
  if (series) return Placement{std::move(*series), study_uid};

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
